"""``durable new`` renders the packaged template like the template tools do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from template_kit import Render, durable_new, sdk_tree, tree

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
