"""Real orchestrator code, run on the MemoryBackend in virtual time, with both SDKs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

from durable_functions.host import management
from durable_functions.host.engine import EventType

Harness = Any  # the ``harness`` fixture of conftest.py
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _types(history: list[dict[str, Any]]) -> list[str]:
    return [EventType(e["EventType"]).name for e in history]


def test_a_chain_of_activities_completes_with_their_results(harness: Harness) -> None:
    app = harness.app

    @app.activity("hello")
    def hello(city: str) -> str:
        return f"Hello {city}!"

    @app.orchestrator("chain")
    def chain(ctx: Any) -> Any:
        first = yield ctx.call_activity("hello", "Tokyo")
        second = yield ctx.call_activity("hello", "Seattle")
        return [first, second]

    instance_id = harness.start("chain")
    harness.run()

    assert harness.status(instance_id) == "Completed"
    assert harness.output(instance_id) == ["Hello Tokyo!", "Hello Seattle!"]


def test_the_orchestration_input_reaches_get_input(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("echo")
    def echo(ctx: Any) -> Any:
        return ctx.get_input()
        yield  # pragma: no cover - makes this a generator

    instance_id = harness.start("echo", {"city": "Tokyo"})
    harness.run()

    assert harness.output(instance_id) == {"city": "Tokyo"}


def test_fan_out_fan_in_collects_every_result_in_order(harness: Harness) -> None:
    app = harness.app

    @app.activity("square")
    def square(n: int) -> int:
        return n * n

    @app.orchestrator("fan")
    def fan(ctx: Any) -> Any:
        results = yield ctx.task_all([ctx.call_activity("square", n) for n in range(5)])
        return sum(results)

    instance_id = harness.start("fan")
    harness.run()

    assert harness.output(instance_id) == 30
    scheduled = [e for e in harness.backend.get_history(instance_id) if e["EventType"] == 4]
    assert [e["EventId"] for e in scheduled] == [0, 1, 2, 3, 4]


def test_a_retried_activity_succeeds_after_two_failures(harness: Harness, sdk: ModuleType) -> None:
    app = harness.app
    attempts: list[int] = []

    @app.activity("flaky")
    def flaky(n: int) -> int:
        attempts.append(n)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return n + 1

    @app.orchestrator("retry")
    def retry(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3
        )
        value = yield ctx.call_activity_with_retry("flaky", options, 41)
        return value

    instance_id = harness.start("retry")
    harness.run()

    assert harness.output(instance_id) == 42
    assert len(attempts) == 3
    history = harness.backend.get_history(instance_id)
    ids = [(EventType(e["EventType"]).name, e["EventId"]) for e in history if e["EventId"] >= 0]
    assert ids[:5] == [
        ("TaskScheduled", 0),
        ("TimerCreated", 1),
        ("TaskScheduled", 2),
        ("TimerCreated", 3),
        ("TaskScheduled", 4),
    ]


def test_retries_wait_the_retry_interval_in_virtual_time(harness: Harness, sdk: ModuleType) -> None:
    app = harness.app

    @app.activity("fails")
    def fails(_: Any) -> None:
        raise RuntimeError("down")

    @app.orchestrator("retry")
    def retry(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=3
        )
        try:
            yield ctx.call_activity_with_retry("fails", options, None)
        except Exception:
            return ctx.current_utc_datetime.isoformat()

    instance_id = harness.start("retry")
    harness.run()

    assert harness.clock.now() - START == timedelta(minutes=2)
    assert harness.output(instance_id).startswith("2024-05-01T10:02:00")


def test_an_exhausted_retry_fails_the_orchestration_with_the_last_error(
    harness: Harness, sdk: ModuleType
) -> None:
    app = harness.app

    @app.activity("fails")
    def fails(_: Any) -> None:
        raise RuntimeError("still down")

    @app.orchestrator("retry")
    def retry(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2
        )
        yield ctx.call_activity_with_retry("fails", options, None)

    instance_id = harness.start("retry")
    harness.run()

    assert harness.status(instance_id) == "Failed"
    assert "Activity function 'fails' failed: RuntimeError: still down" in harness.output(
        instance_id
    )


def test_an_activity_failure_surfaces_as_an_exception_with_reason_and_details(
    harness: Harness,
) -> None:
    app = harness.app

    @app.activity("boom")
    def boom(_: Any) -> None:
        raise ValueError("kaputt")

    @app.orchestrator("catcher")
    def catcher(ctx: Any) -> Any:
        try:
            yield ctx.call_activity("boom", None)
        except Exception as exc:
            return str(exc)

    instance_id = harness.start("catcher")
    harness.run()

    message = harness.output(instance_id)
    assert message.startswith("Activity function 'boom' failed: ValueError: kaputt \n ")
    assert "Traceback" in message


def test_an_event_raised_while_waiting_resumes_the_orchestration(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("approval")
    def approval(ctx: Any) -> Any:
        decision = yield ctx.wait_for_external_event("Approval")
        return decision

    instance_id = harness.start("approval")
    harness.run()
    assert harness.status(instance_id) == "Running"

    management.raise_event(
        harness.backend, instance_id, "Approval", json.dumps("yes"), now=harness.clock.now()
    )
    harness.run()

    assert harness.output(instance_id) == "yes"


def test_an_event_raised_before_the_wait_is_kept_until_the_wait(harness: Harness) -> None:
    app = harness.app

    @app.activity("slow")
    def slow(_: Any) -> str:
        return "done"

    @app.orchestrator("late_wait")
    def late_wait(ctx: Any) -> Any:
        first = yield ctx.call_activity("slow", None)
        second = yield ctx.wait_for_external_event("Go")
        return [first, second]

    instance_id = harness.start("late_wait")
    management.raise_event(
        harness.backend, instance_id, "Go", json.dumps(7), now=harness.clock.now()
    )
    harness.run()

    assert harness.output(instance_id) == ["done", 7]


def test_an_event_scheduled_at_a_virtual_time_arrives_then(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("wait_clock")
    def wait_clock(ctx: Any) -> Any:
        yield ctx.wait_for_external_event("Tick")
        return ctx.current_utc_datetime.isoformat()

    instance_id = harness.start("wait_clock")
    at = START + timedelta(hours=3)
    management.schedule_event(harness.backend, instance_id, "Tick", "null", at=at)
    harness.run()

    assert harness.output(instance_id).startswith("2024-05-01T13:00:00")


def test_a_seven_day_timer_completes_at_once_in_virtual_time(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("sleeper")
    def sleeper(ctx: Any) -> Any:
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=7))
        return ctx.current_utc_datetime.isoformat()

    instance_id = harness.start("sleeper")
    harness.run()

    assert harness.output(instance_id).startswith("2024-05-08T10:00:00")
    assert harness.clock.now() == START + timedelta(days=7)


def test_a_timer_that_lost_a_race_is_cancelled_and_does_not_hold_the_clock(
    harness: Harness,
) -> None:
    app = harness.app

    @app.orchestrator("race")
    def race(ctx: Any) -> Any:
        timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(days=1))
        event = ctx.wait_for_external_event("Answer")
        winner = yield ctx.task_any([event, timer])
        if winner == event:
            timer.cancel()
            return winner.result
        return "timeout"

    instance_id = harness.start("race")
    management.raise_event(harness.backend, instance_id, "Answer", json.dumps(1), now=START)
    harness.run()

    assert harness.output(instance_id) == 1
    assert harness.clock.now() == START


def test_a_sub_orchestration_result_returns_to_its_parent(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("child")
    def child(ctx: Any) -> Any:
        return ctx.get_input() * 2
        yield  # pragma: no cover

    @app.orchestrator("parent")
    def parent(ctx: Any) -> Any:
        a = yield ctx.call_sub_orchestrator("child", 5)
        b = yield ctx.call_sub_orchestrator("child", 6, "fixed-child")
        return [a, b]

    instance_id = harness.start("parent")
    harness.run()

    assert harness.output(instance_id) == [10, 12]
    child_state = harness.backend.get_instance("fixed-child")
    assert child_state is not None and child_state.parent is not None
    assert child_state.parent.instance_id == instance_id
    assert harness.backend.get_instance(f"{instance_id}:{0:016X}") is not None


def test_a_failing_sub_orchestration_raises_in_its_parent(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("child")
    def child(ctx: Any) -> Any:
        raise RuntimeError("child broke")
        yield  # pragma: no cover

    @app.orchestrator("parent")
    def parent(ctx: Any) -> Any:
        try:
            yield ctx.call_sub_orchestrator("child", None)
        except Exception as exc:
            return str(exc)

    instance_id = harness.start("parent")
    harness.run()

    assert harness.output(instance_id).startswith(
        "Orchestrator function 'child' failed: child broke"
    )


def test_an_orchestrator_that_raises_ends_failed_with_its_error(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("broken")
    def broken(ctx: Any) -> Any:
        raise ValueError("boom")
        yield  # pragma: no cover

    instance_id = harness.start("broken")
    harness.run()

    assert harness.status(instance_id) == "Failed"
    assert harness.output(instance_id) == "Orchestrator function 'broken' failed: boom"


def test_changed_orchestrator_code_fails_with_a_non_determinism_error(harness: Harness) -> None:
    app = harness.app
    version = {"activity": "first"}

    @app.activity("first")
    def first(_: Any) -> str:
        version["activity"] = "second"  # the code "changes" while the instance runs
        return "one"

    @app.activity("second")
    def second(_: Any) -> str:
        return "two"

    @app.orchestrator("shifty")
    def shifty(ctx: Any) -> Any:
        result = yield ctx.call_activity(version["activity"], None)
        return result

    instance_id = harness.start("shifty")
    harness.run()

    assert harness.status(instance_id) == "Failed"
    output = harness.output(instance_id)
    assert "Non-determinis" in output or "non-determinis" in output
    assert "first" in output and "second" in output


def test_custom_status_is_kept_on_the_instance(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("status")
    def status(ctx: Any) -> Any:
        ctx.set_custom_status({"stage": "waiting"})
        yield ctx.wait_for_external_event("Go")
        return None

    instance_id = harness.start("status")
    harness.run()

    instance = harness.backend.get_instance(instance_id)
    assert instance is not None and instance.custom_status is not None
    assert json.loads(instance.custom_status) == {"stage": "waiting"}


def test_continue_as_new_restarts_with_the_new_input_until_done(harness: Harness) -> None:
    app = harness.app

    @app.orchestrator("counter")
    def counter(ctx: Any) -> Any:
        n = ctx.get_input()
        if n < 3:
            ctx.continue_as_new(n + 1)
            return None
        return n
        yield  # pragma: no cover

    instance_id = harness.start("counter", 0)
    harness.run()

    assert harness.status(instance_id) == "Completed"
    assert harness.output(instance_id) == 3
    history = harness.backend.get_history(instance_id)
    assert _types(history).count("ExecutionStarted") == 1


def test_continue_as_new_keeps_events_that_arrived_but_were_not_processed(
    harness: Harness,
) -> None:
    app = harness.app

    @app.activity("work")
    def work(_: Any) -> str:
        return "ok"

    @app.orchestrator("loop")
    def loop(ctx: Any) -> Any:
        generation = ctx.get_input()
        if generation == 0:
            yield ctx.call_activity("work", None)
            ctx.continue_as_new(1)
            return None
        value = yield ctx.wait_for_external_event("Later")
        return value

    instance_id = harness.start("loop", 0)
    management.raise_event(harness.backend, instance_id, "Later", json.dumps("kept"), now=START)
    harness.run()

    assert harness.output(instance_id) == "kept"


def test_an_entity_called_from_an_orchestration_returns_its_result(harness: Harness) -> None:
    app = harness.app
    sdk = app.sdk

    @app.entity("Counter")
    def counter(ctx: Any) -> None:
        value = ctx.get_state(lambda: 0)
        if ctx.operation_name == "add":
            value += ctx.get_input()
            ctx.set_state(value)
        ctx.set_result(value)

    @app.orchestrator("use_counter")
    def use_counter(ctx: Any) -> Any:
        entity = sdk.EntityId("Counter", "k1")
        ctx.signal_entity(entity, "add", 5)
        total = yield ctx.call_entity(entity, "add", 3)
        return total

    instance_id = harness.start("use_counter")
    harness.run()

    assert harness.output(instance_id) == 8
    state = harness.backend.get_entity("@counter@k1")
    assert state is not None and state.exists and json.loads(state.state or "") == 8


def test_an_entity_error_surfaces_in_the_calling_orchestration(harness: Harness) -> None:
    app = harness.app
    sdk = app.sdk

    @app.entity("Picky")
    def picky(ctx: Any) -> None:
        raise ValueError("no such operation")

    @app.orchestrator("call_picky")
    def call_picky(ctx: Any) -> Any:
        try:
            yield ctx.call_entity(sdk.EntityId("Picky", "a"), "anything", None)
        except Exception as exc:
            return str(exc)
        return "no error"

    instance_id = harness.start("call_picky")
    harness.run()

    assert "no such operation" in harness.output(instance_id)


def test_operations_for_one_entity_are_batched_and_applied_in_order(harness: Harness) -> None:
    app = harness.app
    sdk = app.sdk
    batches: list[int] = []

    def log(ctx: Any) -> None:
        items = ctx.get_state(list)
        items.append(ctx.get_input())
        ctx.set_state(items)
        ctx.set_result(items)

    @app.orchestrator("writer")
    def writer(ctx: Any) -> Any:
        entity = sdk.EntityId("Log", "one")
        for n in range(3):
            ctx.signal_entity(entity, "append", n)
        items = yield ctx.call_entity(entity, "append", 3)
        return items

    app.entity("Log")(log)
    original = app.entities["Log"]

    def counting(payload: str) -> str:
        batches.append(len(json.loads(payload)["batch"]))
        return original(payload)

    app.entities["Log"] = counting
    instance_id = harness.start("writer")
    harness.run()

    assert harness.output(instance_id) == [0, 1, 2, 3]
    assert batches == [4]
