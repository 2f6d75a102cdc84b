"""History event builders, in the wire shape DurableTask.Core serializes (protocol §3).

Each builder puts the four common fields first, then the event's own fields in the
order the real host writes them, so stored histories compare equal to recorded ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from durable_functions._protocol import EventType, format_timestamp
from durable_functions.host._types import Event, ParentInstance

SCHEDULING = frozenset(
    {
        EventType.TaskScheduled,
        EventType.TimerCreated,
        EventType.SubOrchestrationInstanceCreated,
        EventType.EventSent,
    }
)
"""Event types that record work the orchestrator scheduled at a sequence id (``EventId``)."""


def history_event(
    event_type: EventType, *, timestamp: datetime, event_id: int = -1, **fields: Any
) -> Event:
    """A history event with the four common fields first, then ``fields`` in order."""
    event: Event = {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(timestamp),
    }
    event.update(fields)
    return event


def execution_started_event(
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    version: str | None,
    input_json: str | None,
    parent: ParentInstance | None,
    timestamp: datetime,
) -> Event:
    """ExecutionStarted (0): the first event of every execution."""
    return history_event(
        EventType.ExecutionStarted,
        timestamp=timestamp,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent.to_event_json() if parent else None,
        Name=name,
        Version=version,
        Input=input_json,
        Tags=None,
    )


def orchestrator_started_event(timestamp: datetime) -> Event:
    """OrchestratorStarted (12): opens an episode; its Timestamp is the orchestration's clock."""
    return history_event(EventType.OrchestratorStarted, timestamp=timestamp)


def orchestrator_completed_event(timestamp: datetime) -> Event:
    """OrchestratorCompleted (13): closes an episode."""
    return history_event(EventType.OrchestratorCompleted, timestamp=timestamp)


def event_raised_event(name: str, input_json: str | None, *, timestamp: datetime) -> Event:
    """EventRaised (15): an external event (or an entity response named by request id)."""
    return history_event(EventType.EventRaised, timestamp=timestamp, Name=name, Input=input_json)


def task_completed_event(task_id: int, result: str | None, *, timestamp: datetime) -> Event:
    """TaskCompleted (5)."""
    return history_event(
        EventType.TaskCompleted, timestamp=timestamp, TaskScheduledId=task_id, Result=result
    )


def failure_details(error_type: str, message: str, stack: str | None) -> dict[str, Any]:
    """The ``FailureDetails`` object DurableTask.Core attaches to failure events."""
    return {
        "ErrorType": error_type,
        "ErrorMessage": message,
        "StackTrace": stack,
        "InnerFailure": None,
        "IsNonRetriable": False,
    }


def task_failed_event(
    task_id: int,
    *,
    reason: str,
    details: str | None,
    failure: dict[str, Any] | None,
    timestamp: datetime,
) -> Event:
    """TaskFailed (6)."""
    return history_event(
        EventType.TaskFailed,
        timestamp=timestamp,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
        FailureDetails=failure,
    )


def timer_fired_event(timer_id: int, fire_at: datetime, *, timestamp: datetime) -> Event:
    """TimerFired (11)."""
    return history_event(
        EventType.TimerFired,
        timestamp=timestamp,
        TimerId=timer_id,
        FireAt=format_timestamp(fire_at),
    )
