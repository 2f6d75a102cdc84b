"""``durable new`` renders the packaged template like the template tools do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from template_kit import (
    BIN,
    ROOT,
    STATE_FILE,
    Render,
    cookiecutter_cli,
    durable,
    durable_new,
    sdk_tree,
    tree,
)

pytestmark = pytest.mark.e2e


def without_sdk(files: dict[str, bytes]) -> dict[str, bytes]:
    return {rel: data for rel, data in files.items() if not rel.startswith("durable_functions/")}


def test_durable_new_with_flags_renders_what_cookiecutter_renders(
    render: Render, tmp_path: Path
) -> None:
    target = tmp_path / "orders_app"
    done = durable_new(
        target,
        "--no-input",
        "--backend",
        "durable_task_scheduler",
        "--no-entity",
        "--auth",
        "anonymous",
    )
    assert done.returncode == 0, done.stderr
    expected = render(
        "cookiecutter",
        project_name="orders_app",
        project_slug="orders_app",
        durable_backend="durable_task_scheduler",
        include_entity=False,
        http_auth_level="anonymous",
    )
    # The SDK is compared with the package itself below (the template copy may lag behind it).
    assert without_sdk(tree(target)) == without_sdk(tree(expected))


def test_durable_new_names_the_project_after_the_folder(tmp_path: Path) -> None:
    done = durable_new(tmp_path / "billing-service", "--no-input")
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / "billing-service" / "local.settings.json").read_text())
    assert settings["Values"]["TASKHUB_NAME"] == "billingservicehub"


def test_durable_new_vendors_the_running_sdk(tmp_path: Path) -> None:
    assert durable_new(tmp_path / "app", "--no-input").returncode == 0
    vendored = {
        rel.removeprefix("durable_functions/"): data
        for rel, data in tree(tmp_path / "app").items()
        if rel.startswith("durable_functions/")
    }
    assert vendored == sdk_tree()


def test_durable_new_without_input_on_a_pipe_uses_the_defaults(tmp_path: Path) -> None:
    done = durable_new(tmp_path / "app")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "app" / "entities.py").is_file()


def test_an_invalid_interactive_answer_is_asked_again() -> None:
    from durable_functions.scaffold import Question, collect_answers, template_root

    replies = iter(["Shop", "", "3.9", "3.11", "", "", "", "", ""])
    asked: list[str] = []

    def ask(question: Question, default: object) -> object:
        asked.append(question.key)
        return next(replies) or default

    answers = collect_answers(template_root(), {}, ask=ask)
    assert (answers["python_version"], asked.count("python_version")) == ("3.11", 2)


def test_given_answers_are_not_asked() -> None:
    from durable_functions.scaffold import Question, collect_answers, template_root

    asked: list[str] = []

    def ask(question: Question, default: object) -> object:
        asked.append(question.key)
        return default

    collect_answers(template_root(), {"durable_backend": "mssql", "include_ci": False}, ask=ask)
    assert "durable_backend" not in asked and "include_ci" not in asked


def test_durable_new_derives_a_valid_slug_from_the_folder_name(tmp_path: Path) -> None:
    done = durable_new(tmp_path / "123-Orders app", "--no-input")
    assert done.returncode == 0, done.stderr
    state = json.loads((tmp_path / "123-Orders app" / STATE_FILE).read_text())
    assert state["answers"]["project_slug"] == "orders_app"
    assert "Project slug: orders_app" in done.stdout and "--slug" in done.stdout


def test_durable_new_says_which_flag_to_use_when_no_slug_can_be_made(tmp_path: Path) -> None:
    done = durable_new(tmp_path / "123", "--no-input")
    assert done.returncode == 2
    assert done.stderr.startswith("durable new: error: no valid project slug can be made from")
    assert "--slug NAME" in done.stderr and len(done.stderr.splitlines()) == 1


def test_durable_new_reports_a_folder_it_cannot_create_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = durable_new(blocker / "app", "--no-input")
    assert done.returncode == 2
    assert done.stderr.startswith(f"durable new: error: cannot create {blocker / 'app'}")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_usage_mistake_is_one_line_with_status_2(tmp_path: Path) -> None:
    done = durable("new")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "durable new: error: the following arguments are required: directory "
        "(see durable new --help)"
    ]


def test_without_cookiecutter_the_hint_names_a_command_that_works(tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "cookiecutter"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    (fake / "main.py").write_text("raise ImportError('not installed')\n")
    env_path = f"{tmp_path / 'fake'}:{ROOT / 'sdk'}"
    done = subprocess.run(
        [sys.executable, "-m", "durable_functions", "new", str(tmp_path / "app"), "--no-input"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": env_path},
        stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "durable new: error: `durable new` needs Cookiecutter: pip install 'cookiecutter>=2.6'",
    )


def test_every_front_door_prints_next_steps(template_repo: Path, tmp_path: Path) -> None:
    new = durable_new(tmp_path / "new_app", "--no-input")
    cookiecutter = cookiecutter_cli(template_repo, tmp_path / "out", {})
    copier = subprocess.run(
        [str(BIN / "copier"), "copy", "--defaults", str(template_repo), str(tmp_path / "cp")],
        capture_output=True,
        text=True,
    )
    for done in (new, cookiecutter, copier):
        assert done.returncode == 0, done.stderr
        assert "Next: cd " in done.stdout + done.stderr
        assert "durable_functions start" in done.stdout + done.stderr


def test_choice_questions_are_asked_as_numbered_choices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from durable_functions import scaffold

    replies = iter(["Shop", "", "", "2", "", "", "", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    answers = scaffold.collect_answers(scaffold.template_root(), {}, ask=scaffold._ask)
    assert answers["durable_backend"] == "durable_task_scheduler"
    assert "  3) mssql" in capsys.readouterr().out


def test_a_new_app_holds_no_bytecode_or_caches(tmp_path: Path) -> None:
    assert durable_new(tmp_path / "app", "--no-input").returncode == 0
    leftovers = [
        p.relative_to(tmp_path / "app").as_posix()
        for p in (tmp_path / "app").rglob("*")
        if p.name in {"__pycache__", ".pytest_cache", ".ruff_cache"} or p.suffix in {".pyc", ".pyo"}
    ]
    assert leftovers == []
