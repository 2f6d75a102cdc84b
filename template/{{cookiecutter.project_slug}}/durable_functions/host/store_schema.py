"""The SQLite task hub's schema, its migrations, and the text codecs its rows use.

Timestamps are stored as fixed-width sortable UTC text (see ``_ts``), so a string
comparison in SQL is a time comparison.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar

from durable_functions._protocol import EventType, RuntimeStatus

T = TypeVar("T")

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
CREATE TABLE instances (
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent TEXT,
    failure TEXT,
    locked_by TEXT,
    PRIMARY KEY (hub, instance_id)
) WITHOUT ROWID;
CREATE INDEX instances_by_created ON instances (hub, created_time, instance_id);
CREATE INDEX instances_by_status ON instances (hub, runtime_status, created_time);
CREATE TABLE history (
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (hub, instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    event_type INTEGER NOT NULL,
    event TEXT NOT NULL,
    visible_at TEXT NOT NULL,
    timer_id INTEGER,
    locked_by TEXT
);
CREATE INDEX messages_ready ON messages (hub, visible_at, id);
CREATE INDEX messages_by_instance ON messages (hub, instance_id, id);
CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    locked_by TEXT
);
CREATE INDEX activities_ready ON activities (hub, locked_by, id);
CREATE TABLE entities (
    hub TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    entity_exists INTEGER NOT NULL,
    state TEXT,
    last_modified TEXT,
    locked_by TEXT,
    PRIMARY KEY (hub, entity_id)
) WITHOUT ROWID;
CREATE TABLE entity_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    request TEXT NOT NULL,
    locked_by TEXT
);
CREATE INDEX entity_messages_by_entity ON entity_messages (hub, entity_id, id);
""",
}

_SUSPENDED = RuntimeStatus.Suspended.value
_WAKE_TYPES = (EventType.ExecutionTerminated, EventType.ExecutionResumed)
"""The messages that wake a suspended instance."""
MAX_BATCH = 200
"""Most messages handed to one orchestration episode or entity batch."""


def _ts(value: datetime) -> str:
    """Fixed-width, sortable UTC text (string comparison = time comparison).

    ``isoformat`` rather than ``strftime``: same text, a fraction of the cost on the
    hot path (every message, every status row).
    """
    if value.tzinfo is not None and value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_ts(text: str | None) -> datetime | None:
    """Read back what :func:`_ts` wrote (``fromisoformat`` is C; ``strptime`` is not)."""
    if text is None:
        return None
    return datetime.fromisoformat(text[:-1] if text.endswith("Z") else text).replace(
        tzinfo=timezone.utc
    )


def _where_between(
    where: list[str], args: list[Any], column: str, lo: datetime | None, hi: datetime | None
) -> None:
    """Add inclusive time bounds on ``column`` to a WHERE clause being built."""
    if lo is not None:
        where.append(f"{column} >= ?")
        args.append(_ts(lo))
    if hi is not None:
        where.append(f"{column} <= ?")
        args.append(_ts(hi))


def _where_prefix(where: list[str], args: list[Any], column: str, prefix: str) -> None:
    """Add a starts-with test (``substr``, not ``LIKE``: ``%`` and ``_`` stay literal)."""
    where.append(f"substr({column}, 1, ?) = ?")
    args.extend([len(prefix), prefix])


_dumps = json.JSONEncoder().encode
"""``json.dumps`` with its defaults, minus two Python frames per call (hot path)."""


def _loads_all(texts: Iterable[str]) -> list[Any]:
    """Decode many JSON texts with one parser call instead of one call each."""
    return list(json.loads("[" + ",".join(texts) + "]"))
