"""History events as the host sends them, and a fast timestamp parser.

The replay core reads history events as plain dicts (the JSON the host sent);
:class:`HistoryEvent` objects are only built when user code reads
``context.histories``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from durable_functions.errors import PayloadError

__all__ = ["HistoryEvent", "HistoryEventType", "parse_timestamp"]


class HistoryEventType(IntEnum):
    """DurableTask.Core's ``EventType`` values (numeric in trigger payloads)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


_UTC = timezone.utc
_CACHE: dict[str, datetime] = {}
_CACHE_LIMIT = 4096
_NATIVE_ISO = sys.version_info >= (3, 11)


def parse_timestamp(text: str) -> datetime:
    """Parse a host timestamp (ISO 8601, 0-7 fractional digits) into an aware UTC-offset datetime.

    The host writes up to 7 fractional digits with trailing zeros trimmed; Python keeps
    6, so the 7th digit is dropped (as the reference SDK does). A value without an offset
    is taken as UTC. Results are cached: a history repeats few distinct timestamps.

    Raises:
        PayloadError: the text is not an ISO 8601 timestamp.
    """
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    value = _parse(text)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = value
    return value


def _parse(text: str) -> datetime:
    if _NATIVE_ISO and type(text) is str:
        try:
            value = datetime.fromisoformat(text)  # 3.11+: "Z" and 7 digits are fine
        except ValueError:
            pass
        else:
            return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    if not isinstance(text, str):
        raise PayloadError(f"History timestamp must be a string, got {type(text).__name__}")
    body = text.strip()
    offset = ""
    if body[-1:] in ("Z", "z"):
        body = body[:-1]
        offset = "+00:00"
    elif len(body) > 6 and body[-6] in "+-" and body[-3] == ":":
        body, offset = body[:-6], body[-6:]
    head, dot, fraction = body.partition(".")
    if dot:
        body = f"{head}.{(fraction + '000000')[:6]}"
    try:
        value = datetime.fromisoformat(body + offset)
    except ValueError:
        raise PayloadError(f"Invalid history timestamp {text!r}: expected ISO 8601") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value


class HistoryEvent:
    """One history event; every host field is kept as an attribute under its PascalCase name.

    Example: ``event.Name``, ``event.Result``, ``event.TaskScheduledId``.
    """

    def __init__(
        self, EventType: int, EventId: int, IsPlayed: bool, Timestamp: str, **kwargs: Any
    ) -> None:
        self._event_type = EventType
        self._event_id = EventId
        self._is_played = IsPlayed
        self._timestamp = parse_timestamp(Timestamp)
        self._is_processed = False
        self.Name: Any = None
        self.InstanceId: Any = None
        self.TaskScheduledId: Any = None
        self.Reason: Any = None
        self.Details: Any = None
        self.Input: Any = None
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

    @property
    def event_type(self) -> int:
        """The raw ``EventType`` (compare with :class:`HistoryEventType`)."""
        return self._event_type

    @property
    def event_id(self) -> int:
        """The sequence number of scheduling events, ``-1`` for most others."""
        return self._event_id

    @property
    def is_played(self) -> bool:
        """Whether the backend marked the event as already processed."""
        return self._is_played

    @property
    def is_processed(self) -> bool:
        """Free flag kept for compatibility with the reference SDK."""
        return self._is_processed

    @is_processed.setter
    def is_processed(self, value: bool) -> None:
        self._is_processed = value

    @property
    def timestamp(self) -> datetime:
        """When the host recorded the event (aware, UTC offset)."""
        return self._timestamp

    def __repr__(self) -> str:
        try:
            name = HistoryEventType(self._event_type).name
        except ValueError:
            name = str(self._event_type)
        return f"HistoryEvent({name}, EventId={self._event_id})"
