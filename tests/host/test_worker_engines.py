"""Our loader measured against Microsoft's Python worker runtime, on the host test apps.

Each app is indexed by both engines (``durable start --worker builtin`` and
``--worker azure-functions-runtime``) and the function metadata must be the same: names,
bindings (name, type, direction, data type), routes, methods, auth levels, who gets a
``func.Context``. Then the same orchestrations and HTTP requests run on the real host,
once per engine, and everything observable must be the same: statuses, outputs, custom
statuses, histories (see ``engine_kit``), entity states and HTTP answers.

These need Python 3.13 and the runtime libraries (``make test-py313`` installs them);
elsewhere they skip, except the refusal test, which checks the one-line error instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from apps.harness import APPS
from engine_kit import (
    BUILTIN,
    ENGINES,
    RUNTIME,
    TIMER_CREATED,
    Call,
    Case,
    assert_same_metadata,
    assert_same_runs,
    engine_metadata,
    raise_when,
    run_app,
    runtime_missing,
    waiting_after,
)

pytestmark = pytest.mark.e2e
MISSING = runtime_missing()
needs_runtime = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


def _sample_cases() -> dict[str, Case]:
    """``nondeterministic`` is left out: a session (our loader only) does not re-run the code."""
    approve = raise_when(waiting_after(0), "approve", True)
    return {
        "chain": Case("chain", 1),
        "fan_out": Case("fan_out", 6),
        "fan_out_async": Case("fan_out_async", 4),
        "entity": Case("counter_calls", "k1", entity="counter/k1"),
        "sub": Case("parent", 2),
        "continue_as_new": Case("continue_counter", 0),
        "failing": Case("failing", 1),
        "version": Case("version_of"),
        "retry": Case("retrying"),
        "fails_once": Case("fails_once"),
        "child_fails_once": Case("parent_of_fails_once"),
        "timer": Case("timer", 1),
        "event": Case("wait_event", drive=approve),
        "activity_then_event": Case("step_then_wait", drive=raise_when(waiting_after(5), "go", 2)),
    }


def _sample_calls() -> dict[str, Call]:
    return {
        "hello": Call("GET", "/api/hello/bob"),
        "hello query": Call("GET", "/api/hello?name=ann"),
        "int route": Call("GET", "/api/items/21"),
        "int route mismatch": Call("GET", "/api/items/abc"),
        "echo post": Call("POST", "/api/echo", b"some text"),
        "echo put": Call("PUT", "/api/echo", "caf\u00e9".encode()),
        "wrong method": Call("DELETE", "/api/echo"),
        "cookies": Call("GET", "/api/cookies"),
        "client binding": Call("GET", "/api/binding"),
        "raises": Call("GET", "/api/boom"),
        "start": Call("POST", "/api/orchestrators/chain/http-start", b"5"),
        "run and wait": Call("POST", "/api/run/chain", b"7"),
        "status": Call("GET", "/api/status/diff-chain"),
        "json body": Call(
            "POST", "/api/echo", b'{"a": [1, 2]}', {"Content-Type": "application/json"}
        ),
    }


def _fidelity_cases() -> dict[str, Case]:
    """``clock_and_ids`` is left out: its output is the time of the run."""
    return {
        "chaining": Case("hello_chain"),
        "fan_out": Case("fan_out_fan_in", [f"city {n}" for n in range(8)]),
        "retry": Case("retry_once"),
        "sub": Case("parent_of_chain"),
        "timer": Case("durable_timer"),
        "entity": Case("entity_counter"),
        "custom_status": Case("custom_status"),
        "continue_as_new": Case("counter_loop", 0),
        "race_timer_wins": Case("race", 1),
        "race_event_wins": Case(
            "race", 30, drive=raise_when(waiting_after(TIMER_CREATED), "go", 1)
        ),
        "caught_failure": Case("compensate"),
        "retry_exhausted": Case("retry_exhausted"),
        "entity_error": Case("entity_error"),
        "http_call": Case("http_ping", lambda host: f"{host.base}/api/ping"),
        "parallel_subs": Case("sub_fan_out"),
        "parallel_timers": Case("timers"),
        "odd_values": Case("odd_values"),
        "unhandled_failure": Case("unhandled_failure"),
        "concurrent_retries": Case("concurrent_retries", ordered=False),
        "entity_and_activity": Case("entity_and_activity"),
        "sub_retry": Case("sub_orchestration_retry"),
        "introspect": Case("introspect_parent"),
    }


def _edge_cases() -> dict[str, Case]:
    return {"edges": Case("edges"), "app_error": Case("app_error_unhandled")}


def _edge_calls() -> dict[str, Call]:
    return {
        "context": Call("GET", "/api/context"),
        "request": Call(
            "POST",
            "/api/request?a=1&b=two",
            b'{"k": [1, "\\u00e9"]}',
            {"Content-Type": "application/json", "X-Custom": "v"},
        ),
        "form": Call(
            "POST", "/api/form", b"a=1&b=two", {"Content-Type": "application/x-www-form-urlencoded"}
        ),
        "dict": Call("GET", "/api/dict"),
        "bytes": Call("GET", "/api/bytes"),
        "teapot": Call("GET", "/api/teapot"),
        "none": Call("GET", "/api/none"),
        "async": Call("GET", "/api/async?q=z"),
        "output binding": Call("GET", "/api/queued"),
    }


def _v1_cases() -> dict[str, Case]:
    return {
        "sequence": Case("HelloSequence"),
        "cities": Case("HelloSequence", ["Oslo", "Lima"]),
        "activity_fails": Case("HelloSequence", ["Nowhere"]),
        "entity": Case("CounterWorkflow", "c1", entity="Counter/c1"),
        "text_result": Case("CodeCheck"),
    }


def _v1_calls() -> dict[str, Call]:
    return {
        "start": Call(
            "POST",
            "/api/orchestrators/HelloSequence?x=1",
            b"null",
            {"Content-Type": "application/json"},
        ),
        "unknown route": Call("GET", "/api/nothing"),
        "named http output": Call("POST", "/api/start/CodeCheck"),
    }


def _async_cases() -> dict[str, Case]:
    """``async def`` orchestrators: the worker sees their sync handler, as Azure does."""
    cancel = raise_when(waiting_after(TIMER_CREATED), "cancel", "by customer")
    return {
        "issue_example": Case("process_order", {"payments": [1, 2]}, drive=cancel),
        "every_await": Case(
            "everything", lambda host: {"url": f"{host.base}/api/hello", "generation": 0}
        ),
        "chain": Case("logged_chain_async", "k:3"),
        "non_durable_await": Case("sleeps"),
    }


def _none_is_a_failure_in_azure(result: dict[str, Any]) -> dict[str, Any]:
    """docs/compatibility.md, Local host: an HTTP function returning ``None`` answers 204
    locally; Azure's worker cannot encode ``None`` as an HTTP response and fails the call."""
    assert result == {"status": 500, "headers": [], "body": ""}, result
    return {**result, "status": 204}


DOCUMENTED_DIFFERENCES = {("edge_app", "http none"): _none_is_a_failure_in_azure}
"""Deliberate differences (compatibility.md): the worker's result, mapped to ours."""

APP_DIRS = {
    "sdk_app": APPS / "sdk_app",
    "ref_app": APPS / "ref_app",
    "fidelity_app": APPS.parent / "fidelity_app",
    "edge_app": APPS / "edge_app",
    "v1_worker_app": APPS / "v1_worker_app",
    "async_app": APPS / "async_app",
}
APP_CASES = {
    "sdk_app": (_sample_cases, _sample_calls),
    "ref_app": (_sample_cases, _sample_calls),
    "fidelity_app": (_fidelity_cases, dict),
    "edge_app": (_edge_cases, _edge_calls),
    "v1_worker_app": (_v1_cases, _v1_calls),
    "async_app": (_async_cases, dict),
}


def _copy(app: str, dest: Path) -> Path:
    copy = dest / app
    shutil.copytree(APP_DIRS[app], copy, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    return copy


def _skip_unless_loadable(app: str, tmp_path: Path) -> None:
    """Skip what cannot be compared here: an app written for the reference SDK without it."""
    if app == "ref_app":
        pytest.importorskip("azure.durable_functions")


@needs_runtime
@pytest.mark.parametrize("app", sorted(APP_CASES))
def test_both_engines_index_the_app_alike(app: str, tmp_path: Path) -> None:
    _skip_unless_loadable(app, tmp_path)
    metadata = assert_same_metadata(_copy(app, tmp_path))
    kinds = {fn["kind"] for fn in metadata["functions"]}
    assert {"orchestrator", "activity"} <= kinds  # the comparison saw real functions


@needs_runtime
@pytest.mark.slow
@pytest.mark.parametrize("app", sorted(APP_CASES))
def test_both_engines_run_the_app_alike(app: str, tmp_path: Path) -> None:
    _skip_unless_loadable(app, tmp_path)
    cases, calls = APP_CASES[app]
    result = assert_same_runs(
        APP_DIRS[app], tmp_path, cases(), calls(), documented=DOCUMENTED_DIFFERENCES
    )
    statuses = {r.get("runtimeStatus") for r in result.values()}
    assert {"Completed", "Failed"} <= statuses  # both outcomes were exercised
    if app == "edge_app":
        assert "AppError: refused x" in result["edges"]["output"][2]
        assert result["http context"]["body"] == ["with_context_http", True, "<app>/edge_app"]
        assert result["http output binding"]["body"] == "queued hello"
    if app in ("sdk_app", "ref_app"):
        assert result["http raises"]["status"] == 500
        assert result["entity"]["entity"]["body"] == 5


@needs_runtime
@pytest.mark.slow
def test_a_function_json_app_runs_in_microsofts_v1_worker(tmp_path: Path) -> None:
    """``azure-functions-runtime-v1`` loads each function from the host's function.json
    metadata; orchestrations, activities, entities and the HTTP starter all run."""
    result = run_app(APP_DIRS["v1_worker_app"], RUNTIME, tmp_path, _v1_cases(), _v1_calls())
    assert result["sequence"]["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert result["sequence"]["customStatus"] == 3
    assert result["cities"]["output"] == ["Hello Oslo!", "Hello Lima!"]
    assert result["activity_fails"]["runtimeStatus"] == "Failed"
    reasons = result["activity_fails"]["history"]["failure_reasons"]
    assert reasons == ["Activity function 'Hello' failed: ValueError: no such city"]
    assert result["entity"]["output"] == 3 and result["entity"]["entity"]["body"] == 3
    assert result["http start"]["status"] == 202
    assert result["http start"]["body"]["statusQueryGetUri"].startswith("<base>/runtime/")
    assert result["http unknown route"]["status"] == 404
    assert result["text_result"]["output"] == ["9361", True]  # a str result stays text
    named = result["http named http output"]  # orchestrationClient, answered by ``message``
    assert named["status"] == 202 and named["body"]["id"], named


REFUSED = {
    "two_apps": (
        "import azure.functions as func\nimport durable_functions as df\n"
        "app = df.DFApp()\nother = func.FunctionApp()\n"
        "@app.activity_trigger(input_name='value')\ndef a(value):\n    return value\n",
        "More than one DFApp or other top level function app instances are defined",
    ),
    "unbound_parameter": (
        "import durable_functions as df\napp = df.DFApp()\n"
        "@app.activity_trigger(input_name='value')\ndef a(value, extra):\n    return value\n",
        "cannot load the a function: the following parameters are declared in Python but not",
    ),
    "builtin_generic_annotation": (
        "import durable_functions as df\napp = df.DFApp()\n"
        "@app.activity_trigger(input_name='value')\ndef a(value: list[str]):\n    return value\n",
        "cannot load the a function: binding value has invalid non-type annotation",
    ),
}


@needs_runtime
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_both_engines_refuse_what_azure_refuses(case: str, tmp_path: Path) -> None:
    source, message = REFUSED[case]
    (tmp_path / "function_app.py").write_text(source)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    ours, theirs = (engine_metadata(tmp_path, engine) for engine in ENGINES)
    assert message in theirs.get("error", ""), theirs
    assert message in ours.get("error", ""), ours


def test_worker_engine_refusal_is_one_line(tmp_path: Path) -> None:
    """Without Python 3.13 and the runtime libraries, a one-line error and exit status 2."""
    if MISSING is None:
        pytest.skip("the worker runtime is available here: the refusal cannot be shown")
    done = subprocess.run(
        [sys.executable, "-m", "durable_functions", "start", "--worker", RUNTIME, "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("durable start: error: --worker"), lines
    assert BUILTIN != RUNTIME
