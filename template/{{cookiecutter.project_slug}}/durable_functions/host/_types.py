"""The engine's data: what a backend hands to the engine and what the engine hands back.

Frozen dataclasses only, so every step of an episode is a value a backend can store
or compare; the functions that build and consume them live in the sibling modules.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar, overload

from durable_functions._protocol import RuntimeStatus
from durable_functions.host._ids import parse_entity_id

Event = dict[str, Any]
"""A history event as DurableTask.Core serializes it (``EventType``, ``EventId``, …)."""

T = TypeVar("T")


class HistoryLog(Sequence[T]):
    """An append-only history whose versions share one list: each sees its first ``length``.

    A store keeps an instance's history between episodes; with a tuple, every commit
    would copy the whole past to append a few events, so a long orchestration would cost
    O(N²). Extending the newest version appends in place (an older one branches off with
    a copy), and a version never changes once made: safe to hand out in a work item.
    """

    __slots__ = ("_items", "_length")

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T] = list(items)
        self._length = len(self._items)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return self._items[slice(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("history index out of range")
        return self._items[index]

    def __iter__(self) -> Iterator[T]:
        return islice(self._items, self._length)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == self._length and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HistoryLog({list(self)!r})"

    def plus(self, added: Iterable[T]) -> HistoryLog[T]:
        """This history with ``added`` appended (O(len(added)) for the newest version)."""
        grown = HistoryLog[T]()
        if len(self._items) == self._length:
            grown._items = self._items  # the newest version: share the list
        else:
            grown._items = self._items[: self._length]
        grown._items.extend(added)
        grown._length = len(grown._items)
        return grown


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
    default_version: str | None = None
    """host.json ``defaultVersion``: the version of sub-orchestrations started without one."""


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
    """The status row of one orchestration instance (what status queries show).

    Each field is a column of the store's ``instances`` table under the same name.
    """

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
    history: Sequence[Event]
    """The current execution's history so far (a tuple, or a store's ``HistoryLog``)."""
    messages: tuple[OrchestrationMessage, ...]
    """New messages, in arrival order."""
    lease: object | None = None
    history_json: Sequence[str] | None = None
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
    new_events: tuple[Event, ...] = ()
    """OrchestratorStarted followed by the consumed messages' events."""
    requeue: tuple[OrchestrationMessage, ...] = ()
    """Messages kept for later (the instance is suspended)."""
    payload: dict[str, Any] | None = None
    """The orchestration trigger payload (§2); ``None`` when no invocation is needed,
    ``{}`` when the orchestrator runs in a session and needs only the new events."""
    terminated: str | None = None
    """Reason, when a terminate message ends the instance without an invocation."""
    discard: bool = False
    """True when the messages target a finished instance: they are dropped."""
    config: EngineConfig = EngineConfig()
    """What the outcome needs of the host's knobs (unconsumed events, default version)."""

    @property
    def history(self) -> Sequence[Event]:
        """The execution's history before this episode (the claimed item's)."""
        return self.item.history


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
    session: Any = field(default=None, compare=False, repr=False)
    """An ``EngineSession``: pass it to the next episode of this execution for an O(new)
    check; typed loosely so the types do not import the check (``_session`` imports them);
    ``None`` when that episode needs a full check. Not part of the outcome's value."""

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
        remote = getattr(exc, "worker_error_type", None)  # a failure the worker runtime reported
        if isinstance(remote, str):
            details = getattr(exc, "worker_details", None)
            return cls(message=str(exc), error_type=remote, details=details)
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
