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

import json
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from durable_functions._protocol import (
    HTTP_ACTIVITY_NAME,
    OUT_OF_PROC_MARKER,
    ActionType,
    EventType,
    RuntimeStatus,
    format_timestamp,
)
from durable_functions._protocol import parse_utc_timestamp as parse_timestamp

Event = dict[str, Any]
"""A history event as DurableTask.Core serializes it (``EventType``, ``EventId``, …)."""

_ID_NAMESPACE = uuid.UUID("0c6d1d2e-6d2e-4c5a-9a43-5f1f3c1b7e21")
"""Namespace of the deterministic ids (entity request ids) the engine derives."""


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
    history_json: tuple[str, ...] | None = None
    """The history's events as JSON text, when the backend stores them so: the
    payload then reuses them instead of encoding the whole history every episode."""


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
    new_events: tuple[Event, ...] = ()
    """OrchestratorStarted followed by the consumed messages' events."""
    requeue: tuple[OrchestrationMessage, ...] = ()
    """Messages kept for later (the instance is suspended)."""
    payload: dict[str, Any] | None = None
    """The orchestration trigger payload (§2); ``None`` when no invocation is needed."""
    terminated: str | None = None
    """Reason, when a terminate message ends the instance without an invocation."""
    discard: bool = False
    """True when the messages target a finished instance: they are dropped."""
    preserve_unprocessed_events: bool = True
    """From ``EngineConfig``: carry unconsumed events across continue-as-new."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeOutcome:
    """Everything one episode changes, applied by a backend in one transaction."""

    instance: InstanceState
    """The new status row (a new ``execution_id`` after continue-as-new)."""
    history_added: tuple[Event, ...]
    """Events to append to the execution's history."""
    new_execution: bool = False
    """True after continue-as-new: drop the old history, ``history_added`` is the new one."""
    closed_history: tuple[Event, ...] = ()
    """After continue-as-new: the events that ended the old execution (its last episode,
    closed by a ContinueAsNew event), for observers; backends need not store them."""
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

    @classmethod
    def of(cls, exc: BaseException) -> InvocationError:
        """The error an invocation that raised ``exc`` reports, with its traceback."""
        return cls(
            message=str(exc),
            error_type=type(exc).__name__,
            details="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RewindResult:
    """The instance after a rewind and the work that restarts it."""

    instance: InstanceState
    history: tuple[Event, ...]
    """Replaces the instance's history."""
    messages: tuple[OrchestrationMessage, ...]
    activities: tuple[ActivityWorkItem, ...]
    children: tuple[NewInstance, ...]
    """Failed sub-orchestrations to run again: rewind the failed instance with that id, or,
    when it is gone, create this one (its completion resumes the rewound parent)."""


# --------------------------------------------------------------------------- time and ids


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


def terminate_message(
    instance_id: str, reason: str | None, *, now: datetime
) -> OrchestrationMessage:
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


# --------------------------------------------------------------------------- episodes


def prepare_episode(
    item: OrchestrationWorkItem, *, now: datetime, config: EngineConfig | None = None
) -> Episode:
    """Sort the claimed messages and build the orchestration trigger payload (§2).

    Messages for another execution are dropped (DTFx does the same with stale
    work); ExecutionStarted always comes first; while suspended, events other than
    resume/terminate stay queued; a terminate ends the instance without an invocation.
    """
    config = config or EngineConfig()
    instance = item.instance
    history = tuple(item.history)
    current = [m for m in item.messages if m.execution_id in (None, instance.execution_id)]
    if instance.runtime_status.is_terminal:
        return Episode(
            item=item,
            instance=instance,
            history=history,
            discard=True,
        )
    started_type = int(EventType.ExecutionStarted)
    if not history:
        starts = [m for m in current if m.event.get("EventType") == started_type]
        others = [m for m in current if m.event.get("EventType") != started_type]
        if not starts:
            # The execution has not started yet (its ExecutionStarted is still queued
            # behind these): keep them for the episode that starts it.
            return Episode(
                item=item,
                instance=instance,
                history=history,
                requeue=tuple(current),
            )
        current = starts[:1] + others
    else:
        current = [m for m in current if m.event.get("EventType") != started_type]
    current = _without_duplicate_completions(history, current)

    suspended = instance.runtime_status is RuntimeStatus.Suspended
    consumed: list[Event] = []
    buffered: list[OrchestrationMessage] = []
    for message in current:
        kind = message.event.get("EventType")
        if kind == EventType.ExecutionTerminated:
            reason = message.event.get("Input")
            return Episode(
                item=item,
                instance=instance,
                history=history,
                new_events=(orchestrator_started_event(now), message.event),
                terminated=reason if reason is not None else "",
            )
        if kind == EventType.ExecutionSuspended:
            if not suspended:
                consumed.append(message.event)
                suspended = True
        elif kind == EventType.ExecutionResumed:
            if suspended:
                consumed.append(message.event)
                suspended = False
                consumed.extend(m.event for m in buffered)
                buffered = []
        elif suspended:
            buffered.append(message)
        else:
            consumed.append(message.event)

    status = instance.runtime_status
    if suspended:
        status = RuntimeStatus.Suspended
    elif status in (RuntimeStatus.Suspended, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew):
        status = RuntimeStatus.Running
    episode_instance = instance
    if status is not instance.runtime_status:
        episode_instance = replace(instance, runtime_status=status)
    if not consumed:
        return Episode(
            item=item,
            instance=episode_instance,
            history=history,
            requeue=tuple(buffered),
        )
    new_events = (orchestrator_started_event(now), *consumed)
    payload = build_orchestrator_payload(episode_instance, history + new_events, config=config)
    return Episode(
        item=item,
        instance=episode_instance,
        history=history,
        new_events=new_events,
        requeue=tuple(buffered),
        payload=payload,
        preserve_unprocessed_events=config.preserve_unprocessed_events,
    )


def _completion_key(event: Event) -> tuple[str, int] | None:
    kind = event.get("EventType")
    if kind == EventType.TimerFired:
        task_id = event.get("TimerId")
        return ("timer", task_id) if isinstance(task_id, int) else None
    if kind in (
        EventType.TaskCompleted,
        EventType.TaskFailed,
        EventType.SubOrchestrationInstanceCompleted,
        EventType.SubOrchestrationInstanceFailed,
    ):
        task_id = event.get("TaskScheduledId")
        return ("task", task_id) if isinstance(task_id, int) else None
    return None


def _without_duplicate_completions(
    history: Sequence[Event], messages: list[OrchestrationMessage]
) -> list[OrchestrationMessage]:
    """Drop a second completion of the same task (at-least-once delivery after a crash)."""
    seen = {key for key in map(_completion_key, history) if key is not None}
    kept: list[OrchestrationMessage] = []
    for message in messages:
        key = _completion_key(message.event)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        kept.append(message)
    return kept


def build_orchestrator_payload(
    instance: InstanceState, history: Sequence[Event], *, config: EngineConfig | None = None
) -> dict[str, Any]:
    """The orchestration trigger payload (§2) for the full history of this episode."""
    config = config or EngineConfig()
    started = next((e for e in history if e.get("EventType") == EventType.ExecutionStarted), None)
    raw_input = started.get("Input") if started else instance.input
    value: Any = None
    if raw_input is not None:
        try:
            value = json.loads(raw_input)
        except ValueError:
            value = raw_input
    return {
        "history": list(history),
        "input": value,
        "instanceId": instance.instance_id,
        "isReplaying": bool(started.get("IsPlayed")) if started else False,
        "parentInstanceId": instance.parent.instance_id if instance.parent else None,
        "upperSchemaVersion": config.upper_schema_version,
        "upperSchemaVersionNew": config.upper_schema_version_new,
        "longRunningTimerIntervalDuration": config.long_running_timer_interval,
        "maximumShortTimerDuration": config.maximum_short_timer_duration,
        "defaultHttpAsyncRequestSleepTimeMillseconds": config.default_http_async_sleep_ms,
    }


def parse_orchestrator_error(text: str) -> tuple[str, dict[str, Any] | None]:
    """Split an orchestrator's exception text at ``$OutOfProcData$`` (§4.5).

    Returns the error text and the OrchestratorState carried after the marker,
    or ``(text, None)`` when the text carries none (a plain function failure).
    """
    head, marker, tail = text.partition(OUT_OF_PROC_MARKER)
    if not marker:
        return text, None
    try:
        state = json.loads(tail)
    except ValueError:
        return head, None
    if not isinstance(state, dict):
        return head, None
    error = state.get("error")
    return (error if isinstance(error, str) and error else head), state


def complete_episode(
    episode: Episode,
    result: str | InvocationError | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
) -> EpisodeOutcome:
    """Turn the orchestrator's answer into history, status and outgoing work.

    ``result`` is the OrchestratorState JSON text the orchestrator returned, an
    ``InvocationError`` when it raised, or ``None`` when the episode needed no
    invocation (``episode.payload is None``).
    """
    instance = episode.instance
    if episode.discard:
        return EpisodeOutcome(instance=instance, history_added=())
    if episode.terminated is not None:
        return _terminate(episode, episode.terminated, now=now)
    if episode.payload is None:
        return EpisodeOutcome(instance=instance, history_added=(), messages=episode.requeue)

    state: dict[str, Any] | None
    error: str | None = None
    error_type = "Exception"
    details: str | None = None
    if isinstance(result, InvocationError):
        error, state = parse_orchestrator_error(result.message)
        error_type, details = result.error_type, result.details
    elif result is None:
        state, error = None, "the orchestrator function returned nothing"
    else:
        try:
            parsed = json.loads(result)
        except ValueError as exc:
            parsed, error = None, f"the orchestrator function returned invalid JSON: {exc}"
        if isinstance(parsed, str):
            # Some callers hand over the JSON string the worker would have carried.
            try:
                parsed = json.loads(parsed)
            except ValueError:
                parsed = None
        state = parsed if isinstance(parsed, dict) else None
        if state is None and error is None:
            error = "the orchestrator function returned something other than an OrchestratorState"
        elif state is not None and state.get("error"):
            error = str(state["error"])

    history = episode.history + episode.new_events
    custom_status = instance.custom_status
    if state is not None:
        custom = state.get("customStatus")
        custom_status = None if custom is None else json.dumps(custom, separators=(",", ":"))
    sim = _Replay(instance=instance, history=history, now=now, new_id=new_id)
    if state is not None:
        try:
            sim.run(_top_level_actions(state))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # A malformed action must fail its instance, not the host that runs it.
            sim = _Replay(instance=instance, history=history, now=now, new_id=new_id)
            if error is None:
                error, error_type = f"the orchestrator sent an invalid action: {exc}", "ValueError"
    replay_failed = error is None and sim.nondeterminism is not None
    if replay_failed:
        error, error_type = sim.nondeterminism, "NonDeterminismError"

    added: list[Event] = list(episode.new_events)
    common: dict[str, Any] = {"state": state}
    if not replay_failed:
        # Work decided before a non-determinism was found is not trustworthy: drop it.
        added.extend(sim.new_events())
        common["new_instances"] = tuple(sim.new_instances)
        common["entity_messages"] = tuple(sim.entity_messages)
    instance = replace(instance, custom_status=custom_status, last_updated_time=now)
    done = bool(state and state.get("isDone"))
    if error is not None:
        reason = f"Orchestrator function '{instance.name}' failed: {error}"
        failure = failure_details(error_type, error, details)
        return _close(
            instance,
            added,
            RuntimeStatus.Failed,
            result=reason,
            output=json.dumps(reason),
            reason=reason,
            failure=failure,
            event_id=sim.counter,
            now=now,
            common=common,
        )
    if done and sim.continue_as_new is not None:
        added.extend(
            [
                history_event(
                    EventType.ContinueAsNew,
                    timestamp=now,
                    event_id=sim.continue_as_new_id,
                    OrchestrationStatus=RuntimeStatus.ContinuedAsNew.dtfx_value,
                    Result=(sim.continue_as_new or {}).get("input"),
                    FailureDetails=None,
                ),
                orchestrator_completed_event(now),
            ]
        )
        return _continue_as_new(
            episode, sim, instance, now=now, new_id=new_id, common=common, closed=added
        )
    if done:
        output = state.get("output") if state else None
        output_json = None if output is None else json.dumps(output, separators=(",", ":"))
        return _close(
            instance,
            added,
            RuntimeStatus.Completed,
            result=output_json,
            output=output_json,
            event_id=sim.counter,
            now=now,
            common=common,
        )
    added.append(orchestrator_completed_event(now))
    return EpisodeOutcome(
        instance=instance,
        history_added=tuple(added),
        messages=episode.requeue,
        activities=tuple(sim.activities),
        timers=tuple(sim.timers),
        cancel_timers=tuple(sim.cancel_timers),
        **common,
    )


def _terminate(episode: Episode, reason: str, *, now: datetime) -> EpisodeOutcome:
    return _close(
        replace(episode.instance, last_updated_time=now),
        list(episode.new_events),
        RuntimeStatus.Terminated,
        result=reason,
        output=json.dumps(reason),
        reason=reason,
        now=now,
    )


def _close(
    instance: InstanceState,
    added: list[Event],
    status: RuntimeStatus,
    *,
    result: str | None,
    output: str | None,
    now: datetime,
    reason: str | None = None,
    failure: dict[str, Any] | None = None,
    event_id: int = -1,
    common: dict[str, Any] | None = None,
) -> EpisodeOutcome:
    """End the execution in ``status``: one shape for completed, failed and terminated."""
    added.append(
        history_event(
            EventType.ExecutionCompleted,
            timestamp=now,
            event_id=event_id,
            OrchestrationStatus=status.dtfx_value,
            Result=result,
            FailureDetails=failure,
        )
    )
    added.append(orchestrator_completed_event(now))
    instance = replace(instance, runtime_status=status, output=output)
    if failure is not None:
        instance = replace(instance, failure=failure)
    return EpisodeOutcome(
        instance=instance,
        history_added=tuple(added),
        messages=tuple(_notify_parent(instance, reason=reason, now=now)),
        **(common or {}),
    )


def _notify_parent(
    instance: InstanceState, *, reason: str | None, now: datetime
) -> list[OrchestrationMessage]:
    """SubOrchestrationInstanceCompleted/Failed for the parent, if there is one."""
    parent = instance.parent
    if parent is None:
        return []
    if instance.runtime_status is RuntimeStatus.Completed:
        event = history_event(
            EventType.SubOrchestrationInstanceCompleted,
            timestamp=now,
            TaskScheduledId=parent.task_schedule_id,
            Result=instance.output,
        )
    else:
        failure = instance.failure or failure_details("Exception", reason or "", None)
        event = history_event(
            EventType.SubOrchestrationInstanceFailed,
            timestamp=now,
            TaskScheduledId=parent.task_schedule_id,
            Reason=reason,
            Details=failure.get("StackTrace"),
            FailureDetails=failure,
        )
    return [
        OrchestrationMessage(
            instance_id=parent.instance_id, execution_id=parent.execution_id, event=event
        )
    ]


def _continue_as_new(
    episode: Episode,
    sim: _Replay,
    instance: InstanceState,
    *,
    now: datetime,
    new_id: Callable[[], str],
    common: dict[str, Any],
    closed: list[Event],
) -> EpisodeOutcome:
    action = sim.continue_as_new or {}
    action_input = action.get("input")
    input_json = None if action_input is None else json.dumps(action_input)
    execution_id = new_id()
    fresh = new_instance(
        instance.name,
        instance.instance_id,
        input_json,
        now=now,
        execution_id=execution_id,
        version=instance.version,
        parent=instance.parent,
    )
    carried = [
        OrchestrationMessage(
            instance_id=instance.instance_id, execution_id=execution_id, event=event
        )
        for event in (sim.unprocessed_events() if episode.preserve_unprocessed_events else [])
    ]
    requeued = [replace(m, execution_id=None) for m in episode.requeue]
    next_instance = replace(
        instance,
        execution_id=execution_id,
        runtime_status=RuntimeStatus.ContinuedAsNew,
        input=input_json,
        output=None,
        custom_status=None,
        failure=None,
        last_updated_time=now,
    )
    return EpisodeOutcome(
        instance=next_instance,
        history_added=(),
        new_execution=True,
        closed_history=tuple(closed),
        messages=(fresh.message, *carried, *requeued),
        **common,
    )


def _top_level_actions(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The actions in the order the host replays them (§4.3).

    V2/V3 (``schemaVersion`` ≥ 1): one list, compounds kept as compounds. V1: one
    inner list per yield; a list of several actions was a compound whose type the
    SDK did not send, so it is treated as a WhenAll group.
    """
    raw = state.get("actions") or []
    schema = state.get("schemaVersion") or 0
    top: list[dict[str, Any]] = []
    for group in raw:
        if not isinstance(group, list):
            if isinstance(group, dict):
                top.append(group)
            continue
        actions = [a for a in group if isinstance(a, dict)]
        if schema:
            top.extend(actions)
        elif len(actions) == 1:
            top.append(actions[0])
        elif actions:
            top.append({"actionType": int(ActionType.WhenAll), "compoundActions": actions})
    return top


# --------------------------------------------------------------------------- the host-side replay

_SCHEDULING = frozenset(
    {
        EventType.TaskScheduled,
        EventType.TimerCreated,
        EventType.SubOrchestrationInstanceCreated,
        EventType.EventSent,
    }
)


class _Node:
    """A task as the host sees it while replaying the action list."""

    __slots__ = ("done", "failed", "parent")

    def __init__(self, parent: _Node | None) -> None:
        self.done = False
        self.failed = False
        self.parent = parent

    def child_done(self, child: _Node, sim: _Replay) -> None:
        """React to a child task finishing."""


class _Leaf(_Node):
    __slots__ = ("kind", "action", "task_id", "canceled")

    def __init__(self, parent: _Node | None, kind: str, action: Mapping[str, Any]) -> None:
        super().__init__(parent)
        self.kind = kind
        self.action = action
        self.task_id: int | None = None
        self.canceled = False


class _Group(_Node):
    """WhenAll / WhenAny over children, evaluated once all children exist."""

    __slots__ = ("any", "children", "building", "finished", "failures")

    def __init__(self, parent: _Node | None, *, any_: bool) -> None:
        super().__init__(parent)
        self.any = any_
        self.children: list[_Node] = []
        self.building = True
        self.finished = 0
        """Children done so far (counted, so a fan-out of N is not rescanned N times)."""
        self.failures = 0

    def child_done(self, child: _Node, sim: _Replay) -> None:
        self.finished += 1
        if child.failed:
            self.failures += 1
        if self.building or self.done:
            return
        # Built and still open: no other child had finished in a deciding way.
        # A WhenAny succeeds even when its first child failed (protocol §5.8, .NET Task.WhenAny).
        if self.any:
            sim.finish(self, failed=False)
        elif child.failed:
            sim.finish(self, failed=True)
        elif self.finished == len(self.children):
            sim.finish(self, failed=False)

    def evaluate(self, sim: _Replay) -> None:
        """Once built: finish if the rule is met (WhenAny: first child; WhenAll: all, a failure)."""
        if self.done:
            return
        if not self.children:
            sim.finish(self, failed=False)
        elif self.any:
            if self.finished:
                sim.finish(self, failed=False)
        elif self.failures:
            sim.finish(self, failed=True)
        elif self.finished == len(self.children):
            sim.finish(self, failed=False)


class _Retry(_Node):
    """CallActivityWithRetry / CallSubOrchestratorWithRetry: DTFx's retry interceptor."""

    __slots__ = ("action", "kind", "attempts", "first_attempt", "exhausted", "attempt", "timer")

    def __init__(self, parent: _Node | None, action: Mapping[str, Any], kind: str) -> None:
        super().__init__(parent)
        self.action = action
        self.kind = kind
        self.attempts = 0
        self.first_attempt: datetime | None = None
        self.exhausted = False
        self.attempt: _Leaf | None = None
        self.timer: _Leaf | None = None

    def child_done(self, child: _Node, sim: _Replay) -> None:
        if self.done:
            return
        if child is self.attempt:
            if child.failed:
                sim.retry_timer(self)
            else:
                sim.finish(self, failed=False)
        elif child is self.timer:
            if self.exhausted:
                sim.finish(self, failed=True)
            else:
                sim.retry_attempt(self)


class _Replay:
    """Replays an action list against history the way DTFx replays the out-of-proc shim.

    The shim awaits the top-level actions one after another (fire-and-forget ones
    are not awaited), so sequence ids are handed out in the order the awaited tasks
    complete in history, interleaved with the ids the retry interceptor takes for
    its timers and attempts — the same numbers the SDK assigns. Actions the
    history has not seen yet become new scheduling events and outgoing work.
    """

    def __init__(
        self,
        *,
        instance: InstanceState,
        history: Sequence[Event],
        now: datetime,
        new_id: Callable[[], str],
    ) -> None:
        self.instance = instance
        self.history = history
        self.now = now
        self.new_id = new_id
        self.counter = 0
        self.scheduled: dict[int, Event] = {}
        self.completed: set[int] = set()
        for event in history:
            kind = event.get("EventType")
            if kind in _SCHEDULING and isinstance(event.get("EventId"), int):
                self.scheduled[event["EventId"]] = event
            elif kind == EventType.TimerFired:
                self.completed.add(event.get("TimerId", -1))
        self.allocated: set[int] = set()
        self.pending: dict[int, _Leaf] = {}
        self.early: dict[int, bool] = {}
        self.waiters: dict[str, list[_Leaf]] = {}
        self.deferred: dict[str, tuple[int, Event]] = {}
        self.consumed: set[int] = set()
        self.clock = now
        for event in history:
            if event.get("EventType") == EventType.OrchestratorStarted:
                self.clock = parse_timestamp(event["Timestamp"])
                break
        self.actions: list[dict[str, Any]] = []
        self.cursor = 0
        self.current: _Node | None = None
        self.canceled: list[_Leaf] = []
        self._new: list[tuple[int, Event]] = []
        self.activities: list[ActivityWorkItem] = []
        self.timers: list[TimerItem] = []
        self.cancel_timers: list[int] = []
        self.new_instances: list[NewInstance] = []
        self.entity_messages: list[EntityMessage] = []
        self.nondeterminism: str | None = None
        self.continue_as_new: dict[str, Any] | None = None
        self.continue_as_new_id = -1

    # -- driving

    def run(self, actions: list[dict[str, Any]]) -> None:
        """Replay ``actions`` against the whole history (past and new events)."""
        self.actions = actions
        for index, event in enumerate(self.history):
            if self.nondeterminism is not None:
                return
            self._apply(index, event)
        # The SDK may be ahead of the strictly sequential model (e.g. it reused a
        # buffered event); whatever it still sent is started now, in order.
        self._advance(force=True)
        if self.nondeterminism is None and self.continue_as_new is None:
            self._check_forgotten()
        for leaf in self.canceled:
            if leaf.task_id is not None and leaf.task_id not in self.completed:
                self.cancel_timers.append(leaf.task_id)

    def new_events(self) -> list[Event]:
        """Scheduling events of this episode, ordered by sequence id like DTFx's decisions."""
        return [event for _, event in sorted(self._new, key=lambda pair: pair[0])]

    def unprocessed_events(self) -> list[Event]:
        """EventRaised events no waiter took (kept across continue-as-new)."""
        return [
            event
            for index, event in enumerate(self.history)
            if event.get("EventType") == EventType.EventRaised and index not in self.consumed
        ]

    def _apply(self, index: int, event: Event) -> None:
        kind = event.get("EventType")
        if kind == EventType.OrchestratorStarted:
            stamp = parse_timestamp(event["Timestamp"])
            self.clock = max(self.clock, stamp)
        elif kind == EventType.ExecutionStarted:
            self._advance()
        elif kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted):
            self._complete(event.get("TaskScheduledId"), failed=False)
        elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed):
            self._complete(event.get("TaskScheduledId"), failed=True)
        elif kind == EventType.TimerFired:
            self._complete(event.get("TimerId"), failed=False)
        elif kind == EventType.EventRaised:
            self._raise(index, event)

    def _advance(self, *, force: bool = False) -> None:
        while (
            self.cursor < len(self.actions)
            and self.nondeterminism is None
            and self.continue_as_new is None
        ):
            if not force and self.current is not None and not self.current.done:
                return
            action = self.actions[self.cursor]
            self.cursor += 1
            self.current = self._start(action, None)

    def finish(self, node: _Node, *, failed: bool) -> None:
        """Mark ``node`` finished and tell its parent."""
        if node.done:
            return
        node.done = True
        node.failed = failed
        if node.parent is not None:
            node.parent.child_done(node, self)

    def _complete(self, task_id: Any, *, failed: bool) -> None:
        if not isinstance(task_id, int):
            return
        leaf = self.pending.pop(task_id, None)
        if leaf is None:
            self.early[task_id] = failed
            return
        self.finish(leaf, failed=failed)
        self._advance()

    def _raise(self, index: int, event: Event) -> None:
        name = str(event.get("Name"))
        waiting = self.waiters.get(name)
        if not waiting:
            self.deferred[name] = (index, event)
            return
        leaf = waiting.pop()  # the most recently registered waiter, like the SDK
        self.consumed.add(index)
        self.finish(leaf, failed=leaf.kind == "entity" and _is_entity_error(event))
        self._advance()

    # -- starting tasks

    def _start(self, action: Mapping[str, Any], parent: _Node | None) -> _Node:
        kind = action.get("actionType")
        if kind in (ActionType.WhenAll, ActionType.WhenAny):
            group = _Group(parent, any_=kind == ActionType.WhenAny)
            for child in action.get("compoundActions") or []:
                if isinstance(child, Mapping):
                    group.children.append(self._start(child, group))
            group.building = False
            group.evaluate(self)
            return group
        if kind in (ActionType.CallActivityWithRetry, ActionType.CallSubOrchestratorWithRetry):
            retry = _Retry(
                parent,
                action,
                "activity" if kind == ActionType.CallActivityWithRetry else "suborch",
            )
            retry.first_attempt = self.clock
            self.retry_attempt(retry)
            return retry
        simple: dict[int, str] = {
            ActionType.CallActivity: "activity",
            ActionType.CallSubOrchestrator: "suborch",
            ActionType.CreateTimer: "timer",
            ActionType.WaitForExternalEvent: "event",
            ActionType.CallEntity: "entity",
            ActionType.CallHttp: "http",
            ActionType.SignalEntity: "signal",
            ActionType.ContinueAsNew: "continue",
        }
        leaf = _Leaf(
            parent, simple.get(kind, "unknown") if isinstance(kind, int) else "unknown", action
        )
        self._start_leaf(leaf)
        return leaf

    def _start_leaf(self, leaf: _Leaf) -> None:
        action = leaf.action
        if leaf.kind == "unknown":
            self.finish(leaf, failed=False)
            return
        if leaf.kind == "event":
            self._wait(leaf, str(action.get("externalEventName")))
            return
        task_id = self.counter
        self.counter += 1
        leaf.task_id = task_id
        self.allocated.add(task_id)
        if leaf.kind == "continue":
            self.continue_as_new = dict(action)
            self.continue_as_new_id = task_id
            self.finish(leaf, failed=False)
            return
        recorded = self.scheduled.get(task_id)
        if recorded is not None:
            problem = _mismatch(recorded, leaf)
            if problem is not None:
                self.nondeterminism = problem
                return
        else:
            self._schedule(leaf, task_id)
        if leaf.kind == "timer" and action.get("isCanceled"):
            leaf.canceled = True
            self.canceled.append(leaf)
        if leaf.kind == "signal":
            self.finish(leaf, failed=False)
        elif leaf.kind == "entity":
            self._wait(leaf, _request_id(self.scheduled.get(task_id), self.instance, task_id))
        elif task_id in self.early:
            self.finish(leaf, failed=self.early.pop(task_id))
        else:
            self.pending[task_id] = leaf

    def _wait(self, leaf: _Leaf, name: str) -> None:
        buffered = self.deferred.get(name)
        if buffered is not None:
            index, event = buffered
            self.consumed.add(index)
            self.finish(leaf, failed=leaf.kind == "entity" and _is_entity_error(event))
            return
        self.waiters.setdefault(name, []).append(leaf)

    # -- retries (DTFx RetryInterceptor)

    def retry_attempt(self, retry: _Retry) -> None:
        """Schedule the next attempt of a retried call."""
        retry.attempts += 1
        attempt = _Leaf(retry, retry.kind, retry.action)
        retry.attempt = attempt
        self._start_leaf(attempt)

    def retry_timer(self, retry: _Retry) -> None:
        """After a failed attempt: a timer for the next one, or a last timer before failing."""
        options = retry.action.get("retryOptions") or {}
        first = float(options.get("firstRetryIntervalInMilliseconds") or 0)
        max_attempts = int(options.get("maxNumberOfAttempts") or 1)
        backoff = float(options.get("backoffCoefficient") or 1)
        max_interval = options.get("maxRetryIntervalInMilliseconds")
        timeout = options.get("retryTimeoutInMilliseconds")
        delay = timedelta(0)
        expired = (
            timeout is not None
            and retry.first_attempt is not None
            and self.clock >= retry.first_attempt + timedelta(milliseconds=float(timeout))
        )
        if retry.attempts < max_attempts and not expired:
            millis = first * backoff ** (retry.attempts - 1)
            if max_interval is not None:
                millis = min(millis, float(max_interval))
            delay = timedelta(milliseconds=millis)
        else:
            retry.exhausted = True
        fire_at = self.clock + delay
        timer = _Leaf(retry, "timer", {"fireAt": format_timestamp(fire_at), "isCanceled": False})
        retry.timer = timer
        self._start_leaf(timer)

    # -- new work

    def _schedule(self, leaf: _Leaf, task_id: int) -> None:
        action, instance, now = leaf.action, self.instance, self.now
        if leaf.kind in ("activity", "http"):
            if leaf.kind == "http":
                name = HTTP_ACTIVITY_NAME
                input_text: str | None = json.dumps(action.get("httpRequest"))
            else:
                name = str(action.get("functionName"))
                input_text = action.get("input")
            event = history_event(
                EventType.TaskScheduled,
                timestamp=now,
                event_id=task_id,
                Name=name,
                Version="",
                Input=input_text,
            )
            self.activities.append(
                ActivityWorkItem(
                    instance_id=instance.instance_id,
                    execution_id=instance.execution_id,
                    task_id=task_id,
                    name=name,
                    input=input_text,
                )
            )
        elif leaf.kind == "suborch":
            name = str(action.get("functionName"))
            child_id = action.get("instanceId") or sub_orchestration_instance_id(
                instance.instance_id, task_id
            )
            version = action.get("version")
            child_input = action.get("input")
            event = history_event(
                EventType.SubOrchestrationInstanceCreated,
                timestamp=now,
                event_id=task_id,
                Name=name,
                Version=version,
                InstanceId=child_id,
                Input=child_input,
            )
            parent = ParentInstance(
                instance_id=instance.instance_id,
                execution_id=instance.execution_id,
                name=instance.name,
                version=instance.version,
                task_schedule_id=task_id,
            )
            self.new_instances.append(
                new_instance(
                    name,
                    str(child_id),
                    None if child_input is None else json.dumps(child_input),
                    now=now,
                    execution_id=self.new_id(),
                    version=version if version is not None else "",
                    parent=parent,
                )
            )
        elif leaf.kind == "timer":
            fire_at = parse_timestamp(str(action.get("fireAt")))
            event = history_event(
                EventType.TimerCreated,
                timestamp=now,
                event_id=task_id,
                FireAt=format_timestamp(fire_at),
            )
            if not action.get("isCanceled"):
                fired = timer_fired_event(task_id, fire_at, timestamp=max(fire_at, now))
                message = OrchestrationMessage(
                    instance_id=instance.instance_id,
                    execution_id=instance.execution_id,
                    event=fired,
                )
                self.timers.append(TimerItem(fire_at=fire_at, message=message))
        else:  # entity call or signal
            entity_id = str(action.get("instanceId"))
            parse_entity_id(entity_id)  # a bad id fails the orchestration, not the entity worker
            operation = action.get("operation")
            op_input = action.get("input")
            request: dict[str, Any] = {"op": operation}
            if leaf.kind == "signal":
                request["signal"] = True
            request.update(
                {
                    "input": None if op_input is None else json.dumps(op_input),
                    "id": derived_id(instance.instance_id, instance.execution_id, task_id),
                    "parent": instance.instance_id,
                    "parentExecution": instance.execution_id,
                    "Timestamp": format_timestamp(now),
                }
            )
            event = history_event(
                EventType.EventSent,
                timestamp=now,
                event_id=task_id,
                InstanceId=entity_id,
                Name=operation,
                Input=json.dumps(request, separators=(",", ":")),
            )
            self.entity_messages.append(EntityMessage(entity_id=entity_id, request=request))
        self._new.append((task_id, event))
        self.scheduled[task_id] = event

    def _check_forgotten(self) -> None:
        """History scheduled work at an id the code no longer reaches: non-determinism."""
        for task_id in sorted(self.scheduled):
            if task_id not in self.allocated:
                recorded = self.scheduled[task_id]
                self.nondeterminism = _nondeterminism(
                    task_id, _describe_event(recorded), "nothing (the code no longer schedules it)"
                )
                return


def _request_id(sent: Event | None, instance: InstanceState, task_id: int) -> str:
    """The request id of a CallEntity, read from its EventSent (or derived like it was)."""
    if sent is not None:
        try:
            request = json.loads(sent.get("Input") or "{}")
            if isinstance(request, dict) and request.get("id"):
                return str(request["id"])
        except ValueError:
            pass
    return derived_id(instance.instance_id, instance.execution_id, task_id)


def _is_entity_error(event: Event) -> bool:
    try:
        response = json.loads(event.get("Input") or "{}")
    except ValueError:
        return False
    if not isinstance(response, dict):
        return False
    result = response.get("result")
    return "exceptionType" in response or (
        isinstance(result, str) and result.startswith("Timeout value of")
    )


_EXPECTED = {
    "activity": EventType.TaskScheduled,
    "http": EventType.TaskScheduled,
    "suborch": EventType.SubOrchestrationInstanceCreated,
    "timer": EventType.TimerCreated,
    "entity": EventType.EventSent,
    "signal": EventType.EventSent,
}
_ACTION_NAMES = {
    "activity": "CallActivity",
    "http": "CallHttp",
    "suborch": "CallSubOrchestrator",
    "timer": "CreateTimer",
    "entity": "CallEntity",
    "signal": "SignalEntity",
}


def _describe_event(event: Event) -> str:
    try:
        name = EventType(event.get("EventType")).name  # type: ignore[arg-type]
    except ValueError:
        name = f"event type {event.get('EventType')}"
    if event.get("Name") is not None:
        return f"{name} '{event['Name']}'"
    return name


def _describe_leaf(leaf: _Leaf) -> str:
    action = leaf.action
    label = _ACTION_NAMES.get(leaf.kind, leaf.kind)
    if leaf.kind in ("activity", "suborch"):
        return f"{label} '{action.get('functionName')}'"
    if leaf.kind == "http":
        return f"{label} '{(action.get('httpRequest') or {}).get('uri')}'"
    if leaf.kind in ("entity", "signal"):
        return f"{label} '{action.get('operation')}' on '{action.get('instanceId')}'"
    return label


def _nondeterminism(task_id: int, recorded: str, actual: str) -> str:
    from durable_functions.errors import NonDeterminismError

    return str(NonDeterminismError(event_id=task_id, recorded=recorded, actual=actual))


def _mismatch(recorded: Event, leaf: _Leaf) -> str | None:
    """Why a recorded scheduling event does not fit the action replayed at its id, if so."""
    expected = _EXPECTED[leaf.kind]
    action = leaf.action
    same = recorded.get("EventType") == expected
    if same and leaf.kind == "activity":
        same = recorded.get("Name") == action.get("functionName")
    elif same and leaf.kind == "http":
        same = recorded.get("Name") == HTTP_ACTIVITY_NAME
    elif same and leaf.kind == "suborch":
        same = recorded.get("Name") == action.get("functionName")
    elif same and leaf.kind in ("entity", "signal"):
        same = recorded.get("Name") == action.get("operation") and recorded.get(
            "InstanceId"
        ) == action.get("instanceId")
    if same:
        return None
    assert leaf.task_id is not None
    return _nondeterminism(leaf.task_id, _describe_event(recorded), _describe_leaf(leaf))


def sub_orchestration_conflict(new: NewInstance, *, now: datetime) -> OrchestrationMessage | None:
    """The failure a parent receives when its sub-orchestration's id is taken by a live one."""
    parent = new.instance.parent
    if parent is None:
        return None
    message = (
        f"An orchestration with instance ID '{new.instance.instance_id}' already exists "
        "and is not finished; choose another instance ID for the sub-orchestration."
    )
    reason = f"Orchestrator function '{new.instance.name}' failed: {message}"
    event = history_event(
        EventType.SubOrchestrationInstanceFailed,
        timestamp=now,
        TaskScheduledId=parent.task_schedule_id,
        Reason=reason,
        Details=None,
        FailureDetails=failure_details("OrchestrationAlreadyExistsException", message, None),
    )
    return OrchestrationMessage(
        instance_id=parent.instance_id, execution_id=parent.execution_id, event=event
    )


# --------------------------------------------------------------------------- activities


def activity_completed(
    item: ActivityWorkItem, result_json: str | None, *, now: datetime
) -> OrchestrationMessage:
    """TaskCompleted for the instance that scheduled ``item`` (result stored compact)."""
    event = task_completed_event(item.task_id, compact_json(result_json), timestamp=now)
    return OrchestrationMessage(
        instance_id=item.instance_id, execution_id=item.execution_id, event=event
    )


def activity_failed(
    item: ActivityWorkItem, error: InvocationError, *, now: datetime
) -> OrchestrationMessage:
    """TaskFailed with Reason ``Activity function '<name>' failed: <Type>: <message>``."""
    text = f"{error.error_type}: {error.message}" if error.error_type else error.message
    event = task_failed_event(
        item.task_id,
        reason=f"Activity function '{item.name}' failed: {text}",
        details=error.details,
        failure=failure_details(error.error_type, error.message, error.details),
        timestamp=now,
    )
    return OrchestrationMessage(
        instance_id=item.instance_id, execution_id=item.execution_id, event=event
    )


# --------------------------------------------------------------------------- entities


def entity_signal_message(
    entity_id: str,
    operation: str,
    input_json: str | None,
    *,
    now: datetime,
    request_id: str,
) -> EntityMessage:
    """A signal from a client (no response). ``input_json`` is the request's ``input``
    field: JSON text of the value the host holds (for the SDK's client, itself JSON text)."""
    parse_entity_id(entity_id)
    request = {
        "op": operation,
        "signal": True,
        "input": input_json,
        "id": request_id,
        "parent": None,
        "parentExecution": None,
        "Timestamp": format_timestamp(now),
    }
    return EntityMessage(entity_id=entity_id, request=request)


def build_entity_payload(item: EntityWorkItem) -> dict[str, Any]:
    """The entity trigger payload (§7.1): identity, state and the batch of operations."""
    name, key = parse_entity_id(item.entity.entity_id)
    return {
        "self": {"name": name, "key": key},
        "exists": item.entity.exists,
        "state": item.entity.state,
        "batch": [
            {
                "name": m.request.get("op"),
                "input": m.request.get("input"),
                "isSignal": bool(m.request.get("signal")),
            }
            for m in item.messages
        ],
    }


def complete_entity_batch(
    item: EntityWorkItem, result: str | InvocationError, *, now: datetime
) -> EntityOutcome:
    """Apply an entity batch result (§7.2): new state, and a response per call.

    When the invocation failed or answered nonsense, the state is unchanged and every
    operation gets an error result (``Timeout value of …`` for a timeout, as the host).
    """
    entity = item.entity
    results: list[dict[str, Any]] | None = None
    new_entity = entity
    if not isinstance(result, InvocationError):
        try:
            parsed = json.loads(result)
        except ValueError:
            parsed = None
        if isinstance(parsed, str):
            try:
                parsed = json.loads(parsed)
            except ValueError:
                parsed = None
        raw_results = parsed.get("results") if isinstance(parsed, dict) else None
        if (
            isinstance(parsed, dict)
            and isinstance(raw_results, list)
            and len(raw_results) == len(item.messages)
        ):
            results = [r if isinstance(r, dict) else {} for r in raw_results]
            exists = bool(parsed.get("entityExists"))
            state = parsed.get("entityState")
            new_entity = replace(
                entity,
                exists=exists,
                state=state if exists and isinstance(state, str) else None,
                last_modified=now,
            )
        else:
            error = InvocationError(
                message="the entity function returned a result that does not match its batch",
                error_type="InvalidOperationException",
            )
    else:
        error = result
    if results is None:
        name = parse_entity_id(entity.entity_id)[0]
        if error.error_type == "TimeoutError":
            text = f"Timeout value of {error.message} was exceeded by function: Functions.{name}"
        else:
            text = f"{error.error_type}: {error.message}"
        results = [{"isError": True, "result": text} for _ in item.messages]
        new_entity = replace(entity, last_modified=now)
    messages: list[OrchestrationMessage] = []
    for request_message, outcome in zip(item.messages, results):
        request = request_message.request
        parent = request.get("parent")
        if request.get("signal") or not parent:
            continue
        response: dict[str, Any] = {"result": outcome.get("result")}
        if outcome.get("isError"):
            response["exceptionType"] = "Error"
        event = event_raised_event(
            str(request.get("id")), json.dumps(response, separators=(",", ":")), timestamp=now
        )
        messages.append(
            OrchestrationMessage(
                instance_id=str(parent), execution_id=request.get("parentExecution"), event=event
            )
        )
    return EntityOutcome(entity=new_entity, messages=tuple(messages), results=tuple(results))


# --------------------------------------------------------------------------- rewind and restart

_FAILURES = (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
_SUCCESSES = (
    EventType.TaskCompleted,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.TimerFired,
)


def rewind(
    instance: InstanceState,
    history: Sequence[Event],
    reason: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
) -> RewindResult:
    """Take a Failed instance back to just before its first failure and retry.

    The history is cut at the start of the episode that delivered the first
    TaskFailed / SubOrchestrationInstanceFailed (or, when the orchestrator itself
    raised, at the start of its last episode). Events that arrived from that point
    on are delivered again, except failures: the failed activities run again with
    their original sequence ids, failed sub-orchestrations are rewound (or started
    again if gone). Work the orchestrator scheduled after the cut is scheduled anew
    when it replays. An ExecutionRewound event opens the next episode.

    Raises:
        ValueError: the instance is not Failed.
    """
    if instance.runtime_status is not RuntimeStatus.Failed:
        raise ValueError(
            f"Instance '{instance.instance_id}' is {instance.runtime_status.value}; "
            "only Failed instances can be rewound."
        )
    starts = [
        i for i, e in enumerate(history) if e.get("EventType") == EventType.OrchestratorStarted
    ]
    first_failure = next(
        (i for i, e in enumerate(history) if e.get("EventType") in _FAILURES), None
    )
    if first_failure is not None:
        cut = max((i for i in starts if i < first_failure), default=first_failure)
    else:
        cut = starts[-1] if starts else len(history)
    kept = list(history[:cut])
    scheduled = {
        e["EventId"]: e
        for e in kept
        if e.get("EventType") in _SCHEDULING and isinstance(e.get("EventId"), int)
    }
    done_before = {
        e.get("TaskScheduledId", e.get("TimerId"))
        for e in kept
        if e.get("EventType") in (*_SUCCESSES, *_FAILURES)
    }
    redeliver: list[Event] = []
    activities: list[ActivityWorkItem] = []
    children: list[NewInstance] = []
    for event in history[cut:]:
        kind = event.get("EventType")
        task_id = event.get("TaskScheduledId", event.get("TimerId"))
        fresh = isinstance(task_id, int) and task_id in scheduled and task_id not in done_before
        if kind in (EventType.ExecutionStarted, EventType.EventRaised) or (
            kind in _SUCCESSES and fresh
        ):
            redeliver.append(event)
        elif kind in _FAILURES and fresh and isinstance(task_id, int):
            origin = scheduled[task_id]
            if origin.get("EventType") == EventType.TaskScheduled:
                activities.append(
                    ActivityWorkItem(
                        instance_id=instance.instance_id,
                        execution_id=instance.execution_id,
                        task_id=task_id,
                        name=str(origin.get("Name")),
                        input=origin.get("Input"),
                    )
                )
            elif origin.get("EventType") == EventType.SubOrchestrationInstanceCreated:
                child_input = origin.get("Input")
                children.append(
                    new_instance(
                        str(origin.get("Name")),
                        str(origin.get("InstanceId")),
                        None if child_input is None else json.dumps(child_input),
                        now=now,
                        execution_id=new_id(),
                        version=origin.get("Version") or "",
                        parent=ParentInstance(
                            instance_id=instance.instance_id,
                            execution_id=instance.execution_id,
                            name=instance.name,
                            version=instance.version,
                            task_schedule_id=task_id,
                        ),
                    )
                )
    rewound = history_event(EventType.ExecutionRewound, timestamp=now, Reason=reason)
    messages = [
        OrchestrationMessage(
            instance_id=instance.instance_id, execution_id=instance.execution_id, event=event
        )
        for event in (rewound, *redeliver)
    ]
    return RewindResult(
        instance=replace(
            instance,
            runtime_status=RuntimeStatus.Running,
            output=None,
            failure=None,
            last_updated_time=now,
        ),
        history=tuple(kept),
        messages=tuple(messages),
        activities=tuple(activities),
        children=tuple(children),
    )


def restart(
    instance: InstanceState,
    *,
    now: datetime,
    execution_id: str,
    new_instance_id: str | None = None,
) -> NewInstance:
    """Start the same orchestration again with the same input (same id, or a new one)."""
    return new_instance(
        instance.name,
        new_instance_id or instance.instance_id,
        instance.input,
        now=now,
        execution_id=execution_id,
        version=instance.version,
    )
