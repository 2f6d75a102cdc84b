"""A v1 (``function.json``) app of our own on the host, the harness and the tools.

``apps/v1_app`` uses what v1 apps use: ``__app__`` imports (``Greet``), a relative
import of a shared-code folder (``Double``, with its own ``scriptFile`` and
``entryPoint``), a custom route with templates and a named ``http`` output
(``StartChain``), ``$return`` outputs, a queue output and a timer trigger the local host
does not run, ``host.json`` (hub from a setting, ``defaultVersion``, ``routePrefix``)
and ``local.settings.json``, and one function whose parameter does not match its binding.
It is written for ``durable_functions``; the ``reference`` runs rewrite its imports to
``azure.durable_functions``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps.harness import APPS, Host, launch

from durable_functions.testing import OrchestrationTestEnv
from durable_functions.testing.pytest_plugin import _find_app_file

APP = APPS / "v1_app"
CHAIN_OUTPUT = {
    "greeting": "Hello, world",
    "doubled": 42,
    "total": 42,
    "version": "2.0",
    "child_version": "2.0",
}
MISMATCH = (
    "cannot load the Mismatch function: the following parameters are declared in Python "
    "but not in function.json: {'request'}"
)

pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")


def _copy(tmp_path: Path, *, reference: bool = False) -> Path:
    target = tmp_path / "v1_app"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    if reference:
        for path in target.rglob("*.py"):
            text = path.read_text()
            path.write_text(
                text.replace("import durable_functions", "import azure.durable_functions")
            )
    return target


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Host]:
    reference = getattr(request, "param", False)
    if reference:
        pytest.importorskip("azure.durable_functions")
    running = launch(_copy(tmp_path, reference=reference), tmp_path / "hub.sqlite3")
    try:
        yield running
    finally:
        running.stop()


def _run_chain(host: Host, path: str = "/v1api/chains/world/21") -> dict[str, Any]:
    reply = host.request("POST", path)
    assert reply.status == 202, (reply.status, reply.body, host.tail())
    instance_id = reply.json()["id"]
    assert reply.headers["X-Chain"] == instance_id  # the named http output's response
    return host.wait(instance_id)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "host",
    [
        pytest.param(False, id="ours"),
        pytest.param(True, id="reference", marks=pytest.mark.reference),
    ],
    indirect=True,
)
def test_the_v1_app_runs_on_the_host(host: Host) -> None:
    banner = host.tail(60)
    assert "task hub 'V1Hub'" in banner
    assert "StartChain: [POST] " in banner and "/v1api/chains/{name:alpha}/{value:int?}" in banner
    assert "Nightly: timerTrigger  (not run by the local host)" in banner
    assert "out binding 'audit' (queue): not run by the local host" in banner
    assert MISMATCH in banner

    done = _run_chain(host)
    assert (done["runtimeStatus"], done["output"]) == ("Completed", CHAIN_OUTPUT), done
    assert "output binding 'audit' (queue) is not run by the local host; value: 'doubled 21'" in (
        host.log.read_text()
    )
    assert host.request("GET", "/v1api/tallies/world").json() == 42
    assert host.request("POST", "/v1api/chains/w0rld/1").status == 404  # {name:alpha}
    again = _run_chain(host, "/v1api/chains/world")  # {value:int?} defaults to 1
    assert again["output"]["total"] == 44

    failed = host.request("GET", "/v1api/Mismatch")  # the default route: the function name
    assert failed.status == 500
    assert MISMATCH in host.log.read_text()
    host.check_alive()


@pytest.mark.e2e
def test_require_keys_guards_function_level_routes_of_a_v1_app(tmp_path: Path) -> None:
    app_dir = _copy(tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=("--require-keys",))
    try:
        assert host.request("GET", "/v1api/tallies/world").status == 401
        keys = json.loads((app_dir / ".durable" / "keys.json").read_text())
        key = keys["functionKeys"]["default"]
        reply = host.request("GET", f"/v1api/tallies/world?code={key}")
        assert (reply.status, reply.body) == (404, b"no such tally")
        # The management API wants the task hub's system key (the status reads below).
        host.management_key = keys["systemKeys"]["durabletask_extension"]
        assert _run_chain(host)["runtimeStatus"] == "Completed"  # anonymous: no key needed
    finally:
        host.stop()


def test_the_harness_runs_a_v1_app_folder(tmp_path: Path) -> None:
    env = OrchestrationTestEnv(_copy(tmp_path))
    result = env.run("Chain", {"name": "ann", "value": 5})
    assert result.is_completed, result.error
    # local.settings.json is the host's business: the harness leaves the environment alone.
    assert result.output == {
        "greeting": "Hi, ann",
        "doubled": 10,
        "total": 10,
        "version": "2.0",  # host.json defaultVersion, for the instance and its child
        "child_version": "2.0",
    }
    pinned = env.run("Chain", {"name": "bob", "value": 1}, version="3.0")
    assert (pinned.output["version"], pinned.output["child_version"]) == ("3.0", "2.0")


def test_the_pytest_plugin_finds_a_v1_app_above_the_tests(tmp_path: Path) -> None:
    app_dir = _copy(tmp_path)
    (app_dir / "tests").mkdir()
    assert _find_app_file(app_dir / "tests") == app_dir


@pytest.mark.e2e
def test_an_app_test_suite_gets_the_v1_app_from_the_pytest_plugin(tmp_path: Path) -> None:
    app_dir = _copy(tmp_path)
    tests = app_dir / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        'pytest_plugins = ["durable_functions.testing.pytest_plugin"]\n'
    )
    (tests / "test_chain.py").write_text(
        "def test_chain(durable_env):\n"
        "    result = durable_env.run('Chain', {'name': 'Bo', 'value': 4})\n"
        "    assert result.output['doubled'] == 8, result.error\n"
        "    assert result.output['child_version'] == '2.0'\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def _durable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_functions", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_durable_lint_checks_a_v1_app(tmp_path: Path) -> None:
    app_dir = _copy(tmp_path)
    clean = _durable("lint", ".", cwd=app_dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    chain = app_dir / "Chain" / "__init__.py"
    chain.write_text(
        "import datetime\n"
        + chain.read_text().replace(
            "    data = context.get_input()\n",
            "    data = context.get_input()\n    data['at'] = datetime.datetime.now()\n",
        )
    )
    found = _durable("lint", ".", cwd=app_dir)
    assert found.returncode == 1
    assert "Chain/__init__.py:7: DF001" in found.stdout


@pytest.mark.e2e
def test_durable_history_and_replay_work_on_a_v1_app(tmp_path: Path) -> None:
    app_dir = _copy(tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        instance_id = _run_chain(host)["instanceId"]
        exported = tmp_path / "chain.json"
        history = _durable(
            "history", instance_id, "--url", host.base, "-o", str(exported), cwd=app_dir
        )
        assert history.returncode == 0, history.stderr
    finally:
        host.stop()
    same = _durable("replay", str(exported), cwd=app_dir)  # the app in the current folder
    assert same.returncode == 0, same.stdout + same.stderr
    chain = app_dir / "Chain" / "__init__.py"
    chain.write_text(chain.read_text().replace('call_activity("Double"', 'call_activity("Greet"'))
    changed = _durable("replay", str(exported), "--app", str(app_dir), cwd=tmp_path)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "Double" in changed.stdout
