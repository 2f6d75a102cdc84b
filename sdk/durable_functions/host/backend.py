"""The storage seam: what the episode driver and the management API need from a task hub store.

A backend keeps instances (status rows + history), orchestration messages (some
of them delayed: durable timers are messages that become visible at their fire
time), activity work items and entity requests/state. It makes no decisions:
the engine does. Each ``complete_*`` call applies one engine outcome atomically
(the SQLite store does it in one transaction).

Two implementations: ``memory.MemoryBackend`` (the reference, used by the testing
toolkit in virtual time) and ``store.SqliteStore`` (the local host).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from durable_functions._protocol import RuntimeStatus
from durable_functions.host.engine import (
    ActivityWorkItem,
    EntityMessage,
    EntityOutcome,
    EntityState,
    EntityWorkItem,
    EpisodeOutcome,
    Event,
    InstanceState,
    NewInstance,
    OrchestrationMessage,
    OrchestrationWorkItem,
    TimerItem,
)

ActivityResult = tuple[ActivityWorkItem, OrchestrationMessage]
"""A finished activity's work item and the message that carries its result home."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstancePage:
    """One page of a list query and the token for the next page (``None`` at the end)."""

    instances: list[InstanceState]
    continuation: str | None


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """The arguments of ``Backend.list_instances`` (in its order): its filters and page."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: Sequence[str] = ()
    prefix: str | None = None
    top: int = 100
    continuation: str | None = None
    name: str | None = None
    """Only instances of this orchestrator (any case)."""
    newest_first: bool = False
    """Order by (created time, id) descending: a dashboard shows the latest first."""


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """The arguments of ``Backend.list_entities`` (in its order): its filters and page."""

    name: str | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    top: int = 100
    continuation: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRewrite:
    """The arguments of ``Backend.replace_history`` (in its order)."""

    instance: InstanceState
    history: Sequence[Event]
    messages: Iterable[OrchestrationMessage] = ()
    activities: Iterable[ActivityWorkItem] = ()
    new_instances: Iterable[NewInstance] = ()


class Backend(Protocol):
    """What the episode driver (in the runner, the harness and the host's dispatcher)
    and the management API need from a store.

    Ordering rules every implementation keeps: messages of one instance are handed
    out in the order they were sent; entity requests of one entity likewise; an
    instance (or entity) is claimed by at most one worker at a time.

    Implementations subclass it: the list queries' keyword forms are written here
    once, over ``query_instances``, ``query_entities`` and ``rewrite_history``.
    """

    # -- instances and messages

    def create_instance(self, new: NewInstance, *, replace_finished: bool = True) -> bool:
        """Store an instance and its ExecutionStarted message.

        An existing instance with that id is replaced (history, queue, row) only when
        it is finished and ``replace_finished``; returns False when the id is taken.
        """
        ...

    def send(self, messages: Iterable[OrchestrationMessage]) -> None:
        """Enqueue messages (raise event, terminate, suspend, resume, …) for instances."""
        ...

    def schedule(self, timers: Iterable[TimerItem]) -> None:
        """Enqueue messages that become visible at their ``fire_at``."""
        ...

    def send_entity(self, messages: Iterable[EntityMessage]) -> None:
        """Enqueue entity operation requests (e.g. signals from a client)."""
        ...

    # -- orchestration episodes

    def claim_orchestration(self, now: datetime | None = None) -> OrchestrationWorkItem | None:
        """Claim one instance with messages visible at ``now`` (wall clock if ``None``).

        Instances that ``engine.is_runnable`` says need nothing (suspended ones with no
        resume/terminate) are skipped; messages for instances that do not exist are dropped.
        """
        ...

    def complete_orchestration(self, item: OrchestrationWorkItem, outcome: EpisodeOutcome) -> None:
        """Apply an episode atomically: delete the claimed messages, append (or, on
        ``new_execution``, replace) history, store the row, enqueue messages, new
        instances (a live instance with that id gets ``engine.sub_orchestration_conflict``
        sent instead), activities, timers; delete ``cancel_timers``; release the claim."""
        ...

    def claim_instances(
        self, results: Mapping[str, Sequence[ActivityResult]], now: datetime | None = None
    ) -> dict[str, OrchestrationWorkItem]:
        """Claim instances (by id) for episodes that consume activity ``results`` the
        caller holds in memory, with their visible stored messages before them.

        Committing such an episode deletes the results' work items in the same
        transaction (no transaction of their own); abandoning it stores the results as
        messages. Instances claimed already or gone are left out: the caller stores
        their results with ``complete_activities``.
        """
        ...

    def complete_orchestrations(
        self, episodes: Sequence[tuple[OrchestrationWorkItem, EpisodeOutcome, int]]
    ) -> list[list[ActivityWorkItem] | Exception]:
        """``complete_orchestration`` for several episodes, together but each atomically.

        Each entry is (work item, outcome, ``claim``): the first ``claim`` activities the
        episode schedules are claimed in the same commit and returned (the caller runs
        them at once). Per episode the result is those activities, or the error that
        undid that episode alone. Every instance is released, whatever happens.
        """
        ...

    def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        """Release a claim without changes; its messages become visible again (and
        activity results it held, see ``claim_instances``, are stored as messages)."""
        ...

    def next_visible_at(self, now: datetime | None = None) -> datetime | None:
        """The earliest time after ``now`` at which a delayed message becomes visible."""
        ...

    # -- activities

    def claim_activity(self) -> ActivityWorkItem | None:
        """Claim the oldest unclaimed activity work item."""
        ...

    def claim_activities(self, limit: int) -> list[ActivityWorkItem]:
        """Claim up to ``limit`` of the oldest unclaimed activity work items, in order."""
        ...

    def complete_activities(self, results: Sequence[ActivityResult]) -> None:
        """Delete each work item and enqueue its result message, in one go."""
        ...

    # -- entities

    def claim_entity(self) -> EntityWorkItem | None:
        """Claim one entity with pending requests: its state and requests in order."""
        ...

    def complete_entity(self, item: EntityWorkItem, outcome: EntityOutcome) -> None:
        """Store the new state, delete the handled requests, enqueue the responses."""
        ...

    def abandon_entity(self, item: EntityWorkItem) -> None:
        """Release an entity claim without changes."""
        ...

    # -- queries and management

    def get_instance(self, instance_id: str) -> InstanceState | None:
        """The status row, or ``None``."""
        ...

    def get_history(self, instance_id: str) -> list[Event]:
        """The current execution's history (empty when unknown)."""
        ...

    def list_instances(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: Sequence[str] = (),
        prefix: str | None = None,
        top: int = 100,
        continuation: str | None = None,
        name: str | None = None,
        newest_first: bool = False,
    ) -> InstancePage:
        """Instances ordered by (created time, id), filtered, one page at a time."""
        query = InstanceQuery(
            created_from, created_to, statuses, prefix, top, continuation, name, newest_first
        )
        return self.query_instances(query)

    def query_instances(self, query: InstanceQuery) -> InstancePage:
        """``list_instances`` with its arguments in one record."""
        ...

    def purge(self, instance_ids: Iterable[str]) -> int:
        """Delete instances with their history and queues; returns how many existed."""
        ...

    def replace_history(
        self,
        instance: InstanceState,
        history: Sequence[Event],
        *,
        messages: Iterable[OrchestrationMessage] = (),
        activities: Iterable[ActivityWorkItem] = (),
        new_instances: Iterable[NewInstance] = (),
    ) -> None:
        """Rewind: swap the row and history, enqueue the work that restarts the instance."""
        self.rewrite_history(HistoryRewrite(instance, history, messages, activities, new_instances))

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        """``replace_history`` with its arguments in one record."""
        ...

    def get_entity(self, entity_id: str) -> EntityState | None:
        """An entity's stored state, or ``None`` if it never received a request."""
        ...

    def list_entities(
        self,
        *,
        name: str | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        top: int = 100,
        continuation: str | None = None,
    ) -> tuple[list[EntityState], str | None]:
        """Existing entities (optionally of one name) ordered by id, one page at a time."""
        query = EntityQuery(name, modified_from, modified_to, top, continuation)
        return self.query_entities(query)

    def query_entities(self, query: EntityQuery) -> tuple[list[EntityState], str | None]:
        """``list_entities`` with its arguments in one record."""
        ...


__all__ = [
    "ActivityResult",
    "Backend",
    "EntityQuery",
    "HistoryRewrite",
    "InstancePage",
    "InstanceQuery",
    "RuntimeStatus",
]
