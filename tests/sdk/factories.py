"""Builders for history events and orchestration trigger payloads, as the host sends them.

Example::

    history = (
        HistoryBuilder(input="Tokyo")
        .schedule_activity(0, "hello")
        .new_episode()
        .complete_activity(0, "Hello Tokyo!")
        .events
    )
    payload = orchestration_payload(history, input="Tokyo")
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "BASE_TIME",
    "HistoryBuilder",
    "continue_as_new",
    "entity_response",
    "event_raised",
    "event_sent",
    "execution_started",
    "format_timestamp",
    "orchestration_payload",
    "orchestration_payload_json",
    "orchestrator_completed",
    "actions_of",
    "replay_history",
    "orchestrator_started",
    "sub_orchestration_completed",
    "sub_orchestration_created",
    "sub_orchestration_failed",
    "task_completed",
    "task_failed",
    "task_scheduled",
    "timer_created",
    "timer_fired",
]

BASE_TIME = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
"""The default start time of built histories."""

_NO_INPUT: Any = object()


def format_timestamp(moment: datetime) -> str:
    """The host's timestamp text: 7 fractional digits, trailing zeros trimmed, ``Z``."""
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}0".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _event(
    event_type: int,
    *,
    event_id: int = -1,
    timestamp: datetime = BASE_TIME,
    is_played: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": is_played,
        "Timestamp": format_timestamp(timestamp),
    }
    event.update(fields)
    return event


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def orchestrator_started(timestamp: datetime = BASE_TIME, **kw: Any) -> dict[str, Any]:
    return _event(12, timestamp=timestamp, **kw)


def orchestrator_completed(timestamp: datetime = BASE_TIME, **kw: Any) -> dict[str, Any]:
    return _event(13, timestamp=timestamp, **kw)


def execution_started(
    name: str = "orchestrator",
    *,
    input: Any = None,
    version: str | None = "",
    instance_id: str = "instance-1",
    parent_instance: dict[str, Any] | None = None,
    timestamp: datetime = BASE_TIME,
    **kw: Any,
) -> dict[str, Any]:
    """``input`` is the orchestration input value (stored as JSON text, as the host does)."""
    return _event(
        0,
        timestamp=timestamp,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": "execution-1"},
        ParentInstance=parent_instance,
        Name=name,
        Version=version,
        Input=_json_text(input),
        Tags=None,
        **kw,
    )


def task_scheduled(event_id: int, name: str, input: Any = None, **kw: Any) -> dict[str, Any]:
    return _event(4, event_id=event_id, Name=name, Version="", Input=_json_text(input), **kw)


def task_completed(scheduled_id: int, result: Any = None, **kw: Any) -> dict[str, Any]:
    """``result`` is the activity's return value; pass ``result_json=`` for raw text."""
    result_text = kw.pop("result_json", _json_text(result))
    return _event(5, TaskScheduledId=scheduled_id, Result=result_text, **kw)


def task_failed(
    scheduled_id: int, reason: str | None = "boom", details: str | None = "details", **kw: Any
) -> dict[str, Any]:
    return _event(6, TaskScheduledId=scheduled_id, Reason=reason, Details=details, **kw)


def sub_orchestration_created(
    event_id: int, name: str, instance_id: str = "child-1", input: Any = None, **kw: Any
) -> dict[str, Any]:
    return _event(
        7, event_id=event_id, Name=name, Version="", InstanceId=instance_id,
        Input=_json_text(input), **kw,
    )  # fmt: skip


def sub_orchestration_completed(scheduled_id: int, result: Any = None, **kw: Any) -> dict[str, Any]:
    result_text = kw.pop("result_json", _json_text(result))
    return _event(8, TaskScheduledId=scheduled_id, Result=result_text, **kw)


def sub_orchestration_failed(
    scheduled_id: int, reason: str | None = "boom", details: str | None = "details", **kw: Any
) -> dict[str, Any]:
    return _event(9, TaskScheduledId=scheduled_id, Reason=reason, Details=details, **kw)


def timer_created(event_id: int, fire_at: datetime = BASE_TIME, **kw: Any) -> dict[str, Any]:
    return _event(10, event_id=event_id, FireAt=format_timestamp(fire_at), **kw)


def timer_fired(timer_id: int, fire_at: datetime = BASE_TIME, **kw: Any) -> dict[str, Any]:
    return _event(11, TimerId=timer_id, FireAt=format_timestamp(fire_at), **kw)


def event_raised(name: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    """An external event; ``value`` is the event data (``input_json=`` for raw text)."""
    input_text = kw.pop("input_json", _json_text(value))
    return _event(15, Name=name, Input=input_text, **kw)


def event_sent(
    event_id: int,
    instance_id: str,
    operation: str,
    request_id: str,
    input: Any = None,
    *,
    signal: bool = False,
    **kw: Any,
) -> dict[str, Any]:
    """The host's record of an entity call or signal (``Name`` is ``"op"``)."""
    request: dict[str, Any] = {
        "op": operation,
        "input": json.dumps(json.dumps(input)) if input is not None else None,
        "id": request_id,
        "parent": "instance-1",
        "parentExecution": "execution-1",
    }
    if signal:
        request["signal"] = True
    return _event(
        14, event_id=event_id, InstanceId=instance_id, Name="op", Input=json.dumps(request), **kw
    )


def entity_response(
    request_id: str, result: Any = None, *, error: bool = False, **kw: Any
) -> dict[str, Any]:
    """The entity's reply to a call: EventRaised named after the request id."""
    response: dict[str, Any] = {"result": json.dumps(result)}
    if error:
        response["exceptionType"] = "Error"
    return _event(15, Name=request_id, Input=json.dumps(response), **kw)


def continue_as_new(input: Any = None, **kw: Any) -> dict[str, Any]:
    return _event(16, Result=_json_text(input), **kw)


class HistoryBuilder:
    """Builds a history episode by episode, with a clock that advances per episode.

    Starts with ``OrchestratorStarted`` + ``ExecutionStarted``. ``new_episode()`` closes
    the current episode (``OrchestratorCompleted``) and opens the next one one second
    later. With ``played=True``, :attr:`events` marks every event before the last
    episode as played (as Azure Storage does).
    """

    def __init__(
        self,
        name: str = "orchestrator",
        *,
        input: Any = None,
        version: str | None = "",
        start: datetime = BASE_TIME,
        played: bool = False,
        step: timedelta = timedelta(seconds=1),
    ) -> None:
        self.now = start
        self.step = step
        self.played = played
        self._events: list[dict[str, Any]] = [
            orchestrator_started(start),
            execution_started(name, input=input, version=version, timestamp=start),
        ]

    def add(self, *events: dict[str, Any]) -> HistoryBuilder:
        """Append raw events."""
        self._events.extend(events)
        return self

    def new_episode(self, advance: timedelta | None = None) -> HistoryBuilder:
        """Close the episode and start the next one (``advance`` later, default ``step``)."""
        self._events.append(orchestrator_completed(self.now))
        self.now = self.now + (self.step if advance is None else advance)
        self._events.append(orchestrator_started(self.now))
        return self

    def schedule_activity(self, event_id: int, name: str, input: Any = None) -> HistoryBuilder:
        return self.add(task_scheduled(event_id, name, input, timestamp=self.now))

    def complete_activity(self, event_id: int, result: Any = None) -> HistoryBuilder:
        return self.add(task_completed(event_id, result, timestamp=self.now))

    def fail_activity(
        self, event_id: int, reason: str = "boom", details: str = "details"
    ) -> HistoryBuilder:
        return self.add(task_failed(event_id, reason, details, timestamp=self.now))

    def create_timer(self, event_id: int, fire_at: datetime) -> HistoryBuilder:
        return self.add(timer_created(event_id, fire_at, timestamp=self.now))

    def fire_timer(self, event_id: int, fire_at: datetime) -> HistoryBuilder:
        return self.add(timer_fired(event_id, fire_at, timestamp=self.now))

    def raise_event(self, name: str, value: Any = None) -> HistoryBuilder:
        return self.add(event_raised(name, value, timestamp=self.now))

    @property
    def events(self) -> list[dict[str, Any]]:
        """The history so far (copies of the events)."""
        events = [dict(event) for event in self._events]
        if self.played:
            last_start = max(i for i, e in enumerate(events) if e["EventType"] == 12)
            for event in events[:last_start]:
                event["IsPlayed"] = True
        return events


def orchestration_payload(
    history: list[dict[str, Any]],
    *,
    input: Any = _NO_INPUT,
    instance_id: str = "instance-1",
    parent_instance_id: str | None = None,
    is_replaying: bool = False,
    schema: int = 2,
    long_timers: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The orchestration trigger payload (parsed).

    ``schema`` is the negotiated ReplaySchema value (0 = V1, 1 = V2, 2 = V3). ``input``
    is the orchestration input value; it is sent as JSON text, as the host does for
    inputs started through the client. ``long_timers`` sends Azure Storage's timer limits
    (maximum 6 days, 3-day intervals) instead of zero TimeSpans.
    """
    payload: dict[str, Any] = {
        "history": history,
        "input": None if input is _NO_INPUT else json.dumps(input),
        "instanceId": instance_id,
        "isReplaying": is_replaying,
        "parentInstanceId": parent_instance_id,
        "upperSchemaVersion": 1 if schema >= 1 else 0,
    }
    if schema >= 2:
        payload["upperSchemaVersionNew"] = schema
    payload["longRunningTimerIntervalDuration"] = "3.00:00:00" if long_timers else "00:00:00"
    payload["maximumShortTimerDuration"] = "6.00:00:00" if long_timers else "00:00:00"
    payload["defaultHttpAsyncRequestSleepTimeMillseconds"] = 30000
    payload.update(extra)
    return payload


def orchestration_payload_json(history: list[dict[str, Any]], **kw: Any) -> str:
    """:func:`orchestration_payload` as the JSON text the worker hands over."""
    return json.dumps(orchestration_payload(history, **kw))


def replay_history(fn: Any, history: list[dict[str, Any]], **payload_kw: Any) -> Any:
    """Replay ``fn`` over ``history`` (payload options as in :func:`orchestration_payload`).

    Returns the :class:`durable_functions.replay.ReplayResult`.
    """
    from durable_functions.replay import replay

    return replay(fn, orchestration_payload_json(history, **payload_kw))


def actions_of(result: Any) -> list[dict[str, Any]]:
    """The V2/V3 action list of a replay result (the single inner list)."""
    state = json.loads(result.state_json)
    (actions,) = state["actions"]
    return list(actions)
