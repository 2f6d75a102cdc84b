"""Sequence ids: the engine must number work exactly as each SDK does, in tricky shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from durable_functions.host import management

Harness = Any  # the ``harness`` fixture of conftest.py
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _flaky_app(harness: Harness, failures: int) -> None:
    left = {"n": failures}

    @harness.app.activity("flaky")
    def flaky(value: Any) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            raise RuntimeError("transient")
        return value

    @harness.app.activity("echo")
    def echo(value: Any) -> Any:
        return value


def test_a_retry_inside_a_fan_out_with_plain_calls_completes(harness: Harness) -> None:
    _flaky_app(harness, failures=2)
    sdk = harness.app.sdk

    @harness.app.orchestrator("mixed")
    def mixed(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=5
        )
        results = yield ctx.task_all(
            [
                ctx.call_activity("echo", 1),
                ctx.call_activity_with_retry("flaky", options, 2),
                ctx.call_activity("echo", 3),
            ]
        )
        after = yield ctx.call_activity("echo", 4)
        return [*results, after]

    instance_id = harness.start("mixed")
    harness.run()

    assert harness.output(instance_id) == [1, 2, 3, 4]


def test_work_after_a_lost_race_keeps_its_numbering(harness: Harness) -> None:
    _flaky_app(harness, failures=0)

    @harness.app.orchestrator("race_then_work")
    def race_then_work(ctx: Any) -> Any:
        timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
        winner = yield ctx.task_any([ctx.call_activity("echo", "fast"), timer])
        timer.cancel()
        first = winner.result
        second = yield ctx.call_activity("echo", "next")
        third = yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
        return [first, second, third]

    instance_id = harness.start("race_then_work")
    harness.run()

    assert harness.output(instance_id) == ["fast", "next", None]


def test_signals_between_calls_take_their_ids_at_call_time(harness: Harness) -> None:
    _flaky_app(harness, failures=0)
    sdk = harness.app.sdk

    @harness.app.entity("Tally")
    def tally(ctx: Any) -> None:
        ctx.set_state(ctx.get_state(lambda: 0) + 1)
        ctx.set_result(ctx.get_state())

    @harness.app.orchestrator("signals")
    def signals(ctx: Any) -> Any:
        entity = sdk.EntityId("Tally", "t")
        ctx.signal_entity(entity, "inc")
        a = yield ctx.call_activity("echo", "a")
        ctx.signal_entity(entity, "inc")
        ctx.signal_entity(entity, "inc")
        count = yield ctx.call_entity(entity, "inc")
        b = yield ctx.call_activity("echo", "b")
        return [a, count, b]

    instance_id = harness.start("signals")
    harness.run()

    assert harness.output(instance_id) == ["a", 4, "b"]


def test_two_retried_calls_failing_together_each_retry(harness: Harness) -> None:
    _flaky_app(harness, failures=2)
    sdk = harness.app.sdk

    @harness.app.orchestrator("two_retries")
    def two_retries(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3
        )
        results = yield ctx.task_all(
            [
                ctx.call_activity_with_retry("flaky", options, "x"),
                ctx.call_activity_with_retry("flaky", options, "y"),
            ]
        )
        tail = yield ctx.call_activity("echo", "z")
        return [*results, tail]

    instance_id = harness.start("two_retries")
    harness.run()

    assert harness.output(instance_id) == ["x", "y", "z"]


def test_many_events_raised_early_reach_sequential_waits(harness: Harness) -> None:
    @harness.app.orchestrator("collect")
    def collect(ctx: Any) -> Any:
        values = []
        for _ in range(3):
            values.append((yield ctx.wait_for_external_event("Item")))
        return values

    instance_id = harness.start("collect")
    harness.run()
    for n in range(3):
        management.raise_event(harness.backend, instance_id, "Item", json.dumps(n), now=START)
        harness.run()

    assert harness.output(instance_id) == [0, 1, 2]


def test_sub_orchestrations_fanned_out_with_retry_all_complete(harness: Harness) -> None:
    sdk = harness.app.sdk
    failures = {"left": 1}

    @harness.app.orchestrator("child")
    def child(ctx: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("once")
        return ctx.get_input()
        yield  # pragma: no cover

    @harness.app.orchestrator("parent")
    def parent(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3
        )
        results = yield ctx.task_all(
            [ctx.call_sub_orchestrator_with_retry("child", options, n) for n in range(3)]
        )
        return results

    instance_id = harness.start("parent")
    harness.run()

    assert harness.output(instance_id) == [0, 1, 2]
