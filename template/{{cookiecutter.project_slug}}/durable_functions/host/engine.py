"""What the Durable Task extension does with an orchestrator's answer, as pure functions.

The engine never touches a clock, a file, a thread or a random generator: the
caller passes ``now`` and, where a fresh id is needed, a ``new_id`` callable.
Everything is JSON-shaped data in the wire format of protocol.md: history events
are ``dict`` objects with the PascalCase fields DurableTask.Core serializes,
payloads are the ``dict`` the Functions host would send.

One orchestration episode::

    item = backend.claim_orchestration()                  # instance + history + new messages
    episode = prepare_episode(item, now=now, config=cfg)   # payload for the orchestrator
    text = invoker.invoke_orchestrator(name, json.dumps(episode.payload))
    outcome = complete_episode(episode, text, now=now, new_id=new_id)
    backend.complete_orchestration(item, outcome)          # one transaction

Entities, activities, timers and the management operations (terminate, suspend,
resume, rewind, restart, raise event) each have a small pure function here too.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

Event = dict[str, Any]
"""A history event as DurableTask.Core serializes it (``EventType``, ``EventId``, …)."""

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
"""Separator between an orchestrator's error text and its OrchestratorState JSON (§4.5)."""

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"
"""Activity name the extension uses for durable HTTP calls (``call_http``)."""

_ID_NAMESPACE = uuid.UUID("0c6d1d2e-6d2e-4c5a-9a43-5f1f3c1b7e21")
"""Namespace of the deterministic ids (entity request ids) the engine derives."""


class EventType(enum.IntEnum):
    """DurableTask.Core ``EventType`` values (§3.2)."""

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
    {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated, RuntimeStatus.Canceled}
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


# --------------------------------------------------------------------------- payload types


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """Knobs the host would take from its storage provider and host.json."""

    long_running_timer_interval: str = "00:00:00"
    """``longRunningTimerIntervalDuration`` (.NET TimeSpan); zero disables long-timer splitting."""
    maximum_short_timer_duration: str = "00:00:00"
    """``maximumShortTimerDuration`` (.NET TimeSpan); zero like every non-Azure-Storage provider."""
    default_http_async_sleep_ms: int = 30000
    """``defaultHttpAsyncRequestSleepTimeMillseconds`` (sic)."""
    upper_schema_version: int = 1
    """``upperSchemaVersion`` sent to the SDK (1 = V2)."""
    upper_schema_version_new: int = 2
    """``upperSchemaVersionNew`` sent to the SDK (2 = V3)."""
    preserve_unprocessed_events: bool = True
    """Carry events nobody waited for into the next execution on continue-as-new."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentInstance:
    """The orchestration that started a sub-orchestration, and the task waiting for it."""

    instance_id: str
    execution_id: str
    name: str
    version: str | None
    task_schedule_id: int
    """Sequence id of the parent's SubOrchestrationInstanceCreated event."""

    def to_event_json(self) -> dict[str, Any]:
        """The ``ParentInstance`` object of an ExecutionStarted event."""
        return {
            "Name": self.name,
            "Version": self.version,
            "TaskScheduleId": self.task_schedule_id,
            "OrchestrationInstance": {
                "InstanceId": self.instance_id,
                "ExecutionId": self.execution_id,
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceState:
    """The status row of one orchestration instance (what status queries show)."""

    instance_id: str
    execution_id: str
    name: str
    version: str | None = ""
    runtime_status: RuntimeStatus = RuntimeStatus.Pending
    input: str | None = None
    """Raw input, JSON text (= ExecutionStarted ``Input``); ``None`` when started without one."""
    output: str | None = None
    """Output as JSON text; the error text (JSON string) when Failed; the reason when Terminated."""
    custom_status: str | None = None
    """Custom status as JSON text, as the last episode set it."""
    created_time: datetime
    last_updated_time: datetime
    parent: ParentInstance | None = None
    failure: dict[str, Any] | None = None
    """``FailureDetails`` JSON of a Failed instance (``ErrorType``, ``ErrorMessage``, …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestrationMessage:
    """An event on its way to an orchestration instance."""

    instance_id: str
    event: Event
    execution_id: str | None = None
    """Only the execution with this id may consume it; ``None`` = whichever is current."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewInstance:
    """Everything a backend stores to create an instance: its row and its ExecutionStarted."""

    instance: InstanceState
    message: OrchestrationMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerItem:
    """A message to deliver at ``fire_at`` (durable timers, retry delays, scheduled events)."""

    fire_at: datetime
    message: OrchestrationMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityWorkItem:
    """One activity (or built-in HTTP) call to run."""

    instance_id: str
    execution_id: str
    task_id: int
    """Sequence id of the TaskScheduled event; the result goes back as ``TaskScheduledId``."""
    name: str
    input: str | None
    """JSON text of the input, as the CallActivity action carried it."""
    lease: object | None = None
    """Opaque to the engine; a backend uses it to find the claimed row again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityMessage:
    """An operation request (call or signal) on its way to an entity."""

    entity_id: str
    """Scheduler id ``@<lowercased name>@<key>``."""
    request: dict[str, Any]
    """The request JSON of §7.4: ``op``, ``signal`` (only when true), ``input``, ``id``, …"""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityState:
    """Stored state of one entity."""

    entity_id: str
    exists: bool = False
    state: str | None = None
    """JSON text of the state, ``None`` when the entity never stored one."""
    last_modified: datetime | None = None

    @property
    def name(self) -> str:
        """Lowercased entity name."""
        return parse_entity_id(self.entity_id)[0]

    @property
    def key(self) -> str:
        """Entity key, as given."""
        return parse_entity_id(self.entity_id)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestrationWorkItem:
    """What a backend hands out for one orchestration episode."""

    instance: InstanceState
    history: tuple[Event, ...]
    """The current execution's history so far."""
    messages: tuple[OrchestrationMessage, ...]
    """New messages, in arrival order."""
    lease: object | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityWorkItem:
    """What a backend hands out for one entity batch."""

    entity: EntityState
    messages: tuple[EntityMessage, ...]
    lease: object | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Episode:
    """A prepared orchestration episode: the payload to send and what to do afterwards."""

    item: OrchestrationWorkItem
    instance: InstanceState
    """The instance as the episode sees it (status after suspend/resume messages)."""
    history: tuple[Event, ...]
    new_events: tuple[Event, ...]
    """OrchestratorStarted followed by the consumed messages' events."""
    requeue: tuple[OrchestrationMessage, ...]
    """Messages kept for later (the instance is suspended)."""
    payload: dict[str, Any] | None
    """The orchestration trigger payload (§2); ``None`` when no invocation is needed."""
    terminated: str | None = None
    """Reason, when a terminate message ends the instance without an invocation."""
    discard: bool = False
    """True when the messages target a finished instance: they are dropped."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeOutcome:
    """Everything one episode changes, applied by a backend in one transaction."""

    instance: InstanceState
    """The new status row (a new ``execution_id`` after continue-as-new)."""
    history_added: tuple[Event, ...]
    """Events to append to the execution's history."""
    new_execution: bool = False
    """True after continue-as-new: drop the old history, ``history_added`` is the new one."""
    messages: tuple[OrchestrationMessage, ...] = ()
    """Messages to other instances, or to itself (continue-as-new, requeued while suspended)."""
    new_instances: tuple[NewInstance, ...] = ()
    """Sub-orchestrations to create."""
    activities: tuple[ActivityWorkItem, ...] = ()
    timers: tuple[TimerItem, ...] = ()
    cancel_timers: tuple[int, ...] = ()
    """Timer ids (of this instance) that no longer need to fire."""
    entity_messages: tuple[EntityMessage, ...] = ()
    state: dict[str, Any] | None = None
    """The OrchestratorState the orchestrator returned, when it returned one."""

    @property
    def finished(self) -> bool:
        """True when the instance reached a terminal status in this episode."""
        return self.instance.runtime_status.is_terminal


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityOutcome:
    """What one entity batch changes: the entity's state and the responses to callers."""

    entity: EntityState
    messages: tuple[OrchestrationMessage, ...] = ()
    results: tuple[dict[str, Any], ...] = ()
    """The per-operation results the entity function returned (or the fabricated ones)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvocationError:
    """A function invocation that raised, as the host sees it."""

    message: str
    """``str(exception)`` (for orchestrators possibly with the ``$OutOfProcData$`` suffix)."""
    error_type: str = "Exception"
    details: str | None = None
    """Traceback text, when available."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RewindResult:
    """The instance after a rewind and the work that restarts it."""

    instance: InstanceState
    history: tuple[Event, ...]
    """Replaces the instance's history."""
    messages: tuple[OrchestrationMessage, ...]
    activities: tuple[ActivityWorkItem, ...]
    rewind_children: tuple[str, ...]
    """Failed sub-orchestrations to rewind as well (their completion resumes this instance)."""
    restart_children: tuple[NewInstance, ...]
    """Failed sub-orchestrations that no longer exist and are started again."""


# --------------------------------------------------------------------------- time and ids

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


def format_timestamp(value: datetime) -> str:
    """Newtonsoft's ISO text: up to 7 fraction digits, trailing zeros trimmed, ``Z``."""
    value = _as_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}0".rstrip("0")
    return text + "Z"


def parse_timestamp(text: str) -> datetime:
    """Parse the ISO timestamps of history events and actions (0–9 fraction digits)."""
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        raise ValueError(f"Not an ISO-8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    parsed = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
    )
    return parsed.astimezone(timezone.utc)


def parse_timespan(text: str) -> timedelta:
    """Parse a .NET TimeSpan in the constant ("c") format, e.g. ``3.00:00:00``."""
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(f"Not a .NET TimeSpan: {text!r}")
    negative, days, hours, minutes, seconds, ticks = match.groups()
    span = timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((ticks or "0").ljust(7, "0")) // 10,
    )
    return -span if negative else span


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


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def entity_scheduler_id(name: str, key: str) -> str:
    """``@<lowercased name>@<key>``, the id entities are addressed by."""
    return f"@{name.lower()}@{key}"


def parse_entity_id(entity_id: str) -> tuple[str, str]:
    """Split ``@name@key`` into ``(name, key)``; raises ``ValueError`` otherwise."""
    if not entity_id.startswith("@"):
        raise ValueError(f"Not an entity id (expected '@name@key'): {entity_id!r}")
    name, sep, key = entity_id[1:].partition("@")
    if not sep or not name:
        raise ValueError(f"Not an entity id (expected '@name@key'): {entity_id!r}")
    return name, key


def derived_id(*parts: object) -> str:
    """A deterministic GUID from the given parts (replays produce the same id)."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def sub_orchestration_instance_id(parent_instance_id: str, task_id: int) -> str:
    """The id given to a sub-orchestration started without one: ``<parent>:<seq as 16 hex>``."""
    return f"{parent_instance_id}:{task_id:016X}"


def compact_json(text: str | None) -> str | None:
    """Re-serialize JSON text compactly, as the host stores results; non-JSON is kept as is."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- history events


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


# --------------------------------------------------------------------------- management messages


def new_instance(
    name: str,
    instance_id: str,
    input_json: str | None,
    *,
    now: datetime,
    execution_id: str,
    version: str | None = "",
    parent: ParentInstance | None = None,
) -> NewInstance:
    """A Pending instance and its ExecutionStarted message.

    ``input_json`` is the stored raw input: JSON text of the value the host holds
    (for the SDK's ``start_new`` that value is itself JSON text, so the input is a
    JSON string literal, §9.3).
    """
    instance = InstanceState(
        instance_id=instance_id,
        execution_id=execution_id,
        name=name,
        version=version,
        runtime_status=RuntimeStatus.Pending,
        input=input_json,
        created_time=now,
        last_updated_time=now,
        parent=parent,
    )
    started = execution_started_event(
        instance_id=instance_id,
        execution_id=execution_id,
        name=name,
        version=version,
        input_json=input_json,
        parent=parent,
        timestamp=now,
    )
    message = OrchestrationMessage(
        instance_id=instance_id, execution_id=execution_id, event=started
    )
    return NewInstance(instance=instance, message=message)


def raise_event_message(
    instance_id: str, name: str, input_json: str | None, *, now: datetime
) -> OrchestrationMessage:
    """An external event for the current execution of ``instance_id``."""
    return OrchestrationMessage(
        instance_id=instance_id, event=event_raised_event(name, input_json, timestamp=now)
    )


def terminate_message(instance_id: str, reason: str | None, *, now: datetime) -> OrchestrationMessage:
    """ExecutionTerminated message: ends the instance with status Terminated."""
    event = history_event(EventType.ExecutionTerminated, timestamp=now, Input=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def suspend_message(instance_id: str, reason: str | None, *, now: datetime) -> OrchestrationMessage:
    """ExecutionSuspended message: later events wait until the instance is resumed."""
    event = history_event(EventType.ExecutionSuspended, timestamp=now, Reason=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def resume_message(instance_id: str, reason: str | None, *, now: datetime) -> OrchestrationMessage:
    """ExecutionResumed message: delivers the events buffered while suspended."""
    event = history_event(EventType.ExecutionResumed, timestamp=now, Reason=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def is_runnable(status: RuntimeStatus, events: Sequence[Event]) -> bool:
    """Whether an instance with these pending events needs an episode now.

    A suspended instance only wakes up for resume or terminate; everything
    else waits in its queue.
    """
    if not events:
        return False
    if status is not RuntimeStatus.Suspended:
        return True
    wake = (EventType.ExecutionResumed, EventType.ExecutionTerminated)
    return any(e.get("EventType") in wake for e in events)
