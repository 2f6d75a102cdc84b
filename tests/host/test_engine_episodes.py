"""Engine specs: given history + OrchestratorState → new history events and outgoing work."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_functions.host import engine
from durable_functions.host.engine import (
    EngineConfig,
    EventType,
    InstanceState,
    InvocationError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    RuntimeStatus,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)


def _ids() -> Any:
    counter = iter(range(1000))
    return lambda: f"new-{next(counter)}"


def _instance(**changes: Any) -> InstanceState:
    fields: dict[str, Any] = {
        "instance_id": "abc",
        "execution_id": "e1",
        "name": "orch",
        "runtime_status": RuntimeStatus.Running,
        "created_time": T0,
        "last_updated_time": T0,
    }
    fields.update(changes)
    return InstanceState(**fields)


def _started(input_json: str | None = None) -> dict[str, Any]:
    return engine.execution_started_event(
        instance_id="abc",
        execution_id="e1",
        name="orch",
        version="",
        input_json=input_json,
        parent=None,
        timestamp=T0,
    )


def _first_episode(
    state: dict[str, Any] | str | InvocationError, *, instance: InstanceState | None = None
) -> engine.EpisodeOutcome:
    """Run the first episode: only ExecutionStarted is new."""
    instance = instance or _instance(runtime_status=RuntimeStatus.Pending)
    item = OrchestrationWorkItem(
        instance=instance,
        history=(),
        messages=(OrchestrationMessage(instance_id="abc", execution_id="e1", event=_started()),),
    )
    episode = engine.prepare_episode(item, now=T0)
    result = json.dumps(state) if isinstance(state, dict) else state
    return engine.complete_episode(episode, result, now=T0, new_id=_ids())


def _later_episode(
    history: list[dict[str, Any]],
    new_events: list[dict[str, Any]],
    state: dict[str, Any] | str | InvocationError,
    *,
    now: datetime = T1,
    instance: InstanceState | None = None,
) -> engine.EpisodeOutcome:
    item = OrchestrationWorkItem(
        instance=instance or _instance(),
        history=tuple(history),
        messages=tuple(
            OrchestrationMessage(instance_id="abc", execution_id="e1", event=e) for e in new_events
        ),
    )
    episode = engine.prepare_episode(item, now=now)
    result = json.dumps(state) if isinstance(state, dict) else state
    return engine.complete_episode(episode, result, now=now, new_id=_ids())


def _v3(*actions: dict[str, Any], done: bool = False, **extra: Any) -> dict[str, Any]:
    return {"isDone": done, "schemaVersion": 2, "actions": [list(actions)], **extra}


def _activity(name: str, value: Any = None) -> dict[str, Any]:
    return {"actionType": 0, "functionName": name, "input": json.dumps(value)}


def _kinds(events: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[str]:
    return [EventType(e["EventType"]).name for e in events]


# --------------------------------------------------------------------------- payload


def test_the_payload_carries_history_input_and_host_settings() -> None:
    item = OrchestrationWorkItem(
        instance=_instance(runtime_status=RuntimeStatus.Pending, input='"{\\"x\\": 1}"'),
        history=(),
        messages=(
            OrchestrationMessage(
                instance_id="abc", execution_id="e1", event=_started('"{\\"x\\": 1}"')
            ),
        ),
    )

    payload = engine.prepare_episode(item, now=T1).payload

    assert payload is not None
    assert list(payload) == [
        "history",
        "input",
        "instanceId",
        "isReplaying",
        "parentInstanceId",
        "upperSchemaVersion",
        "upperSchemaVersionNew",
        "longRunningTimerIntervalDuration",
        "maximumShortTimerDuration",
        "defaultHttpAsyncRequestSleepTimeMillseconds",
    ]
    assert _kinds(payload["history"]) == ["OrchestratorStarted", "ExecutionStarted"]
    assert payload["input"] == '{"x": 1}'
    assert payload["upperSchemaVersion"] == 1 and payload["upperSchemaVersionNew"] == 2
    assert payload["maximumShortTimerDuration"] == "00:00:00"


def test_timer_thresholds_come_from_the_config() -> None:
    config = EngineConfig(
        long_running_timer_interval="3.00:00:00", maximum_short_timer_duration="6.00:00:00"
    )
    item = OrchestrationWorkItem(
        instance=_instance(runtime_status=RuntimeStatus.Pending),
        history=(),
        messages=(OrchestrationMessage(instance_id="abc", event=_started()),),
    )

    payload = engine.prepare_episode(item, now=T0, config=config).payload

    assert payload is not None
    assert payload["longRunningTimerIntervalDuration"] == "3.00:00:00"
    assert payload["maximumShortTimerDuration"] == "6.00:00:00"


def test_execution_started_comes_first_whatever_the_arrival_order() -> None:
    raised = engine.event_raised_event("E", "1", timestamp=T0)
    item = OrchestrationWorkItem(
        instance=_instance(runtime_status=RuntimeStatus.Pending),
        history=(),
        messages=(
            OrchestrationMessage(instance_id="abc", event=raised),
            OrchestrationMessage(instance_id="abc", execution_id="e1", event=_started()),
        ),
    )

    episode = engine.prepare_episode(item, now=T0)

    assert _kinds(episode.new_events) == ["OrchestratorStarted", "ExecutionStarted", "EventRaised"]


def test_messages_for_an_old_execution_are_dropped() -> None:
    stale = OrchestrationMessage(
        instance_id="abc",
        execution_id="old",
        event=engine.task_completed_event(0, "1", timestamp=T1),
    )
    item = OrchestrationWorkItem(instance=_instance(), history=(_started(),), messages=(stale,))

    episode = engine.prepare_episode(item, now=T1)

    assert episode.payload is None and episode.new_events == ()


# --------------------------------------------------------------------------- actions


def test_a_call_activity_becomes_task_scheduled_and_a_work_item() -> None:
    outcome = _first_episode(_v3(_activity("hello", "Tokyo")))

    assert _kinds(outcome.history_added) == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled",
        "OrchestratorCompleted",
    ]
    scheduled = outcome.history_added[2]
    assert scheduled["EventId"] == 0
    assert scheduled["Name"] == "hello" and scheduled["Input"] == '"Tokyo"'
    (work,) = outcome.activities
    assert (work.instance_id, work.execution_id, work.task_id, work.name, work.input) == (
        "abc",
        "e1",
        0,
        "hello",
        '"Tokyo"',
    )
    assert outcome.instance.runtime_status is RuntimeStatus.Running


def test_actions_already_in_history_are_not_scheduled_again() -> None:
    first = _first_episode(_v3(_activity("a")))
    history = list(first.history_added)
    done = engine.task_completed_event(0, '"A"', timestamp=T1)

    outcome = _later_episode(history, [done], _v3(_activity("a"), _activity("b")))

    new = [e for e in outcome.history_added if e["EventType"] == EventType.TaskScheduled]
    assert [(e["EventId"], e["Name"]) for e in new] == [(1, "b")]
    assert [w.name for w in outcome.activities] == ["b"]


def test_when_all_children_are_flattened_in_order() -> None:
    fan = {"actionType": 12, "compoundActions": [_activity("a", n) for n in range(3)]}

    outcome = _first_episode(_v3(fan))

    assert [(w.task_id, w.input) for w in outcome.activities] == [(0, "0"), (1, "1"), (2, "2")]


def test_v1_lists_of_lists_are_understood() -> None:
    state = {"isDone": False, "actions": [[_activity("a")], [_activity("b"), _activity("c")]]}
    history = list(_first_episode({"isDone": False, "actions": [[_activity("a")]]}).history_added)
    done = engine.task_completed_event(0, '"A"', timestamp=T1)

    outcome = _later_episode(history, [done], state)

    assert [(w.task_id, w.name) for w in outcome.activities] == [(1, "b"), (2, "c")]


def test_a_timer_records_its_fire_time_and_schedules_a_timer_fired_message() -> None:
    timer = {"actionType": 5, "fireAt": "2024-05-08T10:00:00.000000Z", "isCanceled": False}

    outcome = _first_episode(_v3(timer))

    created = outcome.history_added[2]
    assert _kinds([created]) == ["TimerCreated"] and created["FireAt"] == "2024-05-08T10:00:00Z"
    (item,) = outcome.timers
    assert item.fire_at == T0 + timedelta(days=7)
    assert item.message.event["EventType"] == EventType.TimerFired
    assert item.message.event["TimerId"] == 0
    assert item.message.execution_id == "e1"


def test_a_cancelled_timer_of_a_running_instance_is_withdrawn() -> None:
    timer = {"actionType": 5, "fireAt": "2024-05-02T10:00:00.000000Z", "isCanceled": False}
    wait = {"actionType": 6, "externalEventName": "E", "reason": "ExternalEvent"}
    history = list(
        _first_episode(_v3({"actionType": 11, "compoundActions": [wait, timer]})).history_added
    )
    race_after = {
        "actionType": 11,
        "compoundActions": [wait, {**timer, "isCanceled": True}],
    }

    outcome = _later_episode(
        history,
        [engine.event_raised_event("E", "1", timestamp=T1)],
        _v3(race_after, {"actionType": 6, "externalEventName": "F", "reason": "ExternalEvent"}),
    )

    assert outcome.cancel_timers == (0,)


def test_a_sub_orchestration_without_an_id_gets_a_deterministic_one() -> None:
    call = {
        "actionType": 2,
        "functionName": "child",
        "input": '{"n": 1}',
        "instanceId": None,
        "version": None,
    }

    outcome = _first_episode(_v3(call))

    created = outcome.history_added[2]
    assert _kinds([created]) == ["SubOrchestrationInstanceCreated"]
    assert created["InstanceId"] == "abc:0000000000000000"
    (child,) = outcome.new_instances
    assert child.instance.instance_id == "abc:0000000000000000"
    assert child.instance.name == "child"
    assert child.instance.input == json.dumps('{"n": 1}')
    assert child.instance.parent is not None
    assert child.instance.parent.task_schedule_id == 0
    assert child.message.event["ParentInstance"]["OrchestrationInstance"] == {
        "InstanceId": "abc",
        "ExecutionId": "e1",
    }


def test_a_sub_orchestration_keeps_the_given_id_and_version() -> None:
    call = {
        "actionType": 2,
        "functionName": "child",
        "input": "null",
        "instanceId": "kid",
        "version": "2.0",
    }

    (child,) = _first_episode(_v3(call)).new_instances

    assert child.instance.instance_id == "kid" and child.instance.version == "2.0"


def test_a_call_entity_sends_the_request_json_in_event_sent() -> None:
    call = {"actionType": 7, "instanceId": "@counter@k1", "operation": "add", "input": "3"}

    outcome = _first_episode(_v3(call))

    sent = outcome.history_added[2]
    assert _kinds([sent]) == ["EventSent"]
    assert sent["InstanceId"] == "@counter@k1" and sent["Name"] == "add"
    request = json.loads(sent["Input"])
    assert request["op"] == "add" and request["input"] == '"3"'
    assert request["parent"] == "abc" and request["parentExecution"] == "e1"
    assert "signal" not in request
    (message,) = outcome.entity_messages
    assert message.entity_id == "@counter@k1" and message.request == request


def test_a_signal_entity_is_marked_as_signal_and_does_not_block() -> None:
    signal = {"actionType": 9, "instanceId": "@counter@k1", "operation": "add", "input": "1"}

    outcome = _first_episode(_v3(signal, _activity("after")))

    (message,) = outcome.entity_messages
    assert message.request["signal"] is True
    assert [w.task_id for w in outcome.activities] == [1]


def test_an_entity_response_completes_the_call_by_request_id() -> None:
    call = {"actionType": 7, "instanceId": "@counter@k1", "operation": "get", "input": "null"}
    first = _first_episode(_v3(call))
    request_id = first.entity_messages[0].request["id"]
    response = engine.event_raised_event(request_id, '{"result":"5"}', timestamp=T1)

    outcome = _later_episode(list(first.history_added), [response], _v3(call, _activity("next")))

    assert [w.task_id for w in outcome.activities] == [1]


def test_call_http_becomes_the_builtin_http_activity() -> None:
    request = {"method": "GET", "uri": "http://x/y", "content": None, "headers": None}

    outcome = _first_episode(_v3({"actionType": 8, "httpRequest": request}))

    (work,) = outcome.activities
    assert work.name == engine.HTTP_ACTIVITY_NAME and json.loads(work.input or "") == request


def test_custom_status_is_stored_as_json_text() -> None:
    outcome = _first_episode(_v3(customStatus={"stage": 1}))

    assert outcome.instance.custom_status == '{"stage":1}'


def test_output_completes_the_instance_with_execution_completed() -> None:
    outcome = _first_episode(_v3(done=True, output={"ok": True}))

    assert _kinds(outcome.history_added)[-2:] == ["ExecutionCompleted", "OrchestratorCompleted"]
    completed = outcome.history_added[-2]
    assert completed["OrchestrationStatus"] == 1 and completed["Result"] == '{"ok":true}'
    assert outcome.instance.runtime_status is RuntimeStatus.Completed
    assert outcome.instance.output == '{"ok":true}'


def test_an_error_in_the_state_fails_the_instance_with_the_host_text() -> None:
    outcome = _first_episode(_v3(error="boom"))

    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert json.loads(outcome.instance.output or "") == "Orchestrator function 'orch' failed: boom"
    assert outcome.history_added[-2]["OrchestrationStatus"] == 3


def test_out_of_proc_data_in_the_exception_is_parsed_and_its_actions_applied() -> None:
    state = _v3(_activity("cleanup"), error="bad input")
    raised = InvocationError(message="bad input" + engine.OUT_OF_PROC_MARKER + json.dumps(state))

    outcome = _first_episode(raised)

    assert json.loads(outcome.instance.output or "").endswith("failed: bad input")
    assert "TaskScheduled" in _kinds(outcome.history_added)


def test_a_plain_exception_fails_the_instance_without_applying_actions() -> None:
    outcome = _first_episode(InvocationError(message="no generator here", error_type="TypeError"))

    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "TypeError"
    assert "TaskScheduled" not in _kinds(outcome.history_added)


def test_a_different_activity_at_a_recorded_id_is_non_determinism() -> None:
    history = list(_first_episode(_v3(_activity("a"))).history_added)
    done = engine.task_completed_event(0, '"A"', timestamp=T1)

    outcome = _later_episode(history, [done], _v3(_activity("b")))

    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    text = json.loads(outcome.instance.output or "")
    assert "history recorded activity 'a' (TASK_SCHEDULED)" in text
    assert "the code now does activity 'b'" in text


def test_a_recorded_task_the_code_no_longer_schedules_is_non_determinism() -> None:
    history = list(_first_episode(_v3(_activity("a"))).history_added)

    outcome = _later_episode(history, [engine.event_raised_event("E", "1", timestamp=T1)], _v3())

    assert outcome.instance.runtime_status is RuntimeStatus.Failed


def test_the_parent_is_told_when_a_sub_orchestration_completes() -> None:
    parent = engine.ParentInstance(
        instance_id="p", execution_id="pe", name="parent", version="", task_schedule_id=4
    )

    outcome = _first_episode(
        _v3(done=True, output=7),
        instance=_instance(runtime_status=RuntimeStatus.Pending, parent=parent),
    )

    (message,) = outcome.messages
    assert (message.instance_id, message.execution_id) == ("p", "pe")
    assert message.event["EventType"] == EventType.SubOrchestrationInstanceCompleted
    assert message.event["TaskScheduledId"] == 4 and message.event["Result"] == "7"


def test_the_parent_is_told_when_a_sub_orchestration_fails() -> None:
    parent = engine.ParentInstance(
        instance_id="p", execution_id="pe", name="parent", version="", task_schedule_id=2
    )

    outcome = _first_episode(
        _v3(error="kaput"), instance=_instance(runtime_status=RuntimeStatus.Pending, parent=parent)
    )

    (message,) = outcome.messages
    assert message.event["EventType"] == EventType.SubOrchestrationInstanceFailed
    assert message.event["Reason"] == "Orchestrator function 'orch' failed: kaput"


# --------------------------------------------------------------------------- continue-as-new


def test_continue_as_new_starts_a_new_execution_with_the_new_input() -> None:
    outcome = _first_episode(_v3({"actionType": 4, "input": "5"}, done=True))

    assert outcome.new_execution and outcome.history_added == ()
    assert outcome.instance.runtime_status is RuntimeStatus.ContinuedAsNew
    assert outcome.instance.execution_id != "e1"
    started = outcome.messages[0]
    assert started.event["EventType"] == EventType.ExecutionStarted
    assert started.execution_id == outcome.instance.execution_id
    assert started.event["Input"] == json.dumps("5")


def test_continue_as_new_keeps_events_nobody_waited_for() -> None:
    history = list(_first_episode(_v3(_activity("a"))).history_added)
    kept = engine.event_raised_event("Later", '"x"', timestamp=T1)
    done = engine.task_completed_event(0, "1", timestamp=T1)

    outcome = _later_episode(
        history, [kept, done], _v3(_activity("a"), {"actionType": 4, "input": "1"}, done=True)
    )

    carried = [m.event for m in outcome.messages[1:]]
    assert [(e["Name"], e["Input"]) for e in carried] == [("Later", '"x"')]


def test_continue_as_new_does_not_keep_events_already_consumed() -> None:
    wait = {"actionType": 6, "externalEventName": "Go", "reason": "ExternalEvent"}
    history = list(_first_episode(_v3(wait)).history_added)
    consumed = engine.event_raised_event("Go", '"x"', timestamp=T1)

    outcome = _later_episode(
        history, [consumed], _v3(wait, {"actionType": 4, "input": "1"}, done=True)
    )

    assert [m.event["EventType"] for m in outcome.messages] == [EventType.ExecutionStarted]


# --------------------------------------------------------------------------- suspension


def test_while_suspended_events_are_requeued_not_delivered() -> None:
    instance = _instance(runtime_status=RuntimeStatus.Suspended)
    raised = engine.event_raised_event("Go", "1", timestamp=T1)

    outcome = _later_episode([_started()], [raised], _v3(), instance=instance)

    assert outcome.history_added == ()
    assert [m.event for m in outcome.messages] == [raised]


def test_resume_delivers_the_events_that_arrived_while_suspended() -> None:
    instance = _instance(runtime_status=RuntimeStatus.Suspended)
    raised = engine.event_raised_event("Go", "1", timestamp=T1)
    resumed = engine.resume_message("abc", "back", now=T2).event
    item = OrchestrationWorkItem(
        instance=instance,
        history=(_started(),),
        messages=(
            OrchestrationMessage(instance_id="abc", event=raised),
            OrchestrationMessage(instance_id="abc", event=resumed),
        ),
    )

    episode = engine.prepare_episode(item, now=T2)

    assert _kinds(episode.new_events) == [
        "OrchestratorStarted",
        "ExecutionResumed",
        "EventRaised",
    ]
    assert episode.instance.runtime_status is RuntimeStatus.Running


def test_a_suspend_message_records_the_event_and_suspends() -> None:
    suspended = engine.suspend_message("abc", "pause", now=T1).event

    outcome = _later_episode([_started()], [suspended], _v3())

    assert "ExecutionSuspended" in _kinds(outcome.history_added)
    assert outcome.instance.runtime_status is RuntimeStatus.Suspended


@pytest.mark.parametrize(
    ("status", "event_type", "expected"),
    [
        pytest.param(RuntimeStatus.Running, EventType.EventRaised, True, id="running-event"),
        pytest.param(RuntimeStatus.Suspended, EventType.EventRaised, False, id="suspended-event"),
        pytest.param(
            RuntimeStatus.Suspended, EventType.ExecutionResumed, True, id="suspended-resume"
        ),
        pytest.param(
            RuntimeStatus.Suspended, EventType.ExecutionTerminated, True, id="suspended-terminate"
        ),
    ],
)
def test_is_runnable_only_wakes_a_suspended_instance_for_resume_or_terminate(
    status: RuntimeStatus, event_type: EventType, expected: bool
) -> None:
    assert engine.is_runnable(status, [{"EventType": int(event_type)}]) is expected


def test_terminate_ends_the_instance_without_invoking_it() -> None:
    terminate = engine.terminate_message("abc", "stop", now=T1).event
    item = OrchestrationWorkItem(
        instance=_instance(),
        history=(_started(),),
        messages=(OrchestrationMessage(instance_id="abc", event=terminate),),
    )
    episode = engine.prepare_episode(item, now=T1)

    outcome = engine.complete_episode(episode, None, now=T1, new_id=_ids())

    assert episode.payload is None
    assert outcome.instance.runtime_status is RuntimeStatus.Terminated
    assert outcome.instance.output == '"stop"'
    assert _kinds(outcome.history_added) == [
        "OrchestratorStarted",
        "ExecutionTerminated",
        "ExecutionCompleted",
        "OrchestratorCompleted",
    ]


def test_messages_for_a_finished_instance_are_discarded() -> None:
    item = OrchestrationWorkItem(
        instance=_instance(runtime_status=RuntimeStatus.Completed),
        history=(_started(),),
        messages=(
            OrchestrationMessage(
                instance_id="abc", event=engine.event_raised_event("E", "1", timestamp=T1)
            ),
        ),
    )

    episode = engine.prepare_episode(item, now=T1)
    outcome = engine.complete_episode(episode, None, now=T1, new_id=_ids())

    assert episode.discard and outcome.history_added == () and outcome.messages == ()


def test_continue_as_new_closes_the_old_execution_with_a_continue_as_new_event() -> None:
    outcome = _first_episode(_v3({"actionType": 4, "input": "5"}, done=True))

    assert _kinds(outcome.closed_history)[-2:] == ["ContinueAsNew", "OrchestratorCompleted"]
    closing = outcome.closed_history[-2]
    assert closing["EventId"] == 0 and closing["Result"] == "5"
    assert closing["OrchestrationStatus"] == 2


def test_continue_as_new_can_drop_unprocessed_events_like_the_extension_default() -> None:
    config = EngineConfig(preserve_unprocessed_events=False)
    item = OrchestrationWorkItem(
        instance=_instance(),
        history=(_started(),),
        messages=(
            OrchestrationMessage(
                instance_id="abc", event=engine.event_raised_event("Later", "1", timestamp=T1)
            ),
        ),
    )
    episode = engine.prepare_episode(item, now=T1, config=config)

    outcome = engine.complete_episode(
        episode, json.dumps(_v3({"actionType": 4, "input": "1"}, done=True)), now=T1, new_id=_ids()
    )

    assert [m.event["EventType"] for m in outcome.messages] == [EventType.ExecutionStarted]


def test_a_second_completion_of_the_same_task_is_dropped() -> None:
    """Delivery is at least once (a crash between running and committing repeats work)."""
    history = list(_first_episode(_v3(_activity("a"))).history_added)
    history.append(engine.task_completed_event(0, '"A"', timestamp=T1))
    again = engine.task_completed_event(0, '"A"', timestamp=T2)
    item = OrchestrationWorkItem(
        instance=_instance(),
        history=tuple(history),
        messages=(
            OrchestrationMessage(instance_id="abc", event=again),
            OrchestrationMessage(instance_id="abc", event=again),
        ),
    )

    episode = engine.prepare_episode(item, now=T2)

    assert episode.payload is None and episode.new_events == ()
