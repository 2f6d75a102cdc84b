"""History events as the host sends them (their types and timestamps come from ``_protocol``).

The replay core reads history events as plain dicts (the JSON the host sent);
:class:`HistoryEvent` objects are only built when user code reads
``context.histories``.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from durable_functions._protocol import EventType, parse_timestamp
from durable_functions._readonly import ReadOnly, ReadWrite
from durable_functions.errors import PayloadError

__all__ = ["HistoryEvent", "HistoryEventType", "parse_timestamp"]


class HistoryEventType(IntEnum):
    """DurableTask.Core's ``EventType`` values (numeric in trigger payloads)."""

    EXECUTION_STARTED = EventType.ExecutionStarted
    EXECUTION_COMPLETED = EventType.ExecutionCompleted
    EXECUTION_FAILED = EventType.ExecutionFailed
    EXECUTION_TERMINATED = EventType.ExecutionTerminated
    TASK_SCHEDULED = EventType.TaskScheduled
    TASK_COMPLETED = EventType.TaskCompleted
    TASK_FAILED = EventType.TaskFailed
    SUB_ORCHESTRATION_INSTANCE_CREATED = EventType.SubOrchestrationInstanceCreated
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = EventType.SubOrchestrationInstanceCompleted
    SUB_ORCHESTRATION_INSTANCE_FAILED = EventType.SubOrchestrationInstanceFailed
    TIMER_CREATED = EventType.TimerCreated
    TIMER_FIRED = EventType.TimerFired
    ORCHESTRATOR_STARTED = EventType.OrchestratorStarted
    ORCHESTRATOR_COMPLETED = EventType.OrchestratorCompleted
    EVENT_SENT = EventType.EventSent
    EVENT_RAISED = EventType.EventRaised
    CONTINUE_AS_NEW = EventType.ContinueAsNew
    GENERIC_EVENT = EventType.GenericEvent
    HISTORY_STATE = EventType.HistoryState
    EXECUTION_SUSPENDED = EventType.ExecutionSuspended
    EXECUTION_RESUMED = EventType.ExecutionResumed


class HistoryEvent:
    """One history event; every host field is kept as an attribute under its PascalCase name.

    Example: ``event.Name``, ``event.Result``, ``event.TaskScheduledId``.
    """

    # Fields most readers look at: ``None`` on the events that do not carry them.
    Name: Any = None
    InstanceId: Any = None
    TaskScheduledId: Any = None
    Reason: Any = None
    Details: Any = None
    Input: Any = None

    def __init__(
        self, EventType: int, EventId: int, IsPlayed: bool, Timestamp: str, **kwargs: Any
    ) -> None:
        self._event_type = EventType
        self._event_id = EventId
        self._is_played = IsPlayed
        self._timestamp = parse_timestamp(Timestamp)
        self._is_processed = False
        for key, value in kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_dict(cls, event: dict[str, Any]) -> HistoryEvent:
        """Build from the host's JSON object.

        Raises:
            PayloadError: a required field is missing.
        """
        try:
            return cls(**event)
        except TypeError as exc:
            raise PayloadError(
                f"Malformed history event {event!r}: needs EventType, EventId, IsPlayed "
                f"and Timestamp ({exc})"
            ) from None

    def __getattr__(self, name: str) -> Any:
        # Only reached for fields this event does not carry.
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    event_type = ReadOnly[int]("_event_type", "The raw ``EventType`` (see ``HistoryEventType``).")
    event_id = ReadOnly[int]("_event_id", "The sequence number of scheduling events, else ``-1``.")
    is_played = ReadOnly[bool]("_is_played", "Whether the backend marked the event as processed.")
    is_processed = ReadWrite[bool]("_is_processed", "Free flag, as in the reference SDK.")
    timestamp = ReadOnly[datetime]("_timestamp", "When the host recorded the event (aware, UTC).")

    def __repr__(self) -> str:
        try:
            name = HistoryEventType(self._event_type).name
        except ValueError:
            name = str(self._event_type)
        return f"HistoryEvent({name}, EventId={self._event_id})"
