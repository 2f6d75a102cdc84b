"""The SQLite store's instance operations outside episodes: read, list, purge, rewind."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from durable_functions.errors import HostError
from durable_functions.host.backend import HistoryRewrite, InstancePage, InstanceQuery
from durable_functions.host.engine import Event, InstanceState
from durable_functions.host.store_base import StoreBase
from durable_functions.host.store_schema import (
    _loads_all,
    _ts,
    _where_between,
    _where_prefix,
)


class QueryStore(StoreBase):
    """Status and history reads, listing, purge and rewind (management, outside episodes)."""

    def get_instance(self, instance_id: str) -> InstanceState | None:
        """The status row of an instance, or None."""

        def run(conn: sqlite3.Connection) -> InstanceState | None:
            row = conn.execute(
                f"SELECT {self._INSTANCE_COLUMNS} FROM instances WHERE hub=? AND instance_id=?",
                (self.hub, instance_id),
            ).fetchone()
            return None if row is None else self._instance(row)

        return self._read(run)

    def get_history(self, instance_id: str) -> list[Event]:
        """The full history of the instance's current execution, in order."""

        def run(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute(
                "SELECT event FROM history WHERE hub=? AND instance_id=? ORDER BY seq",
                (self.hub, instance_id),
            ).fetchall()
            return _loads_all(r[0] for r in rows)

        return self._read(run)

    def query_instances(self, query: InstanceQuery) -> InstancePage:
        """Instances ordered by creation time, filtered, one page at a time."""
        statuses, prefix, top = query.statuses, query.prefix, query.top
        where = ["hub = ?"]
        args: list[Any] = [self.hub]
        _where_between(where, args, "created_time", query.created_from, query.created_to)
        if statuses:
            where.append(f"runtime_status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if prefix:
            _where_prefix(where, args, "instance_id", prefix)
        if query.name:
            where.append("name = ? COLLATE NOCASE")
            args.append(query.name)
        after, order = (">", "") if not query.newest_first else ("<", " DESC")
        if query.continuation:
            try:
                after_time, after_id = json.loads(query.continuation)
            except (ValueError, TypeError) as exc:
                raise HostError("invalid continuation token") from exc
            where.append(
                f"(created_time {after} ? OR (created_time = ? AND instance_id {after} ?))"
            )
            args.extend([after_time, after_time, after_id])
        sql = (
            f"SELECT {self._INSTANCE_COLUMNS} FROM instances WHERE {' AND '.join(where)}"
            f" ORDER BY created_time{order}, instance_id{order} LIMIT ?"
        )
        args.append(top + 1)

        def run(conn: sqlite3.Connection) -> InstancePage:
            rows = conn.execute(sql, args).fetchall()
            page = [self._instance(r) for r in rows[:top]]
            token = None
            if len(rows) > top and page:
                last = page[-1]
                token = json.dumps([_ts(last.created_time), last.instance_id])
            return InstancePage(instances=page, continuation=token)

        return self._read(run)

    def purge(self, instance_ids: Iterable[str]) -> int:
        """Delete instances (row, history, queues); returns how many existed."""

        def run(conn: sqlite3.Connection) -> int:
            count = 0
            for instance_id in instance_ids:
                cursor = conn.execute(
                    "DELETE FROM instances WHERE hub=? AND instance_id=?", (self.hub, instance_id)
                )
                count += cursor.rowcount
                self._delete_instance(conn, instance_id)
            return count

        return self._write(run)

    def rewrite_history(self, rewrite: HistoryRewrite) -> None:
        """Rewind: swap the history and enqueue the work that restarts the instance."""
        instance = rewrite.instance

        def run(conn: sqlite3.Connection) -> None:
            self._upsert_instance(conn, instance)
            conn.execute(
                "DELETE FROM history WHERE hub=? AND instance_id=?",
                (self.hub, instance.instance_id),
            )
            self._append_history(conn, instance, rewrite.history, start=0)
            for message in rewrite.messages:
                self._enqueue(conn, message)
            for activity in rewrite.activities:
                self._enqueue_activity(conn, activity)
            for new in rewrite.new_instances:
                self._create(conn, new, replace_finished=True)

        self._write(run)

    # -- diagnostics -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Queue lengths, for logs and tests."""

        def run(conn: sqlite3.Connection) -> dict[str, int]:
            result = {}
            for table in ("instances", "messages", "activities", "entity_messages"):
                result[table] = int(
                    conn.execute(
                        f"SELECT COUNT(*) FROM {table} WHERE hub=?", (self.hub,)
                    ).fetchone()[0]
                )
            return result

        return self._read(run)
