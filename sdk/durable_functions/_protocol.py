"""The wire vocabulary of the Durable Task extension's out-of-process protocol, once.

History event types, action types, runtime statuses, the marker strings and the
timestamp/timespan codecs. The SDK's public enums (``HistoryEventType``,
``ActionType``, ``OrchestrationRuntimeStatus``) keep the reference SDK's member
names but take their values from here; the host, the engine and the testing
toolkit use these names directly.
"""

from __future__ import annotations

import enum
import functools
import re
import sys
from datetime import datetime, timedelta, timezone

from durable_functions.errors import PayloadError

__all__ = [
    "HTTP_ACTIVITY_NAME",
    "OUT_OF_PROC_MARKER",
    "ActionType",
    "EventType",
    "RuntimeStatus",
    "format_timespan",
    "format_timestamp",
    "parse_timespan",
    "parse_timestamp",
    "parse_utc_timestamp",
]

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
"""Separator between an orchestrator's error text and its OrchestratorState JSON (§4.5)."""

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"
"""Activity name the extension records for durable HTTP calls (``call_http``)."""


class EventType(enum.IntEnum):
    """DurableTask.Core ``EventType`` values (§3.2), numeric in trigger payloads."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


class ActionType(enum.IntEnum):
    """``actionType`` values of an OrchestratorState (§4.2)."""

    CallActivity = 0
    CallActivityWithRetry = 1
    CallSubOrchestrator = 2
    CallSubOrchestratorWithRetry = 3
    ContinueAsNew = 4
    CreateTimer = 5
    WaitForExternalEvent = 6
    CallEntity = 7
    CallHttp = 8
    SignalEntity = 9
    ScheduledSignalEntity = 10
    WhenAny = 11
    WhenAll = 12


class RuntimeStatus(str, enum.Enum):
    """Runtime status names of the management API (§11)."""

    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen to the instance."""
        return self in _TERMINAL

    @property
    def dtfx_value(self) -> int:
        """The DurableTask.Core ``OrchestrationStatus`` number written into history."""
        return _DTFX_STATUS[self]


_TERMINAL = frozenset(
    {
        RuntimeStatus.Completed,
        RuntimeStatus.Failed,
        RuntimeStatus.Terminated,
        RuntimeStatus.Canceled,
    }
)
_DTFX_STATUS = {
    RuntimeStatus.Running: 0,
    RuntimeStatus.Completed: 1,
    RuntimeStatus.ContinuedAsNew: 2,
    RuntimeStatus.Failed: 3,
    RuntimeStatus.Canceled: 4,
    RuntimeStatus.Terminated: 5,
    RuntimeStatus.Pending: 6,
    RuntimeStatus.Suspended: 7,
}

# --------------------------------------------------------------------------- timestamps

_UTC = timezone.utc
_CACHE: dict[str, datetime] = {}
_CACHE_LIMIT = 4096
_NATIVE_ISO = sys.version_info >= (3, 11)


def format_timestamp(value: datetime) -> str:
    """Newtonsoft's ISO text: up to 7 fraction digits, trailing zeros trimmed, ``Z``."""
    value = value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
    text = value.replace(tzinfo=None, microsecond=0).isoformat()
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}0".rstrip("0")
    return text + "Z"


def parse_timestamp(text: str) -> datetime:
    """Parse a history timestamp (ISO 8601, 0-9 fraction digits) into an aware datetime.

    The host writes up to 7 fraction digits; Python keeps 6, so the rest is dropped
    (as the reference SDK does). A value without an offset is taken as UTC; an offset
    is kept. Cached: a history repeats few distinct timestamps, episode after episode.

    Raises:
        PayloadError: the text is not an ISO 8601 timestamp (a ``ValueError``).
    """
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    value = _parse(text)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = value
    return value


@functools.lru_cache(maxsize=4096)
def parse_utc_timestamp(text: str) -> datetime:
    """:func:`parse_timestamp`, converted to UTC (the host compares and stores UTC)."""
    return parse_timestamp(text).astimezone(_UTC)


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


# --------------------------------------------------------------------------- timespans

TIMESPAN = re.compile(
    r"^(?P<negative>-)?(?:(?P<days>[0-9]+)\.)?(?P<hours>[0-9]{1,2}):(?P<minutes>[0-9]{2})"
    r":(?P<seconds>[0-9]{2})(?:\.(?P<ticks>[0-9]{1,7}))?$"
)
"""A .NET ``TimeSpan`` in the constant ("c") format: ``[-][d.]hh:mm:ss[.fffffff]``."""


def parse_timespan(text: str) -> timedelta:
    """Parse a .NET TimeSpan, e.g. ``3.00:00:00`` or ``00:00:01.5000000``.

    Raises:
        PayloadError: the text is not a TimeSpan (a ``ValueError``).
    """
    match = TIMESPAN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise PayloadError(f"Invalid TimeSpan {text!r}: expected [-][d.]hh:mm:ss[.fffffff]")
    span = timedelta(
        days=int(match["days"] or 0),
        hours=int(match["hours"]),
        minutes=int(match["minutes"]),
        seconds=int(match["seconds"]),
        microseconds=int((match["ticks"] or "0").ljust(7, "0")) // 10,
    )
    return -span if match["negative"] else span


def format_timespan(value: timedelta) -> str:
    """Format a duration as a .NET TimeSpan (constant format)."""
    negative = value < timedelta(0)
    value = abs(value)
    total_seconds = value.days * 86400 + value.seconds
    days, rest = divmod(total_seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if days:
        text = f"{days}.{text}"
    if value.microseconds:
        text += f".{value.microseconds * 10:07d}"
    return ("-" if negative else "") + text
