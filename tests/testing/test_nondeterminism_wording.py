"""One mismatch, one wording: the SDK, the local host and ``durable replay`` say the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import durable_functions as df
from durable_functions.errors import NonDeterminismError
from durable_functions.host import engine
from durable_functions.replay import replay
from durable_functions.testing.replayer import compare

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=1)

Orchestrator = Callable[[df.DurableOrchestrationContext], Any]


def _episode(
    history: tuple[engine.Event, ...], messages: list[engine.OrchestrationMessage], now: datetime
) -> engine.Episode:
    instance = engine.InstanceState(
        instance_id="wording",
        execution_id="e1",
        name="orch",
        runtime_status=engine.RuntimeStatus.Running if history else engine.RuntimeStatus.Pending,
        created_time=T0,
        last_updated_time=T0,
    )
    item = engine.OrchestrationWorkItem(
        instance=instance, history=history, messages=tuple(messages)
    )
    return engine.prepare_episode(item, now=now)


def _run(episode: engine.Episode, code: Orchestrator) -> tuple[dict[str, Any], Any]:
    assert episode.payload is not None
    result = replay(code, json.dumps(episode.payload))
    return json.loads(result.state_json), result.non_determinism


def _second_episode(recorded: Orchestrator) -> engine.Episode:
    """History where ``recorded`` ran one episode, then an event arrives."""
    started = engine.new_instance("orch", "wording", None, now=T0, execution_id="e1").message
    first = _episode((), [started], T0)
    state, _ = _run(first, recorded)
    outcome = engine.complete_episode(first, json.dumps(state), now=T0, new_id=lambda: "n")
    raised = engine.raise_event_message("wording", "go", "1", now=T1)
    return _episode(outcome.history_added, [raised], T1)


def _recorded_activity(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.call_activity("a")


def _recorded_entity_call(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.call_entity(df.EntityId("Counter", "k1"), "add")


def _now_activity(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.call_activity("b")


def _now_timer(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))


def _now_entity_call(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.call_entity(df.EntityId("Counter", "k1"), "reset")


def _now_waits(ctx: df.DurableOrchestrationContext) -> Any:
    yield ctx.wait_for_external_event("never")


CASES = {
    "other activity": (
        _recorded_activity,
        _now_activity,
        "activity 'a' (TASK_SCHEDULED)",
        "activity 'b'",
    ),
    "timer for an activity": (
        _recorded_activity,
        _now_timer,
        "activity 'a' (TASK_SCHEDULED)",
        "a timer",
    ),
    "other entity operation": (
        _recorded_entity_call,
        _now_entity_call,
        "entity operation 'add' on '@counter@k1' (EVENT_SENT)",
        "entity operation 'reset' on '@counter@k1'",
    ),
    "task no longer scheduled": (
        _recorded_activity,
        _now_waits,
        "activity 'a' (TASK_SCHEDULED)",
        "not schedule it (the code no longer schedules this task at this point)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_sdk_the_host_and_the_replayer_word_a_mismatch_alike(case: str) -> None:
    recorded_code, current_code, recorded, actual = CASES[case]
    episode = _second_episode(recorded_code)
    state, sdk_error = _run(episode, current_code)

    # The SDK's verdict.
    assert isinstance(sdk_error, NonDeterminismError)
    assert (sdk_error.event_id, sdk_error.recorded, sdk_error.actual) == (0, recorded, actual)

    # The host's own check, given the same actions without the SDK's error.
    decisions = {key: value for key, value in state.items() if key != "error"}
    outcome = engine.complete_episode(episode, json.dumps(decisions), now=T1, new_id=lambda: "n")
    assert outcome.instance.runtime_status is engine.RuntimeStatus.Failed
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "NonDeterminismError"
    assert outcome.instance.failure["ErrorMessage"] == str(sdk_error)

    # durable replay, comparing the decisions with the whole history.
    mismatch = compare([*episode.history, *episode.new_events], decisions)
    assert mismatch is not None
    assert (mismatch.event_id, mismatch.recorded, mismatch.actual) == (0, recorded, actual)
    assert f"history recorded {recorded}, but the code now does {actual}" in str(mismatch)
