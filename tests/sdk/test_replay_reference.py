"""Differential checks: the same payload gives the same OrchestratorState JSON in both SDKs."""

from __future__ import annotations

import json
import warnings
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    entity_response,
    event_sent,
    orchestration_payload_json,
    sub_orchestration_completed,
    sub_orchestration_created,
)

import durable_functions as ours

pytestmark = pytest.mark.reference

reference = pytest.importorskip("azure.durable_functions")


def run_both(make_orchestrator, history, **payload_kw):
    """(our reply, reference reply); a failure is compared by its message text."""
    payload = orchestration_payload_json(history, **payload_kw)
    replies = []
    for sdk in (ours, reference):
        handler = sdk.Orchestrator.create(make_orchestrator(sdk))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                replies.append(handler(payload))
            except Exception as exc:  # both SDKs report failures by raising
                replies.append(f"raised: {exc}")
    return replies


def chain(sdk):
    def orch(ctx):
        total = 0
        for i in range(3):
            total += yield ctx.call_activity("add", i)
        return total

    return orch


CHAIN = (
    HistoryBuilder()
    .schedule_activity(0, "add")
    .new_episode()
    .complete_activity(0, 1)
    .schedule_activity(1, "add")
    .new_episode()
    .complete_activity(1, 2)
)


@pytest.mark.parametrize("schema", [0, 1, 2], ids=["v1", "v2", "v3"])
def test_activity_chain_in_progress_matches(schema):
    ours_reply, ref_reply = run_both(chain, CHAIN.events, schema=schema)
    assert ours_reply == ref_reply


def test_activity_chain_done_matches():
    history = (
        HistoryBuilder()
        .schedule_activity(0, "add")
        .new_episode()
        .complete_activity(0, 1)
        .schedule_activity(1, "add")
        .new_episode()
        .complete_activity(1, 2)
        .schedule_activity(2, "add")
        .new_episode()
        .complete_activity(2, 3)
        .events
    )
    ours_reply, ref_reply = run_both(chain, history)
    assert ours_reply == ref_reply
    assert json.loads(ours_reply)["output"] == 6


def fan_out(sdk):
    def orch(ctx):
        first = ctx.call_activity("a", 0)
        yield first
        results = yield ctx.task_all(
            [first, ctx.call_activity("b"), ctx.task_any([ctx.call_activity("c")])]
        )
        ctx.set_custom_status({"n": len(results)})
        return results[:2]

    return orch


@pytest.mark.parametrize("schema", [0, 1, 2], ids=["v1", "v2", "v3"])
def test_nested_fan_out_matches(schema):
    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .new_episode()
        .complete_activity(0, "A")
        .schedule_activity(1, "b")
        .schedule_activity(2, "c")
        .new_episode()
        .complete_activity(2, "C")
        .complete_activity(1, "B")
        .events
    )
    ours_reply, ref_reply = run_both(fan_out, history, schema=schema)
    assert ours_reply == ref_reply


def retrying(sdk):
    def orch(ctx):
        return (yield ctx.call_activity_with_retry("flaky", sdk.RetryOptions(1000, 2), "x"))

    return orch


RETRY_FAILED_TWICE = (
    HistoryBuilder()
    .schedule_activity(0, "flaky")
    .new_episode()
    .fail_activity(0)
    .create_timer(1, BASE_TIME)
    .new_episode()
    .fire_timer(1, BASE_TIME)
    .schedule_activity(2, "flaky")
    .new_episode()
    .fail_activity(2, "last", "trace")
    .create_timer(3, BASE_TIME)
)


@pytest.mark.parametrize("schema", [0, 2], ids=["v1", "v3"])
def test_retry_before_the_final_timer_matches(schema):
    ours_reply, ref_reply = run_both(retrying, RETRY_FAILED_TWICE.events, schema=schema)
    assert ours_reply == ref_reply


def test_retry_exhaustion_failure_matches():
    history = RETRY_FAILED_TWICE.new_episode().fire_timer(3, BASE_TIME).events
    ours_reply, ref_reply = run_both(retrying, history)
    assert ours_reply == ref_reply
    assert ours_reply.startswith("raised: last \n trace")


def timers(sdk):
    def orch(ctx):
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=7))
        return ctx.current_utc_datetime.isoformat()

    return orch


def test_long_timer_chain_matches():
    first = BASE_TIME + timedelta(days=3)
    history = (
        HistoryBuilder()
        .create_timer(0, first)
        .new_episode(advance=timedelta(days=3))
        .fire_timer(0, first)
        .events
    )
    ours_reply, ref_reply = run_both(timers, history, long_timers=True)
    assert ours_reply == ref_reply


def everything_else(sdk):
    def orch(ctx):
        counter = sdk.EntityId("Counter", "k1")
        ctx.signal_entity(counter, "add", 1)
        value = yield ctx.call_entity(counter, "get")
        child = yield ctx.call_sub_orchestrator("child", value, instance_id="c1", version="2")
        response = yield ctx.call_http(
            "GET",
            "https://x.test",
            headers={"a": "b"},
            token_source=sdk.ManagedIdentityTokenSource("https://r.test"),
        )
        event = yield ctx.wait_for_external_event("go")
        ctx.set_custom_status([ctx.new_uuid(), str(ctx.new_guid()), ctx.is_replaying])
        ctx.continue_as_new([child, response["statusCode"], event])
        return "ignored"

    return orch


def test_entities_sub_orchestration_http_events_and_continue_as_new_match():
    history = (
        HistoryBuilder()
        .add(event_sent(0, "@counter@k1", "add", "sig-1", 1, signal=True))
        .add(event_sent(1, "@counter@k1", "get", "req-1"))
        .new_episode()
        .add(entity_response("req-1", 5))
        .add(sub_orchestration_created(2, "child", "c1", 5))
        .new_episode()
        .add(sub_orchestration_completed(2, "child done"))
        .schedule_activity(3, "BuiltIn::HttpActivity")
        .new_episode()
        .complete_activity(3, {"statusCode": 200, "headers": {}, "content": "ok"})
        .new_episode()
        .raise_event("go", {"k": 1})
        .events
    )
    ours_reply, ref_reply = run_both(everything_else, history, instance_id="inst")
    assert ours_reply == ref_reply


def failing(sdk):
    def orch(ctx):
        yield ctx.call_activity("a")
        raise RuntimeError("bad thing")

    return orch


def test_orchestrator_failure_message_matches():
    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0)
    ours_reply, ref_reply = run_both(failing, history.events)
    assert ours_reply == ref_reply


def caught_failure(sdk):
    def orch(ctx):
        try:
            yield ctx.call_activity("a")
        except Exception as exc:
            return str(exc)

    return orch


def test_activity_failure_text_seen_by_code_matches():
    history = HistoryBuilder().schedule_activity(0, "a").new_episode().fail_activity(0, "r", "d")
    ours_reply, ref_reply = run_both(caught_failure, history.events)
    assert ours_reply == ref_reply


def replay_flags(sdk):
    def orch(ctx):
        flags = [ctx.is_replaying]
        yield ctx.call_activity("a")
        flags.append(ctx.is_replaying)
        yield ctx.task_any([ctx.call_activity("b"), ctx.create_timer(ctx.current_utc_datetime)])
        flags.append(ctx.is_replaying)
        return flags

    return orch


@pytest.mark.parametrize("played", [False, True], ids=["structural", "is-played"])
def test_is_replaying_flags_match(played):
    history = (
        HistoryBuilder(played=played)
        .schedule_activity(0, "a")
        .new_episode()
        .complete_activity(0)
        .schedule_activity(1, "b")
        .create_timer(2, BASE_TIME + timedelta(seconds=1))
        .new_episode()
        .fire_timer(2, BASE_TIME + timedelta(seconds=1))
        .events
    )
    ours_reply, ref_reply = run_both(replay_flags, history)
    assert ours_reply == ref_reply
