"""``MemoryBackend``: the reference ``Backend``, in dicts and lists behind one lock.

The testing toolkit runs it in virtual time (it asks its ``Clock`` for ``now`` when a
caller gives none); the SQLite store is checked against the same behaviour.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from durable_functions._protocol import EventType
from durable_functions.errors import HostError
from durable_functions.host.backend import (
    ActivityResult,
    Backend,
    EntityQuery,
    HistoryRewrite,
    InstancePage,
    InstanceQuery,
)
from durable_functions.host.clock import Clock, SystemClock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EntityMessage,
    EntityOutcome,
    EntityState,
    EntityWorkItem,
    EpisodeOutcome,
    Event,
    HistoryLog,
    InstanceState,
    NewInstance,
    OrchestrationMessage,
    OrchestrationWorkItem,
    TimerItem,
    is_runnable,
    sub_orchestration_conflict,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(slots=True)
class _Queued:
    seq: int
    message: OrchestrationMessage
    visible_at: datetime
    timer_id: int | None = None
    claimed: bool = False


@dataclass(slots=True)
class _QueuedRequest:
    seq: int
    message: EntityMessage
    claimed: bool = False


def _unclaim(queue: Iterable[_Queued | _QueuedRequest], seqs: Iterable[int]) -> None:
    """Make the queued entries with these sequence numbers claimable again."""
    released = set(seqs)
    for q in queue:
        if q.seq in released:
            q.claimed = False


class MemoryBackend(Backend):
    """A ``Backend`` in dicts and lists, safe to share between threads (one lock).

    When a ``now`` argument is omitted, visibility is checked against ``clock`` (the
    wall clock unless told otherwise; the testing toolkit gives its virtual clock).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._seq = itertools.count()
        self._instances: dict[str, InstanceState] = {}
        self._history: dict[str, HistoryLog[Event]] = {}
        self._messages: list[_Queued] = []
        self._locked: set[str] = set()
        self._activities: dict[int, ActivityWorkItem] = {}
        self._claimed_activities: set[int] = set()
        self._requests: list[_QueuedRequest] = []
        self._entities: dict[str, EntityState] = {}
        self._locked_entities: set[str] = set()

    # -- instances and messages

    def create_instance(self, new: NewInstance, *, replace_finished: bool = True) -> bool:
        """See ``Backend.create_instance``."""
        with self._lock:
            existing = self._instances.get(new.instance.instance_id)
            if existing is not None and not (
                replace_finished and existing.runtime_status.is_terminal
            ):
                return False
            self._drop_instance(new.instance.instance_id)
            self._instances[new.instance.instance_id] = new.instance
            self._history[new.instance.instance_id] = HistoryLog()
            self._enqueue(new.message)
            return True

    def send(self, messages: Iterable[OrchestrationMessage]) -> None:
        """See ``Backend.send``."""
        with self._lock:
            for message in messages:
                self._enqueue(message)

    def schedule(self, timers: Iterable[TimerItem]) -> None:
        """See ``Backend.schedule``."""
        with self._lock:
            for timer in timers:
                self._enqueue(timer.message, visible_at=timer.fire_at)

    def send_entity(self, messages: Iterable[EntityMessage]) -> None:
        """See ``Backend.send_entity``."""
        with self._lock:
            for message in messages:
                self._requests.append(_QueuedRequest(seq=next(self._seq), message=message))

    def _enqueue(
        self, message: OrchestrationMessage, *, visible_at: datetime | None = None
    ) -> None:
        timer_id = None
        if visible_at is not None and message.event.get("EventType") == EventType.TimerFired:
            timer_id = message.event.get("TimerId")
        self._messages.append(
            _Queued(
                seq=next(self._seq),
                message=message,
                visible_at=visible_at or _EPOCH,
                timer_id=timer_id,
            )
        )

    # -- orchestration episodes

    def claim_orchestration(self, now: datetime | None = None) -> OrchestrationWorkItem | None:
        """See ``Backend.claim_orchestration``."""
        at = now or self.clock.now()
        with self._lock:
            visible = sorted(
                (q for q in self._messages if not q.claimed and q.visible_at <= at),
                key=lambda q: (q.visible_at, q.seq),
            )
            seen: set[str] = set()
            for queued in visible:
                instance_id = queued.message.instance_id
                if instance_id in seen or instance_id in self._locked:
                    continue
                seen.add(instance_id)
                instance = self._instances.get(instance_id)
                if instance is None:
                    self._messages = [
                        q
                        for q in self._messages
                        if q.claimed or q.message.instance_id != instance_id
                    ]
                    continue
                mine = sorted(
                    (q for q in visible if q.message.instance_id == instance_id),
                    key=lambda q: q.seq,
                )
                if not is_runnable(instance.runtime_status, [q.message.event for q in mine]):
                    continue
                for q in mine:
                    q.claimed = True
                self._locked.add(instance_id)
                return OrchestrationWorkItem(
                    instance=instance,
                    history=self._history.get(instance_id, HistoryLog()),
                    messages=tuple(q.message for q in mine),
                    lease=tuple(q.seq for q in mine),
                )
            return None

    def complete_orchestration(self, item: OrchestrationWorkItem, outcome: EpisodeOutcome) -> None:
        """See ``Backend.complete_orchestration``."""
        self._complete(item, outcome, claim=0)

    def complete_orchestrations(
        self, episodes: Sequence[tuple[OrchestrationWorkItem, EpisodeOutcome, int]]
    ) -> list[list[ActivityWorkItem] | Exception]:
        """See ``Backend.complete_orchestrations``; an episode that fails is released."""
        results: list[list[ActivityWorkItem] | Exception] = []
        for item, outcome, claim in episodes:
            try:
                results.append(self._complete(item, outcome, claim=claim))
            except Exception as exc:
                self.abandon_orchestration(item)
                results.append(exc)
        return results

    def _complete(
        self, item: OrchestrationWorkItem, outcome: EpisodeOutcome, *, claim: int
    ) -> list[ActivityWorkItem]:
        """Apply one episode; returns the first ``claim`` activities it schedules, claimed."""
        claimed = set(_lease(item))
        started: list[ActivityWorkItem] = []
        instance = outcome.instance
        instance_id = instance.instance_id
        old_execution = item.instance.execution_id
        with self._lock:
            self._messages = [q for q in self._messages if q.seq not in claimed]
            for result, _ in _held(item):  # activity results the episode consumed
                self._activities.pop(_activity_lease(result), None)
                self._claimed_activities.discard(_activity_lease(result))
            if instance_id in self._instances:
                if outcome.new_execution:
                    self._history[instance_id] = HistoryLog(outcome.history_added)
                else:
                    past = self._history.get(instance_id, HistoryLog())
                    self._history[instance_id] = past.plus(outcome.history_added)
                self._instances[instance_id] = instance
                ended = outcome.new_execution or outcome.finished
                cancel = set(outcome.cancel_timers)
                if ended or cancel:
                    # One pass drops the old execution's timers and the canceled ones.
                    self._messages = [
                        q
                        for q in self._messages
                        if q.timer_id is None
                        or q.message.instance_id != instance_id
                        or not (
                            (ended and q.message.execution_id == old_execution)
                            or (
                                q.timer_id in cancel
                                and q.message.execution_id == instance.execution_id
                            )
                        )
                    ]
            for message in outcome.messages:
                self._enqueue(message)
            for new in outcome.new_instances:
                if not self.create_instance(new):
                    conflict = sub_orchestration_conflict(new, now=instance.last_updated_time)
                    if conflict is not None:
                        self._enqueue(conflict)
            for index, activity in enumerate(outcome.activities):
                seq = next(self._seq)
                self._activities[seq] = replace(activity, lease=seq)
                if index < claim:
                    self._claimed_activities.add(seq)
                    started.append(self._activities[seq])
            self.schedule(outcome.timers)
            self.send_entity(outcome.entity_messages)
            self._locked.discard(instance_id)
        return started

    def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        """See ``Backend.abandon_orchestration``; activity results it held are stored."""
        with self._lock:
            _unclaim(self._messages, _lease(item))
            self._locked.discard(item.instance.instance_id)
            self.complete_activities(_held(item))

    def claim_instances(
        self, results: Mapping[str, Sequence[ActivityResult]], now: datetime | None = None
    ) -> dict[str, OrchestrationWorkItem]:
        """See ``Backend.claim_instances``."""
        at = now or self.clock.now()
        items: dict[str, OrchestrationWorkItem] = {}
        with self._lock:
            for instance_id, held in results.items():
                instance = self._instances.get(instance_id)
                if instance is None or instance_id in self._locked:
                    continue
                mine = sorted(
                    (
                        q
                        for q in self._messages
                        if not q.claimed
                        and q.visible_at <= at
                        and q.message.instance_id == instance_id
                    ),
                    key=lambda q: q.seq,
                )
                for q in mine:
                    q.claimed = True
                self._locked.add(instance_id)
                items[instance_id] = OrchestrationWorkItem(
                    instance=instance,
                    history=self._history.get(instance_id, HistoryLog()),
                    messages=tuple(q.message for q in mine) + tuple(m for _, m in held),
                    lease=_Held(seqs=tuple(q.seq for q in mine), results=tuple(held)),
                )
        return items

    def next_visible_at(self, now: datetime | None = None) -> datetime | None:
        """See ``Backend.next_visible_at``."""
        at = now or self.clock.now()
        with self._lock:
            later = [q.visible_at for q in self._messages if q.visible_at > at]
            return min(later) if later else None

    # -- activities

    def claim_activity(self) -> ActivityWorkItem | None:
        """See ``Backend.claim_activity``."""
        with self._lock:
            for seq, item in self._activities.items():
                if seq not in self._claimed_activities:
                    self._claimed_activities.add(seq)
                    return item
            return None

    def claim_activities(self, limit: int) -> list[ActivityWorkItem]:
        """See ``Backend.claim_activities``."""
        picked: list[ActivityWorkItem] = []
        with self._lock:
            for seq, item in self._activities.items():
                if len(picked) >= limit:
                    break
                if seq not in self._claimed_activities:
                    self._claimed_activities.add(seq)
                    picked.append(item)
        return picked

    def complete_activities(self, results: Sequence[ActivityResult]) -> None:
        """See ``Backend.complete_activities``."""
        with self._lock:
            for item, message in results:
                if self._activities.pop(_activity_lease(item), None) is not None:
                    self._claimed_activities.discard(_activity_lease(item))
                    self._enqueue(message)

    # -- entities

    def claim_entity(self) -> EntityWorkItem | None:
        """See ``Backend.claim_entity``."""
        with self._lock:
            for queued in self._requests:
                entity_id = queued.message.entity_id
                if queued.claimed or entity_id in self._locked_entities:
                    continue
                mine = [
                    q for q in self._requests if not q.claimed and q.message.entity_id == entity_id
                ]
                for q in mine:
                    q.claimed = True
                self._locked_entities.add(entity_id)
                entity = self._entities.get(entity_id) or EntityState(entity_id=entity_id)
                return EntityWorkItem(
                    entity=entity,
                    messages=tuple(q.message for q in mine),
                    lease=tuple(q.seq for q in mine),
                )
            return None

    def complete_entity(self, item: EntityWorkItem, outcome: EntityOutcome) -> None:
        """See ``Backend.complete_entity``."""
        claimed = set(_entity_lease(item))
        with self._lock:
            self._requests = [q for q in self._requests if q.seq not in claimed]
            self._entities[outcome.entity.entity_id] = outcome.entity
            for message in outcome.messages:
                self._enqueue(message)
            self._locked_entities.discard(item.entity.entity_id)

    def abandon_entity(self, item: EntityWorkItem) -> None:
        """See ``Backend.abandon_entity``."""
        with self._lock:
            _unclaim(self._requests, _entity_lease(item))
            self._locked_entities.discard(item.entity.entity_id)

    # -- queries and management

    def get_instance(self, instance_id: str) -> InstanceState | None:
        """See ``Backend.get_instance``."""
        with self._lock:
            return self._instances.get(instance_id)

    def get_history(self, instance_id: str) -> list[Event]:
        """See ``Backend.get_history``."""
        with self._lock:
            return list(self._history.get(instance_id, ()))

    def query_instances(self, query: InstanceQuery) -> InstancePage:
        """See ``Backend.list_instances``; the token is the last (created time, id) seen."""
        created_from, created_to, prefix = query.created_from, query.created_to, query.prefix
        top, continuation = query.top, query.continuation
        with self._lock:
            rows = sorted(
                self._instances.values(),
                key=lambda i: (i.created_time, i.instance_id),
                reverse=query.newest_first,
            )
        wanted = {str(s) for s in query.statuses}
        name = query.name.lower() if query.name else None
        picked = [
            i
            for i in rows
            if (created_from is None or i.created_time >= created_from)
            and (created_to is None or i.created_time <= created_to)
            and (not wanted or i.runtime_status.value in wanted)
            and (not prefix or i.instance_id.startswith(prefix))
            and (name is None or i.name.lower() == name)
        ]
        if continuation:
            try:
                after_time, after_id = json.loads(continuation)
                after = (datetime.fromisoformat(after_time), str(after_id))
            except (ValueError, TypeError) as exc:
                raise HostError(f"invalid continuation token: {continuation!r}") from exc
            if query.newest_first:
                picked = [i for i in picked if (i.created_time, i.instance_id) < after]
            else:
                picked = [i for i in picked if (i.created_time, i.instance_id) > after]
        page = picked[:top]
        token = None
        if len(picked) > top and page:
            token = json.dumps([page[-1].created_time.isoformat(), page[-1].instance_id])
        return InstancePage(instances=page, continuation=token)

    def purge(self, instance_ids: Iterable[str]) -> int:
        """See ``Backend.purge``."""
        count = 0
        with self._lock:
            for instance_id in instance_ids:
                if instance_id in self._instances:
                    count += 1
                self._drop_instance(instance_id)
        return count

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        """See ``Backend.replace_history``."""
        with self._lock:
            self._instances[rewrite.instance.instance_id] = rewrite.instance
            self._history[rewrite.instance.instance_id] = HistoryLog(rewrite.history)
            for message in rewrite.messages:
                self._enqueue(message)
            for activity in rewrite.activities:
                seq = next(self._seq)
                self._activities[seq] = replace(activity, lease=seq)
            for new in rewrite.new_instances:
                self.create_instance(new)

    def get_entity(self, entity_id: str) -> EntityState | None:
        """See ``Backend.get_entity``."""
        with self._lock:
            return self._entities.get(entity_id)

    def query_entities(self, query: EntityQuery) -> tuple[list[EntityState], str | None]:
        """See ``Backend.list_entities``; the token is the last entity id of the page."""
        modified_from, modified_to = query.modified_from, query.modified_to
        top, continuation = query.top, query.continuation
        with self._lock:
            rows = sorted(
                (e for e in self._entities.values() if e.exists), key=lambda e: e.entity_id
            )
        prefix = f"@{query.name.lower()}@" if query.name else ""
        picked = [
            e
            for e in rows
            if e.entity_id.startswith(prefix)
            and (modified_from is None or (e.last_modified and e.last_modified >= modified_from))
            and (modified_to is None or (e.last_modified and e.last_modified <= modified_to))
            and (not continuation or e.entity_id > continuation)
        ]
        page = picked[:top]
        token = page[-1].entity_id if len(picked) > top and page else None
        return page, token

    # -- extras for tests and the testing toolkit

    def pending_activities(self) -> list[ActivityWorkItem]:
        """Activity work items not yet completed (claimed or not)."""
        with self._lock:
            return list(self._activities.values())

    def has_runnable_work(self, now: datetime) -> bool:
        """True if a claim of any kind would return something at ``now``."""
        with self._lock:
            if any(seq not in self._claimed_activities for seq in self._activities):
                return True
            if any(
                not q.claimed and q.message.entity_id not in self._locked_entities
                for q in self._requests
            ):
                return True
            by_instance: dict[str, list[Event]] = {}
            for q in self._messages:
                if not q.claimed and q.visible_at <= now:
                    by_instance.setdefault(q.message.instance_id, []).append(q.message.event)
            for instance_id, events in by_instance.items():
                instance = self._instances.get(instance_id)
                if instance is None or (
                    instance_id not in self._locked and is_runnable(instance.runtime_status, events)
                ):
                    return True
            return False

    def _drop_instance(self, instance_id: str) -> None:
        self._instances.pop(instance_id, None)
        self._history.pop(instance_id, None)
        self._messages = [q for q in self._messages if q.message.instance_id != instance_id]
        for seq, item in list(self._activities.items()):
            if item.instance_id == instance_id:
                del self._activities[seq]
                self._claimed_activities.discard(seq)


@dataclass(frozen=True, slots=True)
class _Held:
    """The lease of an episode claimed with activity results held by the caller."""

    seqs: tuple[int, ...]
    results: tuple[ActivityResult, ...]


def _lease(item: OrchestrationWorkItem) -> tuple[int, ...]:
    lease = item.lease
    if isinstance(lease, _Held):
        return lease.seqs
    return lease if isinstance(lease, tuple) else ()


def _held(item: OrchestrationWorkItem) -> tuple[ActivityResult, ...]:
    lease = item.lease
    return lease.results if isinstance(lease, _Held) else ()


def _entity_lease(item: EntityWorkItem) -> tuple[int, ...]:
    lease = item.lease
    return lease if isinstance(lease, tuple) else ()


def _activity_lease(item: ActivityWorkItem) -> int:
    return item.lease if isinstance(item.lease, int) else -1


__all__ = ["MemoryBackend"]
