"""Generated apps pass their own checks: pytest, ruff and the Functions indexing check.

Rendering is compared across the full matrix elsewhere; running an app's checks costs more, so
they run on a representative set per Python version that covers every back end, both auth
levels and the app with and without the entity sample and the optional parts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from template_kit import Render, app_venv, python_for

pytestmark = pytest.mark.e2e

APPS = [
    pytest.param("3.11", {"durable_backend": "azure_storage"}, id="py3.11-azure_storage"),
    pytest.param(
        "3.11",
        {
            "durable_backend": "mssql",
            "include_entity": False,
            "http_auth_level": "anonymous",
            "include_azd_infra": False,
            "include_ci": False,
        },
        id="py3.11-mssql-bare-anonymous",
    ),
    pytest.param(
        "3.13",
        {
            "durable_backend": "durable_task_scheduler",
            "http_auth_level": "anonymous",
            "include_azd_infra": False,
        },
        id="py3.13-dts-anonymous",
    ),
    pytest.param(
        "3.13",
        {"durable_backend": "azure_storage", "include_entity": False, "include_azd_infra": False},
        id="py3.13-no_entity",
    ),
]
INDEX = """
import json
from function_app import app
print(json.dumps({f.get_function_name(): sorted(b["type"] for b in f.get_dict_repr()["bindings"])
                  for f in app.get_functions()}))
"""


def checked_app(render: Render, python: str, answers: dict) -> tuple[Path, Path]:
    if python_for(python) is None:
        pytest.skip(f"Python {python} is not installed (looked in ~/.pyenv/versions and PATH)")
    app = render("cookiecutter", python_version=python, **answers)
    return app, app_venv(python, app)


def run(app: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=app, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize(("python", "answers"), APPS)
def test_generated_app_tests_pass(render: Render, python: str, answers: dict) -> None:
    app, venv_python = checked_app(render, python, answers)
    done = run(app, str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("python", "answers"), APPS)
def test_generated_app_passes_ruff(render: Render, python: str, answers: dict) -> None:
    app, venv_python = checked_app(render, python, answers)
    ruff = str(venv_python.parent / "ruff")
    done = run(app, ruff, "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(app, ruff, "format", "--no-cache", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("python", "answers"), APPS)
def test_generated_app_indexes_every_sample(render: Render, python: str, answers: dict) -> None:
    app, venv_python = checked_app(render, python, answers)
    done = run(app, str(venv_python), "-c", INDEX)
    assert done.returncode == 0, done.stderr
    functions = json.loads(done.stdout)
    expected = {
        "start_orchestration": ["durableClient", "http", "httpTrigger"],
        "hello_chain": ["orchestrationTrigger"],
        "fan_out_fan_in": ["orchestrationTrigger"],
        "greet_and_sum": ["orchestrationTrigger"],
        "approval_workflow": ["orchestrationTrigger"],
        "job_monitor": ["orchestrationTrigger"],
        "say_hello": ["activityTrigger"],
        "square": ["activityTrigger"],
        "check_job": ["activityTrigger"],
    }
    if answers.get("include_entity", True):
        expected |= {
            "counter_workflow": ["orchestrationTrigger"],
            "counter": ["entityTrigger"],
            "read_counter": ["durableClient", "http", "httpTrigger"],
            "add_to_counter": ["durableClient", "http", "httpTrigger"],
        }
    assert functions == expected
