"""Management operations on live instances: terminate, suspend/resume, rewind, restart, purge."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from durable_functions.errors import (
    InstanceExistsError,
    InstanceStateError,
    OrchestrationNotFoundError,
)
from durable_functions.host import management
from durable_functions.host.engine import EventType

Harness = Any  # the ``harness`` fixture of conftest.py
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _waiter(harness: Harness) -> None:
    @harness.app.orchestrator("waiter")
    def waiter(ctx: Any) -> Any:
        value = yield ctx.wait_for_external_event("Go")
        return value


def test_terminate_ends_a_running_instance_with_the_reason_as_output(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()

    management.terminate(harness.backend, instance_id, "enough", now=START)
    harness.run()

    assert harness.status(instance_id) == "Terminated"
    assert harness.output(instance_id) == "enough"
    kinds = [e["EventType"] for e in harness.backend.get_history(instance_id)]
    assert EventType.ExecutionTerminated in kinds


def test_terminate_reports_an_instance_that_already_finished(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()
    management.terminate(harness.backend, instance_id, "first", now=START)
    harness.run()

    with pytest.raises(InstanceStateError, match="is already Terminated"):
        management.terminate(harness.backend, instance_id, "second", now=START)


def test_events_wait_while_suspended_and_are_delivered_on_resume(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()

    management.suspend(harness.backend, instance_id, "pause", now=START)
    harness.run()
    management.raise_event(harness.backend, instance_id, "Go", json.dumps("later"), now=START)
    harness.run()
    assert harness.status(instance_id) == "Suspended"

    management.resume(harness.backend, instance_id, "continue", now=START)
    harness.run()

    assert harness.status(instance_id) == "Completed"
    assert harness.output(instance_id) == "later"


def test_a_suspended_instance_can_be_terminated(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()
    management.suspend(harness.backend, instance_id, None, now=START)
    harness.run()

    management.terminate(harness.backend, instance_id, "stop", now=START)
    harness.run()

    assert harness.status(instance_id) == "Terminated"


def test_rewind_retries_the_failed_activity_and_completes(harness: Harness) -> None:
    app = harness.app
    broken = {"now": True}

    @app.activity("step")
    def step(n: int) -> int:
        if broken["now"] and n == 2:
            raise RuntimeError("disk full")
        return n

    @app.orchestrator("steps")
    def steps(ctx: Any) -> Any:
        total = 0
        for n in (1, 2, 3):
            total += yield ctx.call_activity("step", n)
        return total

    instance_id = harness.start("steps")
    harness.run()
    assert harness.status(instance_id) == "Failed"

    broken["now"] = False
    management.rewind(harness.backend, instance_id, "fixed", now=START, new_id=harness.new_id)
    harness.run()

    assert harness.status(instance_id) == "Completed"
    assert harness.output(instance_id) == 6
    assert [c for c in app.calls if c[0] == "step"] == [
        ("step", 1),
        ("step", 2),
        ("step", 2),
        ("step", 3),
    ]


def test_rewind_refuses_an_instance_that_did_not_fail(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()

    with pytest.raises(InstanceStateError):
        management.rewind(harness.backend, instance_id, "why", now=START)


def test_rewind_reruns_a_failed_sub_orchestration(harness: Harness) -> None:
    app = harness.app
    broken = {"now": True}

    @app.orchestrator("child")
    def child(ctx: Any) -> Any:
        if broken["now"]:
            raise RuntimeError("child broke")
        return "child ok"
        yield  # pragma: no cover

    @app.orchestrator("parent")
    def parent(ctx: Any) -> Any:
        result = yield ctx.call_sub_orchestrator("child", None, "the-child")
        return result

    instance_id = harness.start("parent")
    harness.run()
    assert harness.status(instance_id) == "Failed"
    assert harness.status("the-child") == "Failed"

    broken["now"] = False
    management.rewind(harness.backend, instance_id, "fixed", now=START, new_id=harness.new_id)
    harness.run()

    assert harness.status("the-child") == "Completed"
    assert harness.output(instance_id) == "child ok"


def test_restart_with_a_new_id_runs_again_with_the_same_input(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("double")
    def double(ctx: Any) -> Any:
        return ctx.get_input() * 2
        yield  # pragma: no cover

    first = harness.start("double", 21)
    harness.run()

    second = management.restart(harness.backend, first, now=START, new_id=harness.new_id)
    harness.run()

    assert second != first
    assert harness.output(second) == 42


def test_restart_with_the_same_id_replaces_the_finished_instance(harness: Harness) -> None:
    app = harness.app
    runs: list[int] = []

    @app.activity("count")
    def count(_: Any) -> int:
        runs.append(1)
        return len(runs)

    @app.orchestrator("counting")
    def counting(ctx: Any) -> Any:
        value = yield ctx.call_activity("count", None)
        return value

    instance_id = harness.start("counting", instance_id="same")
    harness.run()

    restarted = management.restart(
        harness.backend, "same", now=START, new_instance_id=False, new_id=harness.new_id
    )
    harness.run()

    assert restarted == instance_id == "same"
    assert harness.output("same") == 2


def test_restart_refuses_to_replace_a_running_instance(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()

    with pytest.raises(InstanceExistsError):
        management.restart(harness.backend, instance_id, now=START, new_instance_id=False)


def test_purge_forgets_the_instance_and_its_history(harness: Harness) -> None:
    _waiter(harness)
    instance_id = harness.start("waiter")
    harness.run()

    assert management.purge(harness.backend, instance_id) == 1

    assert harness.backend.get_instance(instance_id) is None
    assert harness.backend.get_history(instance_id) == []
    assert management.purge(harness.backend, instance_id) == 0


def test_raising_an_event_to_an_unknown_instance_is_an_error(harness: Harness) -> None:
    with pytest.raises(OrchestrationNotFoundError):
        management.raise_event(harness.backend, "nobody", "Go", None, now=START)


def test_starting_an_unknown_orchestrator_fails_the_instance_naming_the_known_ones(
    harness: Harness,
) -> None:
    _waiter(harness)
    instance_id = harness.start("no_such_thing")
    harness.run()

    assert harness.status(instance_id) == "Failed"
    assert "waiter" in harness.output(instance_id)


def test_a_signal_from_a_client_updates_the_entity_state(harness: Harness) -> None:
    @harness.app.entity("Counter")
    def counter(ctx: Any) -> None:
        ctx.set_state(ctx.get_state(lambda: 0) + ctx.get_input())

    management.signal_entity(
        harness.backend, "@counter@a", "add", json.dumps("4"), now=START, new_id=harness.new_id
    )
    harness.run()

    state = harness.backend.get_entity("@counter@a")
    assert state is not None and json.loads(state.state or "") == 4


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"hello": "world"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hello"
    finally:
        server.shutdown()
        server.server_close()


def test_call_http_returns_status_headers_and_content(harness: Harness, http_url: str) -> None:
    @harness.app.orchestrator("http")
    def http(ctx: Any) -> Any:
        response = yield ctx.call_http("GET", http_url)
        return [response["statusCode"], json.loads(response["content"])]

    instance_id = harness.start("http")
    harness.run()

    assert harness.output(instance_id) == [200, {"hello": "world"}]


def test_run_until_idle_stops_at_until_without_firing_later_timers(harness: Harness) -> None:
    @harness.app.orchestrator("sleeper")
    def sleeper(ctx: Any) -> Any:
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=2))
        return "woke"

    instance_id = harness.start("sleeper")
    harness.run(until=START + timedelta(days=1))

    assert harness.status(instance_id) == "Running"
    assert harness.clock.now() == START + timedelta(days=1)


def test_rewind_after_exhausted_retries_starts_the_retries_afresh(harness: Harness) -> None:
    app = harness.app
    sdk = app.sdk
    healthy = {"now": False}
    calls: list[bool] = []

    @app.activity("flaky")
    def flaky(_: Any) -> str:
        calls.append(healthy["now"])
        if not healthy["now"]:
            raise RuntimeError("down")
        return "up"

    @app.orchestrator("retrying")
    def retrying(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2
        )
        result = yield ctx.call_activity_with_retry("flaky", options, None)
        return result

    instance_id = harness.start("retrying")
    harness.run()
    assert harness.status(instance_id) == "Failed"

    healthy["now"] = True
    management.rewind(harness.backend, instance_id, "fixed", now=harness.clock.now())
    harness.run()

    assert harness.output(instance_id) == "up"
    assert calls == [False, False, True]
