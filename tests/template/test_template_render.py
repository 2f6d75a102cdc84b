"""Rendering: both tools give the same app for the same answers, and the app is complete."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from template_kit import (
    ANSWERS_FILE,
    APP_TEMPLATE,
    AUTH_LEVELS,
    BACKENDS,
    ROOT,
    STATE_FILE,
    Render,
    empty_dirs,
    render_cookiecutter,
    render_copier,
    sdk_tree,
    tree,
)

pytestmark = pytest.mark.e2e

# Every back end x entity x auth level. Python 3.11/3.13 is spread over them so that every back
# end, entity choice and auth level is rendered with both (the version changes only a few lines).
MATRIX = [
    pytest.param(
        {
            "durable_backend": backend,
            "include_entity": entity,
            "http_auth_level": auth,
            "python_version": python,
        },
        id=f"{backend}-{'entity' if entity else 'no_entity'}-{auth}-py{python}",
    )
    for backend, entity, auth in itertools.product(BACKENDS, (True, False), AUTH_LEVELS)
    for python in ["3.11" if entity == (auth == "function") else "3.13"]
]
OPTIONAL_PARTS = [
    pytest.param({"include_azd_infra": False}, id="no_azd"),
    pytest.param({"include_ci": False}, id="no_ci"),
    pytest.param(
        {"include_azd_infra": False, "include_ci": False, "include_entity": False}, id="bare"
    ),
]
JINJA_LEFTOVER = re.compile(rb"\{\{|\{%|\{#|cookiecutter\.")


@pytest.mark.parametrize("answers", MATRIX + OPTIONAL_PARTS)
def test_cookiecutter_and_copier_render_identical_trees(render: Render, answers: dict) -> None:
    cookiecutter_app = render("cookiecutter", **answers)
    copier_app = render("copier", **answers)
    assert tree(cookiecutter_app) == tree(copier_app)


@pytest.mark.parametrize("answers", OPTIONAL_PARTS)
def test_left_out_parts_leave_no_empty_folders(render: Render, answers: dict) -> None:
    assert empty_dirs(render("cookiecutter", **answers)) == []
    assert empty_dirs(render("copier", **answers)) == []


def test_copier_records_the_answers_for_updates(render: Render) -> None:
    answers_text = (render("copier") / ANSWERS_FILE).read_text()
    assert "_commit: v1.0.0" in answers_text and "durable_backend: azure_storage" in answers_text


def test_cookiecutter_writes_no_copier_answers_file(render: Render) -> None:
    assert not (render("cookiecutter") / ANSWERS_FILE).exists()


def test_cookiecutter_records_the_answers_and_files_for_durable_update(render: Render) -> None:
    app = render("cookiecutter", durable_backend="mssql")
    state = json.loads((app / STATE_FILE).read_text())
    assert state["answers"]["durable_backend"] == "mssql"
    assert state["files"]["host.json"] == (app / "host.json").read_text()
    assert not any(rel.startswith("durable_functions/") for rel in state["files"])
    assert "local.settings.json" not in state["files"]


def test_copier_writes_no_durable_update_record(render: Render) -> None:
    assert not (render("copier") / STATE_FILE).exists()


@pytest.mark.parametrize("question", ["python_version", "durable_backend", "http_auth_level"])
def test_choice_questions_are_choices_in_both_tools(question: str) -> None:
    import yaml

    cookiecutter_json = json.loads((ROOT / "template" / "cookiecutter.json").read_text())
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text())
    listed = cookiecutter_json[question]
    assert isinstance(listed, list)
    assert sorted(copier_yml[question]["choices"].values()) == sorted(listed)
    assert copier_yml[question]["default"] == listed[0]


def test_cookiecutter_app_folder_is_named_after_the_slug(render: Render) -> None:
    assert render("cookiecutter", project_slug="orders_app").name == "orders_app"


@pytest.mark.parametrize("answers", MATRIX[::2] + OPTIONAL_PARTS)
def test_no_template_syntax_is_left_in_the_app(render: Render, answers: dict) -> None:
    app_files = tree(render("cookiecutter", **answers))
    leftovers = [
        rel
        for rel, data in app_files.items()
        if not rel.startswith("durable_functions/") and JINJA_LEFTOVER.search(data)
    ]
    assert leftovers == []


@pytest.mark.parametrize("answers", MATRIX[::2])
def test_every_json_file_is_valid(render: Render, answers: dict) -> None:
    app = render("cookiecutter", **answers)
    for path in app.rglob("*.json"):
        json.loads(path.read_text())


STALE = "the template's copy of the SDK is stale: run `python tools/vendor_sdk.py`"


def differing_sdk_files(app: Path) -> list[str]:
    """Files where the app's durable_functions/ differs from the SDK package."""
    vendored = {
        rel.removeprefix("durable_functions/"): data
        for rel, data in tree(app).items()
        if rel.startswith("durable_functions/")
    }
    package = sdk_tree()
    return sorted(
        rel for rel in vendored.keys() | package.keys() if vendored.get(rel) != package.get(rel)
    )


def test_the_vendored_sdk_is_byte_identical_to_the_package(render: Render) -> None:
    assert differing_sdk_files(render("cookiecutter")) == [], STALE


def test_the_copier_app_carries_the_same_sdk(render: Render) -> None:
    assert differing_sdk_files(render("copier")) == [], STALE


def test_the_template_copy_of_the_sdk_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "vendor_sdk.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


HOST_PROVIDERS = {
    "azure_storage": ({"type": "AzureStorage"}, "[4.*, 5.0.0)"),
    "durable_task_scheduler": (
        {
            "type": "azureManaged",
            "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
        },
        "[4.32.0, 5.0.0)",
    ),
    "mssql": (
        {
            "type": "mssql",
            "connectionStringName": "SQLDB_Connection",
            "taskEventLockTimeout": "00:02:00",
            "createDatabaseIfNotExists": True,
        },
        "[4.*, 5.0.0)",
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_host_json_configures_the_chosen_back_end(render: Render, backend: str) -> None:
    host = json.loads((render("cookiecutter", durable_backend=backend) / "host.json").read_text())
    provider, bundle = HOST_PROVIDERS[backend]
    assert host["extensions"]["durableTask"] == {
        "hubName": "%TASKHUB_NAME%",
        "tracing": {"distributedTracingEnabled": True, "version": "V2"},
        "storageProvider": provider,
    }
    assert host["logging"]["applicationInsights"]["enableLiveMetricsFilters"] is True
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": bundle,
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_local_settings_define_every_setting_host_json_reads(render: Render, backend: str) -> None:
    app = render("cookiecutter", durable_backend=backend)
    host = (app / "host.json").read_text()
    values = json.loads((app / "local.settings.json").read_text())["Values"]
    needed = set(re.findall(r"%(\w+)%", host)) | set(
        re.findall(r'"connectionStringName": "(\w+)"', host)
    )
    assert needed | {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"} <= {
        key for key, value in values.items() if value
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_committed_settings_example_matches_local_settings(
    render: Render, backend: str
) -> None:
    app = render("cookiecutter", durable_backend=backend)
    assert (app / "local.settings.example.json").read_text() == (
        app / "local.settings.json"
    ).read_text()


def test_task_hub_name_is_a_valid_azure_storage_hub_name(render: Render) -> None:
    app = render("cookiecutter", project_slug="a_very_long_project_slug_for_hub_names_x")
    hub = json.loads((app / "local.settings.json").read_text())["Values"]["TASKHUB_NAME"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", hub)


def test_local_settings_json_is_git_ignored_in_the_app(render: Render) -> None:
    assert "local.settings.json" in (render("cookiecutter") / ".gitignore").read_text().splitlines()


def test_the_template_hides_no_file_from_git() -> None:
    """The app's .gitignore is stored under a templated name, so it cannot hide template files."""
    assert not list(APP_TEMPLATE.rglob(".gitignore"))


def test_requirements_hold_azure_functions_only(render: Render) -> None:
    lines = (render("cookiecutter") / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == ["azure-functions"]


@pytest.mark.parametrize("ignored", ["tests", ".venv", "local.settings.json", "infra", ".azure"])
def test_funcignore_keeps_dev_files_out_of_the_package(render: Render, ignored: str) -> None:
    assert ignored in (render("cookiecutter") / ".funcignore").read_text().splitlines()


def test_ci_workflow_uses_the_chosen_python(render: Render) -> None:
    app = render("cookiecutter", python_version="3.13", include_azd_infra=False)
    assert 'python-version: "3.13"' in (app / ".github/workflows/ci.yml").read_text()


def test_entity_files_are_left_out_without_the_entity_sample(render: Render) -> None:
    app = render("cookiecutter", include_entity=False)
    assert not (app / "entities.py").exists() and not (app / "tests/test_entities.py").exists()


def test_cookiecutter_command_line_needs_no_extra_flags(
    template_repo: Path, tmp_path: Path
) -> None:
    app = render_cookiecutter(template_repo, tmp_path / "out", {})
    assert (app / "function_app.py").is_file()


def test_copier_copy_needs_no_trust(template_repo: Path, tmp_path: Path) -> None:
    app = render_copier(template_repo, tmp_path / "app", {})
    assert (app / "function_app.py").is_file()
