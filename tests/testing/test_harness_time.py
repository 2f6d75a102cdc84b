"""Timers fire in virtual time: long waits complete at once while the orchestration clock moves."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

import durable_functions as df
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    days = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(days=days))
    return (context.current_utc_datetime - started).total_seconds() / 86400


@pytest.mark.parametrize("days", [pytest.param(7, id="7-day"), pytest.param(30, id="30-day")])
def test_a_long_timer_completes_at_once_while_the_clock_advances(days: int) -> None:
    env = OrchestrationTestEnv(app)
    began = time.perf_counter()

    result = env.run("sleeper", input=days)

    assert time.perf_counter() - began < 1.0
    assert result.output == days
    assert env.now - result.created_time == timedelta(days=days)


def test_an_orchestration_waits_on_its_timer_until_virtual_time_reaches_it() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start("sleeper", 7, run=True)

    env.advance(timedelta(days=6))
    before = env.result(instance_id).runtime_status
    env.advance(timedelta(days=1))

    assert before == df.OrchestrationRuntimeStatus.Running
    assert env.result(instance_id).output == 7


def test_the_environment_starts_at_a_chosen_virtual_time() -> None:
    from datetime import datetime, timezone

    start = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)
    env = OrchestrationTestEnv(app, start=start)

    result = env.run("sleeper", input=1)

    assert result.created_time == start
    assert env.now == start + timedelta(days=1)


def test_run_stops_at_its_timeout_and_reports_the_instance_running() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("sleeper", input=30, timeout=timedelta(days=2))

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Running
