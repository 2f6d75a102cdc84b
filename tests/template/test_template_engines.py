"""The generated app, every variant, indexed and run alike by our loader and Microsoft's worker.

The comparison kit lives with the host tests (``tests/host/engine_kit.py``). Every
combination of the answers that change the app's code (entity or not, auth level,
backend) is indexed by both engines; the entity and entity-less apps also run their
samples and HTTP API on the host with each engine (see ``tests/host/test_worker_engines``).
"""

from __future__ import annotations

import itertools
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from template_kit import AUTH_LEVELS, BACKENDS, ROOT, Render

sys.path.insert(0, str(ROOT / "tests" / "host"))  # the host tests' kit and apps

from engine_kit import (  # noqa: E402
    TIMER_CREATED,
    Call,
    Case,
    assert_same_metadata,
    assert_same_runs,
    raise_when,
    runtime_missing,
)

MISSING = runtime_missing()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(MISSING is not None, reason=str(MISSING)),
]
VARIANTS = list(itertools.product((True, False), AUTH_LEVELS, BACKENDS))


def _copy(render: Render, tmp_path: Path, **answers: Any) -> Path:
    app = tmp_path / "app"
    shutil.copytree(render("cookiecutter", **answers), app)
    return app


@pytest.mark.parametrize(("entity", "auth", "backend"), VARIANTS)
def test_every_variant_is_indexed_alike(
    render: Render, tmp_path: Path, entity: bool, auth: str, backend: str
) -> None:
    app = _copy(
        render, tmp_path, include_entity=entity, http_auth_level=auth, durable_backend=backend
    )
    metadata = assert_same_metadata(app)
    kinds = [fn["kind"] for fn in metadata["functions"]]
    assert ("entity" in kinds) == entity
    assert {fn["auth_level"] for fn in metadata["functions"] if fn["kind"] == "http"} == {auth}


def _cases(entity: bool) -> dict[str, Case]:
    cases = {
        "hello_chain": Case("hello_chain"),
        "cities": Case("hello_chain", ["Oslo", "Lima"]),
        "fan_out_fan_in": Case("fan_out_fan_in", [1, 2, 3]),
        "approved": Case(
            "approval_workflow",
            {"timeout_seconds": 300},
            drive=raise_when(_waits_for_approval, "Approval", True),
        ),
        "timed_out": Case("approval_workflow", {"timeout_seconds": 1}),
        "job_monitor": Case(
            "job_monitor", {"job_id": "e2e", "interval_seconds": 1, "ready_after": 2}
        ),
    }
    if entity:
        cases["counter"] = Case("counter_workflow", {"key": "wf", "amount": 5}, entity="counter/wf")
    return cases


def _waits_for_approval(host: Any, instance_id: str) -> bool:
    status = host.status(instance_id).json()
    return status.get("customStatus") is not None and _committed_timer(host, instance_id)


def _committed_timer(host: Any, instance_id: str) -> bool:
    reply = host.request("GET", f"/runtime/webhooks/durabletask/instances/{instance_id}/history/raw")
    kinds = [e["EventType"] for e in reply.json()["history"]]
    return TIMER_CREATED in kinds and kinds[-1] == 13


def _calls(entity: bool) -> dict[str, Call]:
    calls = {
        "unknown": Call("POST", "/api/orchestrators/not_there"),
        "bad input": Call("POST", "/api/orchestrators/hello_chain", b'{"no": 1}'),
        "not json": Call("POST", "/api/orchestrators/hello_chain", b"[1,"),
        "nan": Call("POST", "/api/orchestrators/fan_out_fan_in", b"[NaN]"),
    }
    if entity:
        calls["counter unknown"] = Call("GET", "/api/counters/nobody")
        calls["counter add"] = Call("POST", "/api/counters/http/add", b"2")
        calls["counter add bad"] = Call("POST", "/api/counters/http/add", b'"x"')
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("entity", [True, False])
def test_the_samples_run_alike(render: Render, tmp_path: Path, entity: bool) -> None:
    app = _copy(render, tmp_path / "render", include_entity=entity)
    result = assert_same_runs(app, tmp_path, _cases(entity), _calls(entity))
    assert result["hello_chain"]["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert result["approved"]["output"] == "approved"
    assert result["http unknown"]["status"] == 404
    if entity:
        assert result["counter"]["entity"]["body"] == 5
