"""Run one app on the local host with each engine and reduce what it did to comparable data.

The two engines are our loader (``builtin``) and Microsoft's Python worker runtime
(``azure-functions-runtime``, Python 3.13+). A ``Case`` starts an orchestration under a fixed
instance id (so outputs that contain ids compare), optionally drives it (raises events), and
the run keeps its status, output, custom status, its history reduced to what is
deterministic, entity states and the answers of HTTP requests.

A history's exact event order depends on timing where work runs in parallel (which
activity finishes first, how many results one episode consumes), in either engine. So a
history is kept as (1) the orchestrator's decisions in order (every scheduling event with
its name and input, and the completion with its result) and (2) the count of every other
event type; failure reasons are kept text for text.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.harness import APPS, Host, launch

from durable_functions.errors import HostError
from durable_functions.host.worker_runtime import check_available

BUILTIN = "builtin"
RUNTIME = "azure-functions-runtime"
ENGINES = (BUILTIN, RUNTIME)
API = "/runtime/webhooks/durabletask"
METADATA_SCRIPT = APPS / "engine_metadata.py"
_RUNTIME_MODULES = (
    "azure_functions_runtime",
    "azure_functions_runtime_v1",
    "grpc",
    "google.protobuf",
)

# Protocol §3.2 event types.
TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 4, 5, 6
SUB_ORCHESTRATION_CREATED, SUB_ORCHESTRATION_FAILED = 7, 9
TIMER_CREATED, ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED, EVENT_SENT = 10, 12, 13, 14
EVENT_RAISED = 15
EXECUTION_COMPLETED = 1
DECISIONS = {TASK_SCHEDULED, SUB_ORCHESTRATION_CREATED, TIMER_CREATED, EVENT_SENT}


def runtime_missing() -> str | None:
    """Why the worker-runtime engine cannot run here (``None`` when it can)."""
    try:
        check_available()
    except HostError as exc:
        return f"{exc} (make test-py313 installs it)"
    return None


@dataclass
class Case:
    """One orchestration to run: start it, drive it, read it back."""

    orchestrator: str
    input: Any = None
    drive: Callable[[Host, str], None] | None = None
    entity: str | None = None
    """An entity ``name/key`` whose state to read after the run."""
    ordered: bool = True
    """False when the order of decisions depends on timing (which of two retries fails first)."""
    start: Callable[[Host], str] | None = None
    """Start it another way (a sample's HTTP starter): returns the instance id."""
    racing: bool = False
    """True when parallel tasks fail: how many of them complete or fail before the
    orchestration ends depends on timing, so those events are kept as present or absent
    and their failure reasons once each."""


@dataclass
class Call:
    """One HTTP request to the app's functions."""

    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def raw_history(host: Host, instance_id: str) -> list[dict[str, Any]]:
    """The instance's stored history (the local ``history/raw`` route)."""
    reply = host.request("GET", f"{API}/instances/{instance_id}/history/raw")
    assert reply.status == 200, (reply.status, reply.body)
    return list(reply.json()["history"])


def waiting_after(event_type: int) -> Callable[[Host, str], bool]:
    """True once an episode recorded ``event_type`` and was committed."""

    def check(host: Host, instance_id: str) -> bool:
        kinds = [e["EventType"] for e in raw_history(host, instance_id)]
        return event_type in kinds and kinds[-1] == ORCHESTRATOR_COMPLETED

    return check


def raise_when(
    ready: Callable[[Host, str], bool], name: str, value: Any
) -> Callable[[Host, str], None]:
    """A drive: raise event ``name`` once ``ready`` holds."""

    def drive(host: Host, instance_id: str) -> None:
        host.wait_for(f"{instance_id} to wait for {name}", lambda: ready(host, instance_id))
        path = f"{API}/instances/{instance_id}/raiseEvent/{name}"
        headers = {"Content-Type": "application/json"}  # ``null`` too: a body of JSON null
        reply = host.request("POST", path, body=json.dumps(value), headers=headers)
        assert reply.status == 202, (reply.status, reply.body)

    return drive


def _decision(event: Mapping[str, Any]) -> list[Any]:
    kind = event["EventType"]
    if kind == EXECUTION_COMPLETED:
        return [kind, event.get("OrchestrationStatus"), event.get("Result")]
    if kind == EVENT_SENT:  # an entity message: its id and timestamp come from the clock
        message = json.loads(event.get("Input") or "null")
        if isinstance(message, dict):
            message = {k: v for k, v in message.items() if k not in ("id", "timestamp")}
        return [kind, event.get("Name"), _normal(message)]
    return [kind, event.get("Name"), event.get("Input")]


def reduce_history(history: list[dict[str, Any]]) -> dict[str, Any]:
    """What of a history does not depend on timing (see the module docstring)."""
    kinds = [e["EventType"] for e in history]
    others = Counter(k for k in kinds if k not in (ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED))
    reasons = sorted(
        str(e.get("Reason"))
        for e in history
        if e["EventType"] in (TASK_FAILED, SUB_ORCHESTRATION_FAILED)
    )
    return {
        "decisions": [
            _decision(e) for e in history if e["EventType"] in DECISIONS | {EXECUTION_COMPLETED}
        ],
        "events": dict(sorted(others.items())),
        "failure_reasons": reasons,
    }


def _settle_race(history: dict[str, Any]) -> None:
    """Counts of task results as presence, reasons once each (``Case.racing``)."""
    for kind in (TASK_COMPLETED, TASK_FAILED):
        if kind in history["events"]:
            history["events"][kind] = 1
    history["failure_reasons"] = sorted(set(history["failure_reasons"]))


def _reply(host: Host, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    reply = host.request(method, path, **kwargs)
    body = reply.body.decode("utf-8", errors="replace").replace(host.base, "<base>")
    keep = {"content-type", "location", "set-cookie", "x-sample", "retry-after"}
    headers = sorted(
        (k.lower(), v.replace(host.base, "<base>"))
        for k, v in reply.headers.items()
        if k.lower() in keep
    )
    return {"status": reply.status, "headers": headers, "body": _json_or_text(body)}


def _json_or_text(body: str) -> Any:
    try:
        return _normal(json.loads(body))
    except ValueError:
        return body


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_EXECUTION_ID = re.compile(r"\b[0-9a-f]{32}\b")
_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^  File "([^"]+)", line \d+, in ')
APP_ROOT = "<app>"
"""What the app copy's folder is replaced with in every text (it differs per engine)."""


def _app_frames(text: str) -> str:
    """A traceback keeps the app's own frames only: the invoker's frames are the engine's."""
    kept: list[str] = []
    keep = True
    for line in text.split("\n"):
        frame = _FRAME.match(line)
        if frame is not None:
            keep = frame.group(1).startswith(APP_ROOT)
        elif not line.startswith("    "):
            keep = True
        if keep:
            kept.append(line)
    return "\n".join(kept)


def _normal(value: Any) -> Any:
    """Timestamps and generated ids differ between two runs; their presence does not."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and _TRACEBACK in value:
        return _app_frames(value)
    if isinstance(value, str) and _STAMP.match(value):
        return "<time>"
    if isinstance(value, str):  # alone, or in a URL (a starter's location and status links)
        return _EXECUTION_ID.sub("<execution id>", value)
    return value


def run_app(
    app: Path,
    engine: str,
    work: Path,
    cases: Mapping[str, Case],
    calls: Mapping[str, Call] = {},  # noqa: B006 - read only
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything observable of ``cases`` and ``calls`` on a fresh copy of ``app``."""
    root = work / engine
    app_dir = root / app.name
    shutil.copytree(app, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    markers = root / "markers"
    markers.mkdir()
    full_env = {"MARKER_DIR": str(markers), **(env or {})}
    host = launch(app_dir, root / "hub.sqlite3", args=("--worker", engine), env=full_env)
    try:
        in_worker = "Microsoft's Python worker runtime" in host.log.read_text()
        assert in_worker == (engine == RUNTIME), host.tail()  # the engine asked for runs
        ids: dict[str, str] = {}
        for name, case in cases.items():
            value = case.input(host) if callable(case.input) else case.input
            if case.start is not None:
                ids[name] = case.start(host)
            else:
                ids[name] = host.start(case.orchestrator, value, instance_id=f"diff-{name}")
        for name, case in cases.items():
            if case.drive is not None:
                case.drive(host, ids[name])
        result: dict[str, Any] = {}
        for name, case in cases.items():
            status = host.wait(ids[name], timeout=60)
            result[name] = {
                "runtimeStatus": status["runtimeStatus"],
                "output": status["output"],
                "customStatus": status["customStatus"],
                "history": reduce_history(raw_history(host, ids[name])),
            }
            if case.racing:
                _settle_race(result[name]["history"])
            if not case.ordered:
                decisions = result[name]["history"]["decisions"]
                decisions.sort(key=json.dumps)
            if case.entity is not None:
                result[name]["entity"] = _reply(host, "GET", f"{API}/entities/{case.entity}")
        for name, call in calls.items():
            result[f"http {name}"] = _reply(
                host, call.method, call.path, body=call.body, headers=call.headers
            )
        text = json.dumps(result).replace(host.base, "<base>").replace(str(root), APP_ROOT)
        return dict(_normal(json.loads(text)))
    finally:
        host.stop()


def engine_metadata(
    app_dir: Path, engine: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """How ``engine`` indexes ``app_dir`` (see ``apps/engine_metadata.py``), in a fresh process
    (with ``env`` added to the environment: settings the app reads when imported)."""
    done = subprocess.run(
        [sys.executable, str(METADATA_SCRIPT), engine],
        cwd=app_dir,
        env={**os.environ, **env} if env else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def assert_same_metadata(app_dir: Path) -> dict[str, Any]:
    """Both engines index ``app_dir`` alike; returns the common metadata."""
    ours, theirs = (engine_metadata(app_dir, engine) for engine in ENGINES)
    assert "functions" in theirs, theirs
    assert ours == theirs
    return ours


def assert_same_runs(
    app_dir: Path,
    work: Path,
    cases: Mapping[str, Case],
    calls: Mapping[str, Call],
    *,
    documented: Mapping[tuple[str, str], Callable[[Any], Any]] | None = None,
    documented_both: Mapping[tuple[str, str], Callable[[Any], Any]] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Both engines run ``cases`` and ``calls`` alike; returns the common result.

    ``documented`` maps (app folder name, case or ``http <call>``) to a function that turns
    the worker's result into ours: a deliberate difference (docs/compatibility.md).
    ``documented_both`` maps to a function that reduces both results to what they share.
    """
    ours, theirs = (run_app(app_dir, engine, work, cases, calls, env=env) for engine in ENGINES)
    assert set(ours) == set(theirs)
    for name in ours:  # one case at a time: a difference names its case
        mapped = (documented or {}).get((app_dir.name, name))
        if mapped is not None:
            theirs[name] = mapped(theirs[name])
        reduced = (documented_both or {}).get((app_dir.name, name))
        if reduced is not None:
            ours[name], theirs[name] = reduced(ours[name]), reduced(theirs[name])
        assert ours[name] == theirs[name], _diff(name, ours[name], theirs[name])
    return ours


def _diff(name: str, ours: Any, theirs: Any) -> str:
    """A readable difference: the two results as indented JSON, line by line."""
    lines = difflib.unified_diff(
        json.dumps(ours, indent=1, sort_keys=True).splitlines(),
        json.dumps(theirs, indent=1, sort_keys=True).splitlines(),
        BUILTIN,
        RUNTIME,
        lineterm="",
    )
    return f"{name}:\n" + "\n".join(lines)
