"""Code that no longer matches its recorded history fails with NonDeterminismError."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    event_sent,
    orchestration_payload_json,
    replay_history,
    sub_orchestration_completed,
    sub_orchestration_created,
    task_scheduled,
)

import durable_functions as df
from durable_functions.errors import NonDeterminismError, OrchestratorExecutionError
from durable_functions.replay import Orchestrator

RECORDED_A = (
    HistoryBuilder()
    .schedule_activity(0, "a")
    .new_episode()
    .complete_activity(0, 1)
    .schedule_activity(1, "next")
    .new_episode()
    .complete_activity(1, 2)
    .events
)
"""History of ``a`` then ``next``, both completed."""


def test_matching_code_replays_without_non_determinism():
    def orch(ctx):
        yield ctx.call_activity("a")
        return (yield ctx.call_activity("next"))

    result = replay_history(orch, RECORDED_A)
    assert (result.non_determinism, result.output) == (None, 2)


def test_activity_name_matches_case_insensitively():
    def orch(ctx):
        yield ctx.call_activity("A")
        yield ctx.call_activity("Next")

    assert replay_history(orch, RECORDED_A).non_determinism is None


def test_different_activity_name_is_non_determinism():
    def orch(ctx):
        yield ctx.call_activity("b")
        yield ctx.call_activity("next")

    error = replay_history(orch, RECORDED_A).non_determinism
    assert isinstance(error, NonDeterminismError)
    assert error.event_id == 0
    assert error.recorded == "activity 'a' (TASK_SCHEDULED)"
    assert error.actual == "activity 'b'"


def test_timer_where_history_recorded_an_activity_is_non_determinism():
    def orch(ctx):
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=1))

    error = replay_history(orch, RECORDED_A).non_determinism
    assert (error.event_id, error.actual) == (0, "a timer")


def test_different_sub_orchestration_name_is_non_determinism():
    def orch(ctx):
        return (yield ctx.call_sub_orchestrator("other_child"))

    history = (
        HistoryBuilder()
        .add(sub_orchestration_created(0, "child"))
        .new_episode()
        .add(sub_orchestration_completed(0, 1))
        .events
    )
    error = replay_history(orch, history).non_determinism
    assert error.recorded == "sub-orchestration 'child' (SUB_ORCHESTRATION_INSTANCE_CREATED)"
    assert error.actual == "sub-orchestration 'other_child'"


def test_different_entity_operation_is_non_determinism():
    def orch(ctx):
        yield ctx.call_entity(df.EntityId("Counter", "k1"), "reset")

    history = (
        HistoryBuilder().add(event_sent(0, "@counter@k1", "add", "req-1")).new_episode().events
    )
    error = replay_history(orch, history).non_determinism
    assert "'add'" in error.recorded
    assert "'reset'" in error.actual


def test_signal_to_a_different_entity_is_non_determinism():
    def orch(ctx):
        ctx.signal_entity(df.EntityId("Counter", "other"), "add")
        yield ctx.call_activity("a")

    history = (
        HistoryBuilder()
        .add(event_sent(0, "@counter@k1", "add", "req-1", signal=True))
        .add(task_scheduled(1, "a"))
        .new_episode()
        .events
    )
    error = replay_history(orch, history).non_determinism
    assert (error.event_id, "@counter@other" in error.actual) == (0, True)


def test_task_recorded_in_the_past_but_never_scheduled_is_a_missing_task():
    def orch(ctx):
        return (yield ctx.wait_for_external_event("go"))

    history = HistoryBuilder().schedule_activity(0, "a").new_episode().events
    error = replay_history(orch, history).non_determinism
    assert error.event_id == 0
    assert error.recorded == "activity 'a' (TASK_SCHEDULED)"
    assert "no longer schedules" in error.actual


def test_returning_before_recorded_tasks_is_a_missing_task():
    def orch(ctx):
        yield ctx.call_activity("a")
        return "early"

    result = replay_history(orch, RECORDED_A)
    error = result.non_determinism
    assert (error.event_id, error.recorded) == (1, "activity 'next' (TASK_SCHEDULED)")
    assert "output" not in json.loads(result.state_json)


def test_http_call_matches_the_hosts_built_in_http_activity():
    def orch(ctx):
        return (yield ctx.call_http("GET", "https://x.test"))

    history = (
        HistoryBuilder()
        .schedule_activity(0, "BuiltIn::HttpActivity")
        .new_episode()
        .complete_activity(0, {"statusCode": 200, "headers": {}, "content": ""})
        .events
    )
    assert replay_history(orch, history).non_determinism is None


def test_different_inputs_are_not_compared():
    def orch(ctx):
        yield ctx.call_activity("a", "changed input")
        return (yield ctx.call_activity("next"))

    assert replay_history(orch, RECORDED_A).non_determinism is None


def test_new_tasks_of_the_current_episode_are_not_checked():
    def orch(ctx):
        yield ctx.call_activity("a")
        yield ctx.call_activity("next")
        yield ctx.call_activity("brand new")

    assert replay_history(orch, RECORDED_A).non_determinism is None


def test_retry_timers_and_attempts_match_their_history():
    def orch(ctx):
        return (yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 2)))

    history = (
        HistoryBuilder()
        .schedule_activity(0, "flaky")
        .new_episode()
        .fail_activity(0)
        .create_timer(1, BASE_TIME)
        .new_episode()
        .fire_timer(1, BASE_TIME)
        .schedule_activity(2, "flaky")
        .new_episode()
        .complete_activity(2, "ok")
        .events
    )
    result = replay_history(orch, history)
    assert (result.non_determinism, result.output) == (None, "ok")


def test_non_determinism_fails_the_orchestration_with_the_error_text():
    def orch(ctx):
        yield ctx.call_activity("b")

    result = replay_history(orch, RECORDED_A)
    state = json.loads(result.state_json)
    assert state["error"] == str(result.non_determinism)
    assert state["isDone"] is False


def test_handler_reports_non_determinism_in_the_hosts_failure_format():
    def orch(ctx):
        yield ctx.call_activity("b")

    handler = Orchestrator.create(orch)
    with pytest.raises(OrchestratorExecutionError) as info:
        handler(orchestration_payload_json(RECORDED_A))
    assert "$OutOfProcData$:" in str(info.value)
    assert isinstance(info.value.__cause__, NonDeterminismError)


def test_code_catching_exceptions_cannot_hide_non_determinism():
    def orch(ctx):
        with contextlib.suppress(Exception):
            ctx.signal_entity(df.EntityId("Counter", "other"), "add")
        yield ctx.call_activity("a")

    history = (
        HistoryBuilder()
        .add(event_sent(0, "@counter@k1", "add", "req-1", signal=True))
        .add(task_scheduled(1, "a"))
        .new_episode()
        .events
    )
    assert replay_history(orch, history).non_determinism is not None
