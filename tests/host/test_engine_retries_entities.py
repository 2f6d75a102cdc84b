"""Engine specs: DTFx retry semantics, entity batches, rewind and restart, time formats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_functions._protocol import format_timespan, parse_timespan
from durable_functions.host import engine
from durable_functions.host.engine import (
    EntityMessage,
    EntityState,
    EntityWorkItem,
    EventType,
    InstanceState,
    InvocationError,
    OrchestrationMessage,
    OrchestrationWorkItem,
    RuntimeStatus,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


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


class _Run:
    """Feeds episodes one after the other, keeping the history like a backend."""

    def __init__(self) -> None:
        self.instance = _instance(runtime_status=RuntimeStatus.Pending)
        self.history: list[dict[str, Any]] = []
        started = engine.execution_started_event(
            instance_id="abc",
            execution_id="e1",
            name="orch",
            version="",
            input_json=None,
            parent=None,
            timestamp=T0,
        )
        self.pending: list[dict[str, Any]] = [started]
        self.ids = _ids()

    def episode(self, state: dict[str, Any], *, now: datetime) -> engine.EpisodeOutcome:
        item = OrchestrationWorkItem(
            instance=self.instance,
            history=tuple(self.history),
            messages=tuple(
                OrchestrationMessage(instance_id="abc", execution_id="e1", event=e)
                for e in self.pending
            ),
        )
        episode = engine.prepare_episode(item, now=now)
        outcome = engine.complete_episode(episode, json.dumps(state), now=now, new_id=self.ids)
        self.history.extend(outcome.history_added)
        self.instance = outcome.instance
        self.pending = []
        return outcome


def _retry_state(**options: Any) -> dict[str, Any]:
    retry = {
        "actionType": 1,
        "functionName": "flaky",
        "input": "null",
        "retryOptions": {
            "firstRetryIntervalInMilliseconds": 1000,
            "maxNumberOfAttempts": 2,
            **options,
        },
    }
    return {
        "isDone": False,
        "schemaVersion": 2,
        "actions": [[{"actionType": 12, "compoundActions": [retry]}]],
    }


def _fail(task_id: int, at: datetime) -> dict[str, Any]:
    return engine.task_failed_event(
        task_id,
        reason="Activity function 'flaky' failed: boom",
        details=None,
        failure=None,
        timestamp=at,
    )


def test_a_failed_attempt_creates_a_retry_timer_at_the_first_interval() -> None:
    run = _Run()
    run.episode(_retry_state(), now=T0)
    run.pending = [_fail(0, T0)]

    outcome = run.episode(_retry_state(), now=T0 + timedelta(seconds=1))

    (timer,) = outcome.timers
    assert timer.message.event["TimerId"] == 1
    assert timer.fire_at == T0 + timedelta(seconds=2)


def test_the_retry_timer_firing_schedules_the_next_attempt_with_the_next_id() -> None:
    run = _Run()
    run.episode(_retry_state(), now=T0)
    run.pending = [_fail(0, T0)]
    run.episode(_retry_state(), now=T0)
    run.pending = [engine.timer_fired_event(1, T0 + timedelta(seconds=1), timestamp=T0)]

    outcome = run.episode(_retry_state(), now=T0 + timedelta(seconds=1))

    assert [(w.task_id, w.name) for w in outcome.activities] == [(2, "flaky")]


def test_after_the_last_attempt_a_timer_fires_at_once_before_the_failure() -> None:
    """DTFx keeps a timer after the last attempt (firing immediately) for replay compatibility."""
    run = _Run()
    run.episode(_retry_state(maxNumberOfAttempts=1), now=T0)
    run.pending = [_fail(0, T0)]
    later = T0 + timedelta(seconds=30)

    outcome = run.episode(_retry_state(maxNumberOfAttempts=1), now=later)

    (timer,) = outcome.timers
    assert timer.message.event["TimerId"] == 1 and timer.fire_at == later


@pytest.mark.parametrize(
    ("options", "delays"),
    [
        pytest.param({}, [1, 1, 1], id="constant"),
        pytest.param({"backoffCoefficient": 2}, [1, 2, 4], id="backoff"),
        pytest.param(
            {"backoffCoefficient": 2, "maxRetryIntervalInMilliseconds": 3000},
            [1, 2, 3],
            id="capped",
        ),
    ],
)
def test_retry_delays_follow_backoff_and_the_maximum_interval(
    options: dict[str, Any], delays: list[int]
) -> None:
    state = _retry_state(maxNumberOfAttempts=4, **options)
    run = _Run()
    now = T0
    run.episode(state, now=now)
    observed: list[int] = []
    task_id = 0
    for _ in delays:
        run.pending = [_fail(task_id, now)]
        (timer,) = run.episode(state, now=now).timers
        observed.append(round((timer.fire_at - now).total_seconds()))
        now = timer.fire_at
        run.pending = [engine.timer_fired_event(task_id + 1, now, timestamp=now)]
        run.episode(state, now=now)
        task_id += 2

    assert observed == delays


def test_a_retry_timeout_stops_retrying_early() -> None:
    state = _retry_state(maxNumberOfAttempts=10, retryTimeoutInMilliseconds=500)
    run = _Run()
    run.episode(state, now=T0)
    run.pending = [_fail(0, T0)]

    (timer,) = run.episode(state, now=T0 + timedelta(seconds=1)).timers

    assert timer.fire_at == T0 + timedelta(seconds=1)


def test_retried_ids_interleave_with_later_actions_like_the_sdk() -> None:
    """A fan-out of two retried calls: timers take ids in the order the failures arrive."""
    retry = _retry_state()["actions"][0][0]
    fan = {"actionType": 12, "compoundActions": [retry, retry]}
    state = {"isDone": False, "schemaVersion": 2, "actions": [[fan]]}
    run = _Run()
    run.episode(state, now=T0)
    run.pending = [_fail(1, T0), _fail(0, T0)]

    outcome = run.episode(state, now=T0)

    assert [t.message.event["TimerId"] for t in outcome.timers] == [2, 3]
    created = [e for e in outcome.history_added if e["EventType"] == EventType.TimerCreated]
    assert [e["EventId"] for e in created] == [2, 3]


# --------------------------------------------------------------------------- entities


def _entity_item(*requests: dict[str, Any], state: str | None = None) -> EntityWorkItem:
    return EntityWorkItem(
        entity=EntityState(entity_id="@counter@k1", exists=state is not None, state=state),
        messages=tuple(EntityMessage(entity_id="@counter@k1", request=r) for r in requests),
    )


def _call(op: str, value: str | None, request_id: str, signal: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {"op": op}
    if signal:
        request["signal"] = True
    request.update({"input": value, "id": request_id, "parent": "abc", "parentExecution": "e1"})
    return request


def test_the_entity_payload_lists_the_batch_in_order() -> None:
    item = _entity_item(_call("add", '"3"', "r1", signal=True), _call("get", None, "r2"), state="5")

    payload = engine.build_entity_payload(item)

    assert payload == {
        "self": {"name": "counter", "key": "k1"},
        "exists": True,
        "state": "5",
        "batch": [
            {"name": "add", "input": '"3"', "isSignal": True},
            {"name": "get", "input": None, "isSignal": False},
        ],
    }


def test_an_entity_batch_result_stores_state_and_answers_calls_only() -> None:
    item = _entity_item(_call("add", '"3"', "r1", signal=True), _call("get", None, "r2"))
    result = {
        "entityExists": True,
        "entityState": "8",
        "results": [
            {"isError": False, "duration": 0, "startTime": 0, "result": "null"},
            {"isError": False, "duration": 0, "startTime": 0, "result": "8"},
        ],
        "signals": [],
    }

    outcome = engine.complete_entity_batch(item, json.dumps(result), now=T0)

    assert outcome.entity.exists and outcome.entity.state == "8"
    (response,) = outcome.messages
    assert (response.instance_id, response.execution_id) == ("abc", "e1")
    assert response.event["EventType"] == EventType.EventRaised
    assert response.event["Name"] == "r2"
    assert json.loads(response.event["Input"]) == {"result": "8"}


def test_an_entity_operation_error_is_answered_with_an_exception_type() -> None:
    item = _entity_item(_call("bad", None, "r1"))
    result = {
        "entityExists": False,
        "entityState": "null",
        "results": [{"isError": True, "duration": 0, "startTime": 0, "result": '"nope"'}],
        "signals": [],
    }

    (response,) = engine.complete_entity_batch(item, json.dumps(result), now=T0).messages

    assert json.loads(response.event["Input"]) == {"result": '"nope"', "exceptionType": "Error"}


def test_a_crashed_entity_invocation_keeps_the_state_and_fails_every_call() -> None:
    item = _entity_item(_call("a", None, "r1"), _call("b", None, "r2"), state="1")

    outcome = engine.complete_entity_batch(
        item, InvocationError(message="worker died", error_type="RuntimeError"), now=T0
    )

    assert outcome.entity.state == "1" and outcome.entity.exists
    assert [json.loads(m.event["Input"])["exceptionType"] for m in outcome.messages] == [
        "Error",
        "Error",
    ]


def test_an_entity_timeout_answers_with_the_host_timeout_text() -> None:
    item = _entity_item(_call("slow", None, "r1"))

    (response,) = engine.complete_entity_batch(
        item, InvocationError(message="00:05:00", error_type="TimeoutError"), now=T0
    ).messages

    assert json.loads(response.event["Input"])["result"].startswith("Timeout value of 00:05:00")


def test_a_deleted_entity_no_longer_exists_and_has_no_state() -> None:
    item = _entity_item(_call("delete", None, "r1", signal=True), state="3")
    result = {
        "entityExists": False,
        "entityState": "null",
        "results": [{"isError": False, "duration": 0, "startTime": 0, "result": "null"}],
        "signals": [],
    }

    outcome = engine.complete_entity_batch(item, json.dumps(result), now=T0)

    assert not outcome.entity.exists and outcome.entity.state is None


def test_a_client_signal_has_no_parent_to_answer() -> None:
    message = engine.entity_signal_message(
        "@counter@k1", "add", '"1"', now=T0, request_id="00000000-0000-0000-0000-000000000001"
    )

    assert message.request["signal"] is True and message.request["parent"] is None


def test_entity_ids_must_look_like_at_name_at_key() -> None:
    with pytest.raises(ValueError, match="@name@key"):
        engine.parse_entity_id("counter/k1")


# --------------------------------------------------------------------------- rewind, restart


def _failed_history() -> list[dict[str, Any]]:
    """Activity 0 completed, activity 1 failed, orchestration failed."""
    run = _Run()
    a = {"actionType": 0, "functionName": "a", "input": "1"}
    b = {"actionType": 0, "functionName": "b", "input": "2"}
    run.episode({"isDone": False, "schemaVersion": 2, "actions": [[a]]}, now=T0)
    run.pending = [engine.task_completed_event(0, "1", timestamp=T0)]
    run.episode({"isDone": False, "schemaVersion": 2, "actions": [[a, b]]}, now=T0)
    run.pending = [_fail(1, T0)]
    run.episode({"isDone": False, "schemaVersion": 2, "actions": [[a, b]], "error": "x"}, now=T0)
    assert run.instance.runtime_status is RuntimeStatus.Failed
    return run.history


def test_rewind_cuts_history_before_the_first_failure_and_reruns_that_activity() -> None:
    history = _failed_history()
    failed = _instance(runtime_status=RuntimeStatus.Failed, output='"x"')

    result = engine.rewind(failed, history, "retry", now=T0, new_id=_ids())

    kinds = [EventType(e["EventType"]).name for e in result.history]
    assert "TaskFailed" not in kinds and "ExecutionCompleted" not in kinds
    assert kinds.count("TaskScheduled") == 2
    assert [(w.task_id, w.name) for w in result.activities] == [(1, "b")]
    assert result.messages[0].event["EventType"] == EventType.ExecutionRewound
    assert result.instance.runtime_status is RuntimeStatus.Running
    assert result.instance.output is None


def test_rewind_refuses_instances_that_are_not_failed() -> None:
    with pytest.raises(ValueError, match="only Failed"):
        engine.rewind(_instance(), [], None, now=T0, new_id=_ids())


def test_restart_reuses_the_name_and_input_under_a_new_execution() -> None:
    done = _instance(runtime_status=RuntimeStatus.Completed, input='"5"')

    fresh = engine.restart(done, now=T0, execution_id="e2", new_instance_id="other")

    assert fresh.instance.instance_id == "other" and fresh.instance.execution_id == "e2"
    assert fresh.instance.input == '"5"' and fresh.instance.name == "orch"
    assert fresh.instance.runtime_status is RuntimeStatus.Pending
    assert fresh.message.event["Input"] == '"5"'


# --------------------------------------------------------------------------- time formats


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc), "2024-05-01T10:00:00Z"),
        pytest.param(
            datetime(2024, 5, 1, 10, 0, 0, 120000, tzinfo=timezone.utc), "2024-05-01T10:00:00.12Z"
        ),
        pytest.param(
            datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc),
            "2024-05-01T10:00:00.123456Z",
        ),
    ],
)
def test_timestamps_are_written_like_newtonsoft(value: datetime, text: str) -> None:
    assert engine.format_timestamp(value) == text


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T10:00:00.1234567Z", "2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00"],
)
def test_timestamps_with_any_fraction_or_offset_parse_to_utc(text: str) -> None:
    parsed = engine.parse_timestamp(text)

    assert parsed.tzinfo is timezone.utc
    assert parsed.replace(microsecond=0) == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        pytest.param("00:00:00", timedelta(0), id="zero"),
        pytest.param("3.00:00:00", timedelta(days=3), id="days"),
        pytest.param("06:30:15.5000000", timedelta(hours=6, minutes=30, seconds=15.5), id="ticks"),
    ],
)
def test_dotnet_timespans_round_trip(text: str, span: timedelta) -> None:
    assert parse_timespan(text) == span
    assert parse_timespan(format_timespan(span)) == span


def test_an_unparseable_timespan_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="TimeSpan"):
        parse_timespan("three days")
