"""Invalid answers stop every generator with one clear line, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from template_kit import cookiecutter_cli, copier_cli, durable_new

pytestmark = pytest.mark.e2e

SLUG_RULE = (
    "is invalid: use 2-40 lowercase letters, digits or underscores, starting with a letter and "
    "not ending with '_' (it must be a Python identifier and, with '-' for '_', a valid Function "
    "app name)."
)
INVALID = [
    pytest.param(
        "project_slug", "9lives", f"project_slug '9lives' {SLUG_RULE}", id="slug-starts-with-digit"
    ),
    pytest.param("project_slug", "my-app", f"project_slug 'my-app' {SLUG_RULE}", id="slug-hyphen"),
    pytest.param("project_slug", "class", f"project_slug 'class' {SLUG_RULE}", id="slug-keyword"),
    pytest.param("project_slug", "app_", f"project_slug 'app_' {SLUG_RULE}", id="slug-trailing-_"),
    pytest.param(
        "python_version",
        "3.9",
        "python_version '3.9' is not supported: choose one of 3.10, 3.11, 3.12, 3.13.",
        id="python-3.9",
    ),
    pytest.param(
        "durable_backend",
        "netherite",
        "durable_backend 'netherite' is not supported: choose one of azure_storage, "
        "durable_task_scheduler, mssql.",
        id="backend-netherite",
    ),
    pytest.param(
        "http_auth_level",
        "admin",
        "http_auth_level 'admin' is not supported: choose one of function, anonymous.",
        id="auth-admin",
    ),
    pytest.param(
        "project_name",
        "!bang",
        "project_name '!bang' is invalid: use 1-80 characters (letters, digits, spaces, '.', "
        "'-', '_'), starting with a letter or digit.",
        id="name-punctuation",
    ),
]
NEW_FLAGS = {
    "project_name": "--name",
    "project_slug": "--slug",
    "python_version": "--python",
    "durable_backend": "--backend",
    "http_auth_level": "--auth",
}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize(("key", "value", "message"), INVALID)
def test_cookiecutter_rejects_the_answer_and_writes_nothing(
    template_repo: Path, tmp_path: Path, key: str, value: str, message: str
) -> None:
    out = tmp_path / "out"
    done = cookiecutter_cli(template_repo, out, {key: value})
    assert done.returncode != 0
    assert f"error: {message}" in lines(done.stderr + done.stdout)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("key", "value", "message"), INVALID)
def test_copier_rejects_the_answer_and_writes_nothing(
    template_repo: Path, tmp_path: Path, key: str, value: str, message: str
) -> None:
    dst = tmp_path / "app"
    done = copier_cli(template_repo, dst, {key: value})
    assert done.returncode != 0
    assert any(line.endswith(message) for line in lines(done.stderr))
    assert not dst.exists()


@pytest.mark.parametrize(("key", "value", "message"), INVALID)
def test_durable_new_rejects_the_answer_in_one_line_and_writes_nothing(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    target = tmp_path / "app"
    done = durable_new(target, "--no-input", NEW_FLAGS[key], value)
    assert (done.returncode, done.stderr.strip()) == (2, f"durable new: error: {message}")
    assert not target.exists()


def test_durable_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keep.txt").write_text("mine")
    done = durable_new(tmp_path / "app", "--no-input")
    assert done.returncode == 2 and "is not empty" in done.stderr
    assert [p.name for p in (tmp_path / "app").iterdir()] == ["keep.txt"]
