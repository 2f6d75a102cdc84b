"""The SQLite store's entities: claim a batch of requests, commit the new state, read states."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from durable_functions.host.backend import EntityQuery
from durable_functions.host.engine import (
    EntityMessage,
    EntityOutcome,
    EntityState,
    EntityWorkItem,
)
from durable_functions.host.store_base import StoreBase
from durable_functions.host.store_claims import _Lease
from durable_functions.host.store_schema import (
    MAX_BATCH,
    _parse_ts,
    _ts,
    _where_between,
    _where_prefix,
)


class EntityStore(StoreBase):
    """Entity batches and entity state reads."""

    # -- entities --------------------------------------------------------------------------
    def claim_entity(self) -> EntityWorkItem | None:
        """Claim one entity with pending requests, with its state and requests in order."""
        claimable = (
            "SELECT m.entity_id FROM entity_messages m"
            " LEFT JOIN entities e ON e.hub = m.hub AND e.entity_id = m.entity_id"
            " WHERE m.hub=? AND m.locked_by IS NULL AND e.locked_by IS NULL"
            " ORDER BY m.id LIMIT 1"
        )
        # Look before taking the write lock: most polls find nothing to claim.
        if self._read(lambda c: c.execute(claimable, (self.hub,)).fetchone()) is None:
            return None

        def run(conn: sqlite3.Connection) -> EntityWorkItem | None:
            row = conn.execute(claimable, (self.hub,)).fetchone()
            if row is None:
                return None
            entity_id = row[0]
            conn.execute(
                "INSERT INTO entities (hub, entity_id, entity_exists, state, last_modified,"
                " locked_by) VALUES (?,?,0,NULL,NULL,?)"
                " ON CONFLICT (hub, entity_id) DO UPDATE SET locked_by=excluded.locked_by",
                (self.hub, entity_id, self.token),
            )
            state_row = conn.execute(
                "SELECT entity_exists, state, last_modified FROM entities"
                " WHERE hub=? AND entity_id=?",
                (self.hub, entity_id),
            ).fetchone()
            rows = conn.execute(
                "SELECT id, request FROM entity_messages WHERE hub=? AND entity_id=?"
                " AND locked_by IS NULL ORDER BY id LIMIT ?",
                (self.hub, entity_id, MAX_BATCH),
            ).fetchall()
            ids = tuple(r[0] for r in rows)
            conn.executemany(
                "UPDATE entity_messages SET locked_by=? WHERE id=?", [(self.token, i) for i in ids]
            )
            return EntityWorkItem(
                entity=EntityState(
                    entity_id=entity_id,
                    exists=bool(state_row[0]),
                    state=state_row[1],
                    last_modified=_parse_ts(state_row[2]),
                ),
                messages=tuple(
                    EntityMessage(entity_id=entity_id, request=json.loads(r[1])) for r in rows
                ),
                lease=_Lease(key=entity_id, message_ids=ids),
            )

        return self._write(run)

    def complete_entity(self, item: EntityWorkItem, outcome: EntityOutcome) -> None:
        """Store the entity's new state, drop the handled requests, send the responses."""
        lease = item.lease
        assert isinstance(lease, _Lease)
        entity = outcome.entity

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "DELETE FROM entity_messages WHERE id=?", [(i,) for i in lease.message_ids]
            )
            conn.execute(
                "UPDATE entities SET entity_exists=?, state=?, last_modified=?, locked_by=NULL"
                " WHERE hub=? AND entity_id=?",
                (
                    int(entity.exists),
                    entity.state,
                    _ts(entity.last_modified or self.clock.now()),
                    self.hub,
                    entity.entity_id,
                ),
            )
            for message in outcome.messages:
                self._enqueue(conn, message)

        self._write(run)

    def abandon_entity(self, item: EntityWorkItem) -> None:
        """Release an entity claim without changes."""
        lease = item.lease
        assert isinstance(lease, _Lease)

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE entities SET locked_by=NULL WHERE hub=? AND entity_id=?",
                (self.hub, lease.key),
            )
            conn.executemany(
                "UPDATE entity_messages SET locked_by=NULL WHERE id=?",
                [(i,) for i in lease.message_ids],
            )

        self._write(run)

    def get_entity(self, entity_id: str) -> EntityState | None:
        """The stored entity, or None if it never received an operation."""

        def run(conn: sqlite3.Connection) -> EntityState | None:
            row = conn.execute(
                "SELECT entity_exists, state, last_modified FROM entities"
                " WHERE hub=? AND entity_id=?",
                (self.hub, entity_id),
            ).fetchone()
            if row is None:
                return None
            return EntityState(
                entity_id=entity_id,
                exists=bool(row[0]),
                state=row[1],
                last_modified=_parse_ts(row[2]),
            )

        return self._read(run)

    def query_entities(self, query: EntityQuery) -> tuple[list[EntityState], str | None]:
        """Existing entities (optionally of one name), ordered by id, one page at a time."""
        top, continuation = query.top, query.continuation
        where = ["hub = ?", "entity_exists = 1"]
        args: list[Any] = [self.hub]
        if query.name:
            _where_prefix(where, args, "entity_id", f"@{query.name.lower()}@")
        _where_between(where, args, "last_modified", query.modified_from, query.modified_to)
        if continuation:
            where.append("entity_id > ?")
            args.append(continuation)
        sql = (
            "SELECT entity_id, entity_exists, state, last_modified FROM entities"
            f" WHERE {' AND '.join(where)} ORDER BY entity_id LIMIT ?"
        )
        args.append(top + 1)

        def run(conn: sqlite3.Connection) -> tuple[list[EntityState], str | None]:
            rows = conn.execute(sql, args).fetchall()
            found = [
                EntityState(
                    entity_id=r[0], exists=bool(r[1]), state=r[2], last_modified=_parse_ts(r[3])
                )
                for r in rows[:top]
            ]
            token = found[-1].entity_id if len(rows) > top and found else None
            return found, token

        return self._read(run)
