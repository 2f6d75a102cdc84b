"""The SQLite store's hot path: claim orchestration episodes and activities, commit outcomes.

Every change one episode makes is applied in ONE transaction (a savepoint when
episodes are committed together), so a crash leaves all of an episode or none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from durable_functions.errors import HostError
from durable_functions.host.engine import (
    ActivityWorkItem,
    EpisodeOutcome,
    HistoryLog,
    OrchestrationMessage,
    OrchestrationWorkItem,
    sub_orchestration_conflict,
)
from durable_functions.host.store_base import StoreBase
from durable_functions.host.store_claims import _Known, _Lease, _lease_ids
from durable_functions.host.store_schema import (
    _SUSPENDED,
    _WAKE_TYPES,
    MAX_BATCH,
    _dumps,
    _loads_all,
    _parse_ts,
    _ts,
)


class EpisodeStore(StoreBase):
    """Claims and commits of orchestration episodes and activity work items."""

    # -- orchestration episodes ------------------------------------------------------------
    _CLAIMABLE = (
        "SELECT m.instance_id, i.runtime_status FROM messages m"
        " LEFT JOIN instances i ON i.hub = m.hub AND i.instance_id = m.instance_id"
        " WHERE m.hub = ? AND m.visible_at <= ? AND m.locked_by IS NULL"
        " AND (i.locked_by IS NULL)"
        " AND (i.runtime_status IS NULL OR i.runtime_status != ?"
        f"      OR m.event_type IN ({','.join(str(int(t)) for t in _WAKE_TYPES)}))"
    )

    def claim_orchestration(self, now: datetime | None = None) -> OrchestrationWorkItem | None:
        """Claim one instance that has visible messages, with its history and messages.

        The claim is recorded in memory, not in the file: one process serves a file
        (the advisory lock), and a claim must not outlive its process anyway (start-up
        recovery releases them), so claiming needs no write transaction. The episode's
        inputs are read in one read transaction, a consistent snapshot.
        """
        at = _ts(now or self.clock.now())
        params = (self.hub, at, _SUSPENDED)
        claims = self._claims
        while True:

            def pick(conn: sqlite3.Connection) -> tuple[str, Any] | None:
                # Instances claimed here are left out by SQLite, not skipped row by
                # row in Python (under load there are dozens, each with messages).
                taken = tuple(claims.instances)
                sql = self._CLAIMABLE
                if taken:
                    sql += f" AND m.instance_id NOT IN ({','.join('?' * len(taken))})"
                row = conn.execute(
                    sql + " ORDER BY m.visible_at, m.id LIMIT 1", params + taken
                ).fetchone()
                if row is None:
                    return None
                instance_id, status = row
                if status is not None:
                    claims.instances.add(instance_id)
                return instance_id, status

            with claims.lock:
                found = self._read(pick)
            if found is None:
                return None
            instance_id, status = found
            if status is None:
                # Messages for an instance that does not exist (purged): drop them.
                self._drop_orphan_messages(instance_id)
                continue
            try:
                item = self._read(
                    functools.partial(self._read_episode, instance_id=instance_id, at=at)
                )
            except BaseException:
                self._release_instance(instance_id)
                raise
            if item is not None:
                return item
            self._release_instance(instance_id)  # changed under us (purged): look again

    def _drop_orphan_messages(self, instance_id: str) -> None:
        """Messages for an instance that does not exist (purged): drop them."""
        self._write(
            lambda c: c.execute(
                "DELETE FROM messages WHERE hub=? AND instance_id=? AND locked_by IS NULL",
                (self.hub, instance_id),
            )
        )

    def claim_instances(
        self,
        results: Mapping[str, Sequence[tuple[ActivityWorkItem, OrchestrationMessage]]],
        now: datetime | None = None,
    ) -> dict[str, OrchestrationWorkItem]:
        """Claim instances for episodes that consume activity ``results`` held in memory
        (by instance id), with their stored visible messages too, in one read.

        The results are committed with the episode (each deletes its activity work
        item in the same transaction), so an activity result costs no transaction
        of its own. Instances claimed already or gone are left out: the caller
        stores their results with :meth:`complete_activities`.
        """
        with self._claims.lock:
            ids = [key for key in results if key not in self._claims.instances]
            self._claims.instances.update(ids)
        if not ids:
            return {}
        items = self._claim_quiet(ids, results)
        ids = [key for key in ids if key not in items]
        if not ids:
            return items
        read = functools.partial(
            self._read_episodes,
            ids=ids,
            at=_ts(now or self.clock.now()),
            results={key: tuple(results[key]) for key in ids},
        )
        try:
            items.update(self._read(read))
        except BaseException:
            for key in ids:
                self._release_instance(key)
            raise
        for key in ids:
            if key not in items:
                self._release_instance(key)
        return items

    def _no_messages(self, conn: sqlite3.Connection, instance_id: str) -> bool:
        return (
            conn.execute(
                "SELECT 1 FROM messages INDEXED BY messages_by_instance"
                " WHERE hub=? AND instance_id=? LIMIT 1",
                (self.hub, instance_id),
            ).fetchone()
            is None
        )

    def _claim_quiet(
        self,
        ids: Sequence[str],
        results: Mapping[str, Sequence[tuple[ActivityWorkItem, OrchestrationMessage]]],
    ) -> dict[str, OrchestrationWorkItem]:
        """The claimed ``ids`` that need no read: this connection committed them last,
        leaving no message of theirs in the store, and nothing was written since (no
        other write transaction of this process: ``_Claims.writes``; none of another
        process: ``PRAGMA data_version``). A chain of activities then costs one write
        transaction per step and no read."""
        with self._claims.lock:
            writes = self._claims.writes
            known = {
                key: entry
                for key in ids
                if (entry := self._claims.known.get(key)) is not None
                and entry.quiet
                and entry.version[0] == writes
            }
        if not known:
            return {}
        version = (writes, *self._guard(lambda: _data_version(self._conn())))
        return {
            key: OrchestrationWorkItem(
                instance=entry.instance,
                history=entry.history,
                history_json=entry.history_json,
                messages=tuple(message for _, message in results[key]),
                lease=_Lease(key=key, message_ids=(), results=tuple(results[key]), quiet=version),
            )
            for key, entry in known.items()
            if entry.version == version
        }

    def claim_instance(
        self,
        instance_id: str,
        results: Sequence[tuple[ActivityWorkItem, OrchestrationMessage]],
        now: datetime | None = None,
    ) -> OrchestrationWorkItem | None:
        """:meth:`claim_instances` for one instance (None if it cannot be claimed)."""
        return self.claim_instances({instance_id: results}, now).get(instance_id)

    def _read_episode(
        self, conn: sqlite3.Connection, *, instance_id: str, at: str
    ) -> OrchestrationWorkItem | None:
        return self._read_episodes(conn, ids=[instance_id], at=at, results={}).get(instance_id)

    def _read_episodes(
        self,
        conn: sqlite3.Connection,
        *,
        ids: Sequence[str],
        at: str,
        results: Mapping[str, tuple[tuple[ActivityWorkItem, OrchestrationMessage], ...]],
    ) -> dict[str, OrchestrationWorkItem]:
        """Instances' rows, visible messages and histories, from one snapshot.

        ``results`` are activity results held in memory: their messages come after
        the stored ones. An instance this process committed last is taken from
        memory while its row is unchanged; its history is not read again.
        """
        marks = ",".join("?" * len(ids))
        conn.execute("BEGIN")
        try:
            rows = {
                row[0]: row
                for row in conn.execute(
                    f"SELECT {self._INSTANCE_COLUMNS} FROM instances"
                    f" WHERE hub=? AND instance_id IN ({marks})",
                    (self.hub, *ids),
                )
            }
            known: dict[str, _Known] = {}
            for key, row in rows.items():
                entry = self._claims.known.get(key)
                # Changed since (rewound, purged, replaced): read it again.
                if entry is not None and (row[1], row[9]) == (entry.execution_id, entry.updated):
                    known[key] = entry
            # INDEXED BY: left to itself SQLite walks every visible message of the hub.
            stored: dict[str, list[Any]] = {}
            for row in conn.execute(
                "SELECT id, instance_id, execution_id, event FROM messages"
                " INDEXED BY messages_by_instance"
                f" WHERE hub=? AND instance_id IN ({marks}) AND visible_at <= ?"
                " AND locked_by IS NULL ORDER BY id LIMIT ?",
                (self.hub, *ids, at, MAX_BATCH * len(ids)),
            ):
                batch = stored.setdefault(row[1], [])
                if len(batch) < MAX_BATCH:
                    batch.append(row)
            unknown = [key for key in rows if key not in known]
            texts: dict[str, list[str]] = {key: [] for key in unknown}
            if unknown:
                for key, text in conn.execute(
                    "SELECT instance_id, event FROM history WHERE hub=?"
                    f" AND instance_id IN ({','.join('?' * len(unknown))})"
                    " ORDER BY instance_id, seq",
                    (self.hub, *unknown),
                ):
                    texts[key].append(text)
        finally:
            conn.execute("COMMIT")
        items: dict[str, OrchestrationWorkItem] = {}
        for key, row in rows.items():
            messages, held = stored.get(key, []), results.get(key, ())
            if not (messages or held):
                continue
            entry = known.get(key)
            if entry is None:
                past_json = HistoryLog(texts[key])
                instance, past = self._instance(row), HistoryLog(_loads_all(past_json))
            else:
                instance, past, past_json = entry.instance, entry.history, entry.history_json
            items[key] = OrchestrationWorkItem(
                instance=instance,
                history=past,
                history_json=past_json,
                messages=tuple(
                    OrchestrationMessage(instance_id=key, execution_id=m[2], event=event)
                    for m, event in zip(messages, _loads_all(m[3] for m in messages))
                )
                + tuple(message for _, message in held),
                lease=_Lease(key=key, message_ids=tuple(m[0] for m in messages), results=held),
            )
        return items

    def _release_instance(self, instance_id: str) -> None:
        with self._claims.lock:
            self._claims.instances.discard(instance_id)

    def complete_orchestration(self, item: OrchestrationWorkItem, outcome: EpisodeOutcome) -> None:
        """Apply one episode's outcome atomically and release the instance."""
        self.complete_orchestration_and_claim(item, outcome, claim=0)

    def complete_orchestration_and_claim(
        self, item: OrchestrationWorkItem, outcome: EpisodeOutcome, *, claim: int
    ) -> list[ActivityWorkItem]:
        """Like :meth:`complete_orchestration`, and claim up to ``claim`` of the
        activities it schedules in the same transaction.

        The caller runs those at once: no claim transaction, no hand-off to the
        activity claimer. They are claimed exactly as :meth:`claim_activities` would
        claim them, so start-up recovery releases them the same way.
        """
        (result,) = self.complete_orchestrations([(item, outcome, claim)])
        if isinstance(result, BaseException):
            raise result
        return result

    def complete_orchestrations(
        self, episodes: Sequence[tuple[OrchestrationWorkItem, EpisodeOutcome, int]]
    ) -> list[list[ActivityWorkItem] | Exception]:
        """Apply several episodes in one transaction, each atomically (a savepoint).

        Per episode: the activities claimed for it (see
        :meth:`complete_orchestration_and_claim`), or the error that rolled it back
        alone. Pages the episodes share are written once, so a batch costs much less
        than one commit each. Every instance is released, whatever happens.
        """
        results: list[list[ActivityWorkItem] | Exception] = [[] for _ in episodes]
        applied: list[_Written | None] = [None] * len(episodes)
        several = len(episodes) > 1
        version = (0, -1)

        def run(conn: sqlite3.Connection) -> None:
            nonlocal version
            version = _data_version(conn)
            for index, (item, outcome, claim) in enumerate(episodes):
                claimed: list[ActivityWorkItem] = []
                results[index] = claimed  # filled in place, so a failure can unclaim them
                if not several:
                    assert isinstance(item.lease, _Lease)
                    # A chain's step: nothing written since its quiet claim, so its
                    # row and queue need not be read back (see _Lease.quiet).
                    unchanged = item.lease.quiet == (self._claims.writes, *version)
                    written = self._apply_episode(
                        conn, item, outcome, claim, claimed, unchanged=unchanged
                    )
                    if written is not None:
                        empty = unchanged and not _messages_itself(outcome)
                        applied[index] = (*written, empty)
                    continue
                conn.execute("SAVEPOINT episode")
                try:
                    written = self._apply_episode(conn, item, outcome, claim, claimed)
                    applied[index] = None if written is None else (*written, False)
                except Exception as exc:
                    conn.execute("ROLLBACK TO episode")
                    conn.execute("RELEASE episode")
                    self._unclaim(claimed)
                    results[index] = self._error(exc) if isinstance(exc, sqlite3.Error) else exc
                    continue
                conn.execute("RELEASE episode")
            # Last, once every episode of the batch sent its messages.
            for index, done in enumerate(applied):
                if done is not None and not done[2]:
                    key = episodes[index][0].instance.instance_id
                    applied[index] = (done[0], done[1], self._no_messages(conn, key))

        committed = False
        try:
            self._write(run)
            committed = True
        except BaseException:
            for result in results:
                if isinstance(result, list):
                    self._unclaim(result)
            raise
        finally:
            # After COMMIT: a new claim reads the history these episodes appended.
            for (item, outcome, _), result, written in zip(episodes, results, applied):
                assert isinstance(item.lease, _Lease)
                if committed and written is not None and not isinstance(result, Exception):
                    self._remember(item, outcome, written, (self._local.writes, *version))
                self._release_instance(item.lease.key)
                if committed and not isinstance(result, Exception):
                    self._unclaim([activity for activity, _ in item.lease.results])
                else:
                    self._give_back(item.lease)
        return results

    def _remember(
        self,
        item: OrchestrationWorkItem,
        outcome: EpisodeOutcome,
        written: _Written,
        version: tuple[int, int, int],
    ) -> None:
        """Keep what a committed episode left: the next one need not read it back."""
        updated, added, quiet = written
        history, texts = item.history, item.history_json
        if outcome.new_execution:
            history, texts = (), ()
        elif texts is None:
            texts = tuple(map(_dumps, history))
        self._claims.remember(
            outcome.instance,
            updated,
            _plus(history, outcome.history_added),
            _plus(texts, added),
            quiet=quiet,
            version=version,
        )

    def _give_back(self, lease: _Lease) -> None:
        """Store the in-memory activity results of an episode that did not commit.

        If even that fails, the activities run again (see :meth:`complete_activities`):
        a result that was never committed is not lost, only recomputed.
        """
        if lease.results:
            with contextlib.suppress(HostError):
                self.complete_activities(lease.results)

    def _unclaim(self, activities: list[ActivityWorkItem]) -> None:
        with self._claims.lock:
            self._claims.activities.difference_update(_lease_ids(activities))

    def _apply_episode(
        self,
        conn: sqlite3.Connection,
        item: OrchestrationWorkItem,
        outcome: EpisodeOutcome,
        claim: int,
        claimed: list[ActivityWorkItem],
        *,
        unchanged: bool = False,
    ) -> tuple[str, tuple[str, ...]] | None:
        """Write one episode's outcome; returns the status row's new last-updated text and
        the JSON text of the events added to the history, or None if its instance is gone
        or replaced. ``unchanged``: nothing was written to the file since a quiet claim,
        so the row is not read back."""
        lease = item.lease
        assert isinstance(lease, _Lease)
        inst = outcome.instance
        old_execution = item.instance.execution_id
        if lease.message_ids:
            conn.execute(
                f"DELETE FROM messages WHERE id IN ({','.join('?' * len(lease.message_ids))})",
                lease.message_ids,
            )
        if lease.results:
            conn.executemany(
                "DELETE FROM activities WHERE id=?", [(a.lease,) for a, _ in lease.results]
            )
        known = self._claims.known.get(inst.instance_id)
        if known is not None and known.instance is item.instance:  # claimed from memory
            claimed_at = known.updated
        else:
            claimed_at = _ts(item.instance.last_updated_time)
        if unchanged:
            owner = (old_execution, claimed_at, len(item.history))
        else:
            owner = conn.execute(
                "SELECT execution_id, last_updated_time,"
                " (SELECT COALESCE(MAX(seq) + 1, 0) FROM history"
                " WHERE hub=?1 AND instance_id=?2)"
                " FROM instances WHERE hub=?1 AND instance_id=?2",
                (self.hub, inst.instance_id),
            ).fetchone()
        if owner is None or owner[0] != old_execution:
            # Purged, or replaced by a new instance with the same id, while this
            # episode ran: its outcome belongs to nothing any more.
            return None
        start = 0 if outcome.new_execution else int(owner[2])
        if outcome.new_execution:
            conn.execute(
                "DELETE FROM history WHERE hub=? AND instance_id=?",
                (self.hub, inst.instance_id),
            )
        if outcome.new_execution or outcome.finished:
            # Timers of the execution that ended can never be consumed.
            conn.execute(
                "DELETE FROM messages WHERE hub=? AND instance_id=? AND timer_id IS NOT NULL"
                " AND execution_id IS ? AND locked_by IS NULL",
                (self.hub, inst.instance_id, old_execution),
            )
        added = self._append_history(conn, inst, outcome.history_added, start=start)
        updated = _ts(inst.last_updated_time)
        if owner[1] == claimed_at:
            self._update_instance(conn, item.instance, inst)
        else:  # the row changed since the claim read it: write all of it
            self._upsert_instance(conn, inst, release=True)
        for message in outcome.messages:
            self._enqueue(conn, message)
        for new in outcome.new_instances:
            if not self._create(conn, new, replace_finished=True):
                conflict = sub_orchestration_conflict(new, now=inst.last_updated_time)
                if conflict is not None:
                    self._enqueue(conn, conflict)
        for index, activity in enumerate(outcome.activities):
            if index >= claim:
                self._enqueue_activity(conn, activity)
                continue
            row = conn.execute(
                "INSERT INTO activities (hub, instance_id, execution_id, task_id, name, input)"
                " VALUES (?,?,?,?,?,?) RETURNING id",
                (
                    self.hub,
                    activity.instance_id,
                    activity.execution_id,
                    activity.task_id,
                    activity.name,
                    activity.input,
                ),
            ).fetchone()
            # Claimed before COMMIT makes the row visible to the activity claimer.
            with self._claims.lock:
                self._claims.activities.add(int(row[0]))
            claimed.append(dataclasses.replace(activity, lease=row[0]))
        for timer in outcome.timers:
            self._enqueue_timer(conn, timer)
        if outcome.cancel_timers:
            conn.executemany(
                "DELETE FROM messages WHERE hub=? AND instance_id=? AND timer_id=?"
                " AND execution_id IS ?",
                [(self.hub, inst.instance_id, t, inst.execution_id) for t in outcome.cancel_timers],
            )
        for request in outcome.entity_messages:
            self._enqueue_entity(conn, request)
        return updated, added

    def abandon_orchestration(self, item: OrchestrationWorkItem) -> None:
        """Release a claim without changes (the messages become visible again, and
        activity results held in memory are stored as messages)."""
        lease = item.lease
        assert isinstance(lease, _Lease)
        self._release_instance(lease.key)
        self._give_back(lease)

    def next_visible_at(self, now: datetime | None = None) -> datetime | None:
        """When the earliest not-yet-visible message (a timer) becomes visible."""
        at = _ts(now or self.clock.now())

        def run(conn: sqlite3.Connection) -> datetime | None:
            row = conn.execute(
                "SELECT MIN(visible_at) FROM messages WHERE hub=? AND visible_at > ?",
                (self.hub, at),
            ).fetchone()
            return _parse_ts(row[0]) if row and row[0] else None

        return self._read(run)

    # -- activities ------------------------------------------------------------------------
    def claim_activity(self) -> ActivityWorkItem | None:
        """Claim the oldest unclaimed activity work item."""
        items = self.claim_activities(1)
        return items[0] if items else None

    def claim_activities(self, limit: int) -> list[ActivityWorkItem]:
        """Claim up to ``limit`` of the oldest unclaimed activity work items, in order.

        Claims live in memory, like orchestration claims: no write transaction.
        """
        if limit <= 0:
            return []
        claims = self._claims

        def pick(conn: sqlite3.Connection) -> list[ActivityWorkItem]:
            cursor = conn.execute(
                "SELECT id, instance_id, execution_id, task_id, name, input FROM activities"
                " WHERE hub=? AND locked_by IS NULL ORDER BY id",
                (self.hub,),
            )
            picked: list[ActivityWorkItem] = []
            try:
                for row in cursor:
                    if row[0] in claims.activities:
                        continue
                    claims.activities.add(row[0])
                    picked.append(
                        ActivityWorkItem(
                            instance_id=row[1],
                            execution_id=row[2],
                            task_id=row[3],
                            name=row[4],
                            input=row[5],
                            lease=row[0],
                        )
                    )
                    if len(picked) >= limit:
                        break
            finally:
                cursor.close()
            return picked

        with claims.lock:
            return self._read(pick)

    def complete_activities(
        self, results: Sequence[tuple[ActivityWorkItem, OrchestrationMessage]]
    ) -> None:
        """Commit a batch of activity results: delete each work item, enqueue its result.

        A result whose work item is gone (the instance was purged or restarted) is dropped.
        Whether the commit succeeds or fails, the work items are unclaimed: after a
        failure the activities run again, as their results were never committed.
        """

        def run(conn: sqlite3.Connection) -> None:
            for item, message in results:
                cursor = conn.execute("DELETE FROM activities WHERE id=?", (item.lease,))
                if cursor.rowcount:
                    self._enqueue(conn, message)

        if results:
            try:
                self._write(run)
            finally:
                self._unclaim([item for item, _ in results])


T = TypeVar("T")


def _plus(past: Sequence[T], added: Sequence[T]) -> HistoryLog[T]:
    """``past`` and then ``added``, without copying ``past`` when it is a store's log."""
    if isinstance(past, HistoryLog):
        return past.plus(added)
    return HistoryLog((*past, *added))


_Written = tuple[str, tuple[str, ...], bool]
"""What ``_apply_episode`` wrote (the row's last-updated text, the added events' JSON
text), and whether no message of the instance is left in the store (False until known)."""


def _messages_itself(outcome: EpisodeOutcome) -> bool:
    """Whether an episode queued a message for its own instance (a timer, an event to
    itself, or a sub-orchestration conflict answered to it)."""
    key = outcome.instance.instance_id
    return bool(outcome.timers or outcome.new_instances) or any(
        message.instance_id == key for message in outcome.messages
    )


def _data_version(conn: sqlite3.Connection) -> tuple[int, int]:
    """Changes whenever another connection commits to the file. SQLite counts it per
    connection, so the connection is part of it: equal values mean nothing changed
    under this connection since."""
    return id(conn), int(conn.execute("PRAGMA data_version").fetchone()[0])
