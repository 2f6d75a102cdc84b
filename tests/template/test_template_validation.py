"""Invalid answers stop every generator with one clear line, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from template_kit import TEMPLATE, cookiecutter_cli, copier_cli, durable_new

pytestmark = pytest.mark.e2e

SLUG_RULE = (
    "is invalid: use 2-40 lowercase letters, digits or underscores, starting with a letter and "
    "not ending with '_' (it must be a Python identifier and, with '-' for '_', a valid Function "
    "app name)."
)
# Free-text answers: every generator checks them with the template's rules and messages.
INVALID = [
    pytest.param(
        "project_slug", "9lives", f"project_slug '9lives' {SLUG_RULE}", id="slug-starts-with-digit"
    ),
    pytest.param("project_slug", "my-app", f"project_slug 'my-app' {SLUG_RULE}", id="slug-hyphen"),
    pytest.param("project_slug", "class", f"project_slug 'class' {SLUG_RULE}", id="slug-keyword"),
    pytest.param("project_slug", "app_", f"project_slug 'app_' {SLUG_RULE}", id="slug-trailing-_"),
    pytest.param(
        "project_name",
        "!bang",
        "project_name '!bang' is invalid: use 1-80 characters (letters, digits, spaces, '.', "
        "'-', '_'), starting with a letter or digit.",
        id="name-punctuation",
    ),
]
# Choice answers: offered as choices, so only a command line can give another value; each tool
# rejects it with its own message naming the accepted values (durable new: the template's).
CHOICES = [
    pytest.param("python_version", "3.9", ["3.10", "3.11", "3.12", "3.13"], id="python-3.9"),
    pytest.param(
        "durable_backend",
        "netherite",
        ["azure_storage", "durable_task_scheduler", "mssql"],
        id="backend-netherite",
    ),
    pytest.param("http_auth_level", "admin", ["function", "anonymous"], id="auth-admin"),
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
def test_cookiecutter_rejects_the_answer_in_one_line_and_writes_nothing(
    template_repo: Path, tmp_path: Path, key: str, value: str, message: str
) -> None:
    out = tmp_path / "out"
    # A valid slug, so that an invalid name is the only problem (the slug derives from it).
    done = cookiecutter_cli(template_repo, out, {"project_slug": "my_app", key: value})
    assert done.returncode != 0
    assert lines(done.stderr + done.stdout) == [f"error: {message}"]
    assert not out.exists() or not any(out.iterdir())


def test_cookiecutter_reports_every_invalid_answer_at_once(
    template_repo: Path, tmp_path: Path
) -> None:
    done = cookiecutter_cli(
        template_repo,
        tmp_path / "out",
        {"project_name": "!bang", "project_slug": "class"},
    )
    reported = lines(done.stderr + done.stdout)
    assert [line.split(" ", 2)[1] for line in reported] == ["project_name", "project_slug"]
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(("key", "value", "accepted"), CHOICES)
def test_cookiecutter_refuses_a_value_outside_the_choices(
    template_repo: Path, tmp_path: Path, key: str, value: str, accepted: list[str]
) -> None:
    out = tmp_path / "out"
    done = cookiecutter_cli(template_repo, out, {key: value})
    assert done.returncode != 0
    assert f"{value} provided for choice variable {key}, but the choices are" in done.stderr
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


@pytest.mark.parametrize(("key", "value", "accepted"), CHOICES)
def test_copier_refuses_a_value_outside_the_choices(
    template_repo: Path, tmp_path: Path, key: str, value: str, accepted: list[str]
) -> None:
    dst = tmp_path / "app"
    done = copier_cli(template_repo, dst, {key: value})
    assert done.returncode != 0
    assert f"Invalid choice for '{key}': '{value}' is not in [" in done.stderr
    assert not dst.exists()


@pytest.mark.parametrize(("key", "value", "message"), INVALID)
def test_durable_new_rejects_the_answer_in_one_line_and_writes_nothing(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    target = tmp_path / "app"
    done = durable_new(target, "--no-input", NEW_FLAGS[key], value)
    expected = f"durable new: error: {message} (option: {NEW_FLAGS[key]})"
    assert (done.returncode, done.stderr.strip()) == (2, expected)
    assert not target.exists()


@pytest.mark.parametrize(("key", "value", "accepted"), CHOICES)
def test_durable_new_names_the_accepted_choices(
    tmp_path: Path, key: str, value: str, accepted: list[str]
) -> None:
    target = tmp_path / "app"
    done = durable_new(target, "--no-input", NEW_FLAGS[key], value)
    expected = (
        f"durable new: error: {key} {value!r} is not supported: choose one of "
        f"{', '.join(accepted)}. (option: {NEW_FLAGS[key]})"
    )
    assert (done.returncode, done.stderr.strip()) == (2, expected)
    assert not target.exists()


def test_durable_new_reports_every_invalid_answer_on_its_own_line(tmp_path: Path) -> None:
    done = durable_new(
        tmp_path / "app", "--no-input", "--slug", "class", "--backend", "x", "--auth", "y"
    )
    reported = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(reported) == 3
    assert all(line.startswith("durable new: error: ") for line in reported)


def test_python_3_13_with_azd_infra_is_generated_by_every_generator(
    template_repo: Path, tmp_path: Path
) -> None:
    # Flex Consumption runs Python 3.13 (docs/template.md has Microsoft's sources).
    answers = {"project_slug": "my_app", "python_version": "3.13", "include_azd_infra": True}
    cookiecutter_done = cookiecutter_cli(template_repo, tmp_path / "out", answers)
    copier_done = copier_cli(template_repo, tmp_path / "app", answers)
    new_done = durable_new(tmp_path / "new", "--no-input", "--slug", "my_app", "--python", "3.13")
    for done in (cookiecutter_done, copier_done, new_done):
        assert done.returncode == 0, done.stderr
    for app in (tmp_path / "out" / "my_app", tmp_path / "app", tmp_path / "new"):
        main = (app / "infra" / "main.bicep").read_text()
        assert "param pythonVersion string = '3.13'" in main


def hook_namespace() -> dict:
    hook = TEMPLATE / "hooks" / "pre_gen_project.py"
    namespace: dict = {"__name__": "_rules_under_test"}
    exec(compile(hook.read_text(encoding="utf-8"), str(hook), "exec"), namespace)
    return namespace


def test_azd_infra_with_a_python_flex_consumption_lacks_is_one_clear_problem() -> None:
    # Every offered Python runs on Flex Consumption today; the rule stays for a later one that
    # does not (narrowed here to show what it says).
    rules = hook_namespace()
    assert rules["FLEX_PYTHON_VERSIONS"] == rules["PYTHON_VERSIONS"]
    rules["FLEX_PYTHON_VERSIONS"] = ("3.10", "3.11", "3.12")
    base = {
        "project_name": "App",
        "project_slug": "app",
        "durable_backend": "azure_storage",
        "http_auth_level": "function",
        "include_entity": True,
        "include_ci": True,
    }
    found = rules["problems"]({**base, "python_version": "3.13", "include_azd_infra": True})
    assert found == [
        "include_azd_infra is not available with python_version '3.13': Flex Consumption runs "
        "Python 3.10, 3.11, 3.12; choose one of those or answer no (the app itself runs locally "
        "on any supported version)."
    ]
    assert rules["problems"]({**base, "python_version": "3.13", "include_azd_infra": False}) == []


def test_durable_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keep.txt").write_text("mine")
    done = durable_new(tmp_path / "app", "--no-input")
    assert done.returncode == 2 and "is not empty" in done.stderr
    assert [p.name for p in (tmp_path / "app").iterdir()] == ["keep.txt"]
