"""The pytest plugin, as an app's test suite uses it (a real pytest run in a temporary app)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk"

APP = """
import azure.functions as func
import durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def hello(context):
    name = yield context.call_activity("say", context.get_input())
    return name


@app.orchestration_trigger(context_name="context")
async def hello_async(context):
    return await context.call_activity("say", context.get_input())


@app.activity_trigger(input_name="name")
def say(name: str) -> str:
    return f"Hello {name}"


@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client):
    instance_id = await client.start_new(req.route_params["name"], None, "Ada")
    return client.create_check_status_response(req, instance_id)
"""

CONFTEST = 'pytest_plugins = ["durable_functions.testing.pytest_plugin"]\n'

TESTS = """
import json

import azure.functions as func

from function_app import start


def test_durable_env_runs_the_app_next_to_the_tests(durable_env):
    assert durable_env.run("hello", input="Bo").output == "Hello Bo"


def test_durable_env_runs_async_orchestrators(durable_env):
    assert durable_env.run("hello_async", input="Cy").output == "Hello Cy"


async def test_durable_client_serves_http_starters(durable_env, durable_client):
    request = func.HttpRequest(
        method="POST", url="http://localhost/api/start/hello", body=b"",
        route_params={"name": "hello"},
    )
    handler = start.build().get_user_function().client_function
    response = await handler(request, client=durable_client)
    instance_id = json.loads(response.get_body())["id"]
    assert durable_env.result(instance_id).output == "Hello Ada"
"""


@pytest.mark.e2e
def test_an_app_test_suite_gets_the_fixtures_from_pytest_plugins(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_app.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{SDK}{os.pathsep}{tmp_path}"}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
