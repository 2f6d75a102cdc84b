"""The SQLite task hub store: durable state of instances, queues, timers and entities.

One file holds any number of task hubs (every row carries its hub name). The file is
opened in WAL mode so status queries never wait for the dispatcher, and every change
the engine asks for in one orchestration episode is applied in ONE transaction: history
append, consumed messages deleted, new messages/activities/timers/entity requests
enqueued, status updated. A crash therefore leaves either all of an episode or none.

Orchestration and activity claims live in memory, shared by the store objects of one
process on one file: only one process serves a file (an advisory lock), so a claim
needs no write transaction. Entity claims are recorded in ``locked_by`` with a token
unique to the running process. Opening the store for serving (``recover=True``)
releases every claim, so work a killed host had claimed but not committed becomes
visible again. One in-process lock orders the writers (see ``_write_lock_for``).

``sqlite3`` errors are translated once, here, into :class:`HostError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.errors import HostError
from durable_functions.host.backend import InstancePage
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
    ParentInstance,
    TimerItem,
    sub_orchestration_conflict,
)

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


@dataclass(frozen=True, slots=True)
class _Known:
    """An instance as this process last committed it: the next episode need not read
    and decode its row and history again while the row still says the same."""

    execution_id: str
    updated: str
    """The stored ``last_updated_time`` text: every commit of the row changes it."""
    instance: InstanceState
    history: tuple[Event, ...]
    history_json: tuple[str, ...]


KNOWN_INSTANCES = 4096
"""Most instances whose state ``_Claims.known`` keeps (the least recently run go first)."""


class _Claims:
    """What this process has claimed in one hub of one file (see ``claim_orchestration``),
    and what it knows of the instances it runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.instances: set[str] = set()
        self.activities: set[int] = set()
        self.known: dict[str, _Known] = {}

    def remember(
        self,
        instance: InstanceState,
        updated: str,
        history: tuple[Event, ...],
        history_json: tuple[str, ...],
    ) -> None:
        """Keep a committed episode's result (finished instances are let go);
        ``updated`` is the ``last_updated_time`` text its row was written with."""
        key = instance.instance_id
        self.known.pop(key, None)
        if instance.runtime_status.is_terminal:
            return
        self.known[key] = _Known(instance.execution_id, updated, instance, history, history_json)
        if len(self.known) > KNOWN_INSTANCES:
            self.known.pop(next(iter(self.known)), None)


_CLAIMS: dict[tuple[Path, str], _Claims] = {}

_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(path: Path) -> threading.Lock:
    """One in-process writer lock per file, shared by every store object on it.

    SQLite serialises writers anyway, but a waiting connection polls with sleeps of
    1–100 ms (its busy handler); threads that queue on a lock are handed the file
    the moment it is free. Other processes (read-only tools) still meet SQLite's own
    locking, so the busy timeout stays.
    """
    key = path.resolve()
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(key)
        if lock is None:
            lock = _WRITE_LOCKS[key] = threading.Lock()
        return lock


def _lease_ids(items: Iterable[ActivityWorkItem]) -> list[int]:
    """The activity row ids behind claimed work items."""
    return [item.lease for item in items if isinstance(item.lease, int)]


def _claims_for(path: Path, hub: str) -> _Claims:
    """The claim registry of one hub in one file, shared by every store object on it."""
    key = (path.resolve(), hub)
    with _WRITE_LOCKS_GUARD:
        claims = _CLAIMS.get(key)
        if claims is None:
            claims = _CLAIMS[key] = _Claims()
        return claims


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Lease:
    """What a claim took: the ids of the rows to delete when it commits."""

    key: str
    message_ids: tuple[int, ...]
    results: tuple[tuple[ActivityWorkItem, OrchestrationMessage], ...] = ()
    """Activity results held in memory that the episode consumes (see ``claim_instance``)."""


class SqliteStore:
    """The task hub store for one hub in one SQLite file.

    Safe to use from many threads: each thread gets its own connection.
    """

    def __init__(self, path: Path | str, hub: str = "TestHubName", *, recover: bool = False):
        self.path = Path(path)
        self.hub = hub
        self.token = uuid.uuid4().hex
        """Marks this process's claims."""
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HostError(f"cannot create the folder for {self.path}: {exc}") from exc
        self._write_lock = _write_lock_for(self.path)
        self._claims = _claims_for(self.path, hub)
        self._host_lock: IO[bytes] | None = None
        if recover:
            self._lock_for_serving()
        self._guard(self._migrate)
        if recover:
            self.release_claims()

    def _lock_for_serving(self) -> None:
        """Only one host may serve a file: recovery releases every claim in it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, trust the user
            return
        path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(path, "ab")  # noqa: SIM115 - held open for the process lifetime
        except OSError as exc:
            raise HostError(f"cannot open {path}: {exc}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise HostError(
                f"another host is already serving {self.path}; stop it or use --db"
            ) from exc
        self._host_lock = handle

    # -- connections and error translation ----------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as exc:
            raise HostError(f"task hub store {self.path.name}: {exc}") from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue instead of deadlocking)."""
        conn = self._conn()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise HostError(f"task hub store {self.path.name}: {exc}") from exc
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise HostError(f"task hub store {self.path.name}: {exc}") from exc

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._tx() as conn:
                return fn(conn)
        except sqlite3.Error as exc:
            raise HostError(f"task hub store {self.path.name}: {exc}") from exc

    def _error(self, exc: sqlite3.Error) -> HostError:
        error = HostError(f"task hub store {self.path.name}: {exc}")
        error.__cause__ = exc
        return error

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._guard(lambda: fn(self._conn()))

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._host_lock is not None:
            self._host_lock.close()
            self._host_lock = None

    def _migrate(self) -> None:
        with self._write_lock:
            self._migrate_locked()

    def _migrate_locked(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise HostError(
                    f"{self.path.name} was written by a newer version (schema {current}); "
                    f"this host understands schema {SCHEMA_VERSION}"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, _ts(_now())),
                )
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        """The file's ``PRAGMA user_version``."""
        return self._read(lambda c: int(c.execute("PRAGMA user_version").fetchone()[0]))

    def release_claims(self) -> None:
        """Make every claimed-but-uncommitted item visible again (start-up recovery)."""

        def run(conn: sqlite3.Connection) -> None:
            for table in ("instances", "messages", "activities", "entities", "entity_messages"):
                conn.execute(
                    f"UPDATE {table} SET locked_by = NULL WHERE hub = ? AND locked_by IS NOT NULL",
                    (self.hub,),
                )

        with self._claims.lock:
            self._claims.instances.clear()
            self._claims.activities.clear()
            self._claims.known.clear()
        self._write(run)

    # -- row mapping -------------------------------------------------------------------
    @staticmethod
    def _instance(row: sqlite3.Row | tuple[Any, ...]) -> InstanceState:
        (
            instance_id,
            execution_id,
            name,
            version,
            status,
            input_,
            output,
            custom,
            created,
            updated,
            parent,
            failure,
        ) = row
        parent_obj = None
        if parent:
            p = json.loads(parent)
            parent_obj = ParentInstance(**p)
        return InstanceState(
            instance_id=instance_id,
            execution_id=execution_id,
            name=name,
            version=version,
            runtime_status=RuntimeStatus(status),
            input=input_,
            output=output,
            custom_status=custom,
            created_time=_parse_ts(created) or _now(),
            last_updated_time=_parse_ts(updated) or _now(),
            parent=parent_obj,
            failure=json.loads(failure) if failure else None,
        )

    _INSTANCE_COLUMNS = (
        "instance_id, execution_id, name, version, runtime_status, input, output, "
        "custom_status, created_time, last_updated_time, parent, failure"
    )

    def _upsert_instance(
        self, conn: sqlite3.Connection, inst: InstanceState, *, release: bool = False
    ) -> None:
        """Insert or update the status row; ``release`` also clears the claim."""
        parent = None
        if inst.parent is not None:
            p = inst.parent
            parent = json.dumps(
                {
                    "instance_id": p.instance_id,
                    "execution_id": p.execution_id,
                    "name": p.name,
                    "version": p.version,
                    "task_schedule_id": p.task_schedule_id,
                }
            )
        conn.execute(
            "INSERT INTO instances (hub, instance_id, execution_id, name, version, runtime_status,"
            " input, output, custom_status, created_time, last_updated_time, parent, failure)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (hub, instance_id) DO UPDATE SET execution_id=excluded.execution_id,"
            " name=excluded.name, version=excluded.version,"
            " runtime_status=excluded.runtime_status, input=excluded.input,"
            " output=excluded.output, custom_status=excluded.custom_status,"
            " created_time=excluded.created_time, last_updated_time=excluded.last_updated_time,"
            " parent=excluded.parent, failure=excluded.failure"
            + (", locked_by=NULL" if release else ""),
            (
                self.hub,
                inst.instance_id,
                inst.execution_id,
                inst.name,
                inst.version,
                inst.runtime_status.value,
                inst.input,
                inst.output,
                inst.custom_status,
                _ts(inst.created_time),
                _ts(inst.last_updated_time),
                parent,
                json.dumps(inst.failure) if inst.failure is not None else None,
            ),
        )

    def _update_instance(
        self, conn: sqlite3.Connection, old: InstanceState, inst: InstanceState, updated: str
    ) -> None:
        """Write what changed in an existing status row, and release its claim.

        Only the changed columns: an index whose columns are not set (status,
        creation time) is left alone, so most episodes write fewer pages.
        """
        columns = ["last_updated_time=?", "locked_by=NULL"]
        values: list[Any] = [updated]
        for column, before, after in (
            ("execution_id", old.execution_id, inst.execution_id),
            ("name", old.name, inst.name),
            ("version", old.version, inst.version),
            ("runtime_status", old.runtime_status.value, inst.runtime_status.value),
            ("input", old.input, inst.input),
            ("output", old.output, inst.output),
            ("custom_status", old.custom_status, inst.custom_status),
        ):
            if before != after:
                columns.append(f"{column}=?")
                values.append(after)
        if old.created_time != inst.created_time:
            columns.append("created_time=?")
            values.append(_ts(inst.created_time))
        if old.parent != inst.parent or old.failure != inst.failure:
            # Rare (continue-as-new, failure): the full row.
            self._upsert_instance(conn, inst, release=True)
            return
        conn.execute(
            f"UPDATE instances SET {', '.join(columns)} WHERE hub=? AND instance_id=?",
            (*values, self.hub, inst.instance_id),
        )

    def _enqueue(
        self,
        conn: sqlite3.Connection,
        message: OrchestrationMessage,
        *,
        visible_at: datetime | None = None,
        timer_id: int | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO messages (hub, instance_id, execution_id, event_type, event, visible_at,"
            " timer_id) VALUES (?,?,?,?,?,?,?)",
            (
                self.hub,
                message.instance_id,
                message.execution_id,
                int(message.event.get("EventType", -1)),
                _dumps(message.event),
                _ts(visible_at) if visible_at is not None else "",
                timer_id,
            ),
        )

    def _enqueue_activity(self, conn: sqlite3.Connection, item: ActivityWorkItem) -> None:
        conn.execute(
            "INSERT INTO activities (hub, instance_id, execution_id, task_id, name, input)"
            " VALUES (?,?,?,?,?,?)",
            (self.hub, item.instance_id, item.execution_id, item.task_id, item.name, item.input),
        )

    def _enqueue_entity(self, conn: sqlite3.Connection, message: EntityMessage) -> None:
        conn.execute(
            "INSERT INTO entity_messages (hub, entity_id, request) VALUES (?,?,?)",
            (self.hub, message.entity_id, json.dumps(message.request)),
        )

    # -- instances -------------------------------------------------------------------------
    def create_instance(self, new: NewInstance, *, replace_finished: bool = True) -> bool:
        """Store a new instance and its ExecutionStarted message.

        An existing instance with the same id is replaced only when it is finished
        (and ``replace_finished``); returns False when the id is taken by a live one.
        """

        return self._write(lambda conn: self._create(conn, new, replace_finished=replace_finished))

    def _create(
        self, conn: sqlite3.Connection, new: NewInstance, *, replace_finished: bool
    ) -> bool:
        row = conn.execute(
            "SELECT runtime_status FROM instances WHERE hub=? AND instance_id=?",
            (self.hub, new.instance.instance_id),
        ).fetchone()
        if row is not None:
            if not replace_finished or not RuntimeStatus(row[0]).is_terminal:
                return False
            self._delete_instance(conn, new.instance.instance_id)
        self._upsert_instance(conn, new.instance)
        self._enqueue(conn, new.message)
        return True

    def _delete_instance(self, conn: sqlite3.Connection, instance_id: str) -> None:
        for table in ("instances", "history", "messages", "activities"):
            conn.execute(
                f"DELETE FROM {table} WHERE hub=? AND instance_id=?", (self.hub, instance_id)
            )

    def send(self, messages: Iterable[OrchestrationMessage]) -> None:
        """Enqueue messages for instances (raised events, terminate, suspend, …)."""

        def run(conn: sqlite3.Connection) -> None:
            for message in messages:
                self._enqueue(conn, message)

        self._write(run)

    def schedule(self, timers: Iterable[TimerItem]) -> None:
        """Enqueue messages that become visible at their ``fire_at``."""

        def run(conn: sqlite3.Connection) -> None:
            for timer in timers:
                self._enqueue_timer(conn, timer)

        self._write(run)

    def _enqueue_timer(self, conn: sqlite3.Connection, timer: TimerItem) -> None:
        timer_id = None
        if timer.message.event.get("EventType") == EventType.TimerFired:  # cancellable by id
            raw = timer.message.event.get("TimerId")
            timer_id = raw if isinstance(raw, int) else None
        self._enqueue(conn, timer.message, visible_at=timer.fire_at, timer_id=timer_id)

    def send_entity(self, messages: Iterable[EntityMessage]) -> None:
        """Enqueue entity operation requests (signals from clients)."""

        def run(conn: sqlite3.Connection) -> None:
            for message in messages:
                self._enqueue_entity(conn, message)

        self._write(run)

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

    def list_instances(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: Sequence[str] = (),
        prefix: str | None = None,
        top: int = 100,
        continuation: str | None = None,
    ) -> InstancePage:
        """Instances ordered by creation time, filtered, one page at a time."""
        where = ["hub = ?"]
        args: list[Any] = [self.hub]
        _where_between(where, args, "created_time", created_from, created_to)
        if statuses:
            where.append(f"runtime_status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if prefix:
            _where_prefix(where, args, "instance_id", prefix)
        if continuation:
            try:
                after_time, after_id = json.loads(continuation)
            except (ValueError, TypeError) as exc:
                raise HostError("invalid continuation token") from exc
            where.append("(created_time > ? OR (created_time = ? AND instance_id > ?))")
            args.extend([after_time, after_time, after_id])
        sql = (
            f"SELECT {self._INSTANCE_COLUMNS} FROM instances WHERE {' AND '.join(where)}"
            " ORDER BY created_time, instance_id LIMIT ?"
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

    def replace_history(
        self,
        instance: InstanceState,
        history: Sequence[Event],
        *,
        messages: Iterable[OrchestrationMessage] = (),
        activities: Iterable[ActivityWorkItem] = (),
        new_instances: Iterable[NewInstance] = (),
    ) -> None:
        """Rewind: swap the history and enqueue the work that restarts the instance."""

        def run(conn: sqlite3.Connection) -> None:
            self._upsert_instance(conn, instance)
            conn.execute(
                "DELETE FROM history WHERE hub=? AND instance_id=?",
                (self.hub, instance.instance_id),
            )
            self._append_history(conn, instance, history, start=0)
            for message in messages:
                self._enqueue(conn, message)
            for activity in activities:
                self._enqueue_activity(conn, activity)
            for new in new_instances:
                self._create(conn, new, replace_finished=True)

        self._write(run)

    def _append_history(
        self, conn: sqlite3.Connection, inst: InstanceState, events: Sequence[Event], *, start: int
    ) -> tuple[str, ...]:
        """Append ``events`` from sequence number ``start``; returns their JSON text."""
        texts = tuple(map(_dumps, events))
        conn.executemany(
            "INSERT INTO history (hub, instance_id, seq, execution_id, event) VALUES (?,?,?,?,?)",
            [
                (self.hub, inst.instance_id, start + i, inst.execution_id, text)
                for i, text in enumerate(texts)
            ],
        )
        return texts

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
        at = _ts(now or _now())
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
        read = functools.partial(
            self._read_episodes,
            ids=ids,
            at=_ts(now or _now()),
            results={key: tuple(results[key]) for key in ids},
        )
        try:
            items = self._read(read)
        except BaseException:
            for key in ids:
                self._release_instance(key)
            raise
        for key in ids:
            if key not in items:
                self._release_instance(key)
        return items

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
                past_json = tuple(texts[key])
                instance, past = self._instance(row), tuple(_loads_all(past_json))
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
        applied: list[tuple[str, tuple[str, ...]] | None] = [None] * len(episodes)
        several = len(episodes) > 1

        def run(conn: sqlite3.Connection) -> None:
            for index, (item, outcome, claim) in enumerate(episodes):
                claimed: list[ActivityWorkItem] = []
                results[index] = claimed  # filled in place, so a failure can unclaim them
                if not several:
                    applied[index] = self._apply_episode(conn, item, outcome, claim, claimed)
                    continue
                conn.execute("SAVEPOINT episode")
                try:
                    applied[index] = self._apply_episode(conn, item, outcome, claim, claimed)
                except Exception as exc:
                    conn.execute("ROLLBACK TO episode")
                    conn.execute("RELEASE episode")
                    self._unclaim(claimed)
                    results[index] = self._error(exc) if isinstance(exc, sqlite3.Error) else exc
                    continue
                conn.execute("RELEASE episode")

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
                    self._remember(item, outcome, written)
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
        written: tuple[str, tuple[str, ...]],
    ) -> None:
        """Keep what a committed episode left: the next one need not read it back."""
        updated, added = written
        history, texts = item.history, item.history_json
        if outcome.new_execution:
            history, texts = (), ()
        elif texts is None:
            texts = tuple(map(_dumps, history))
        self._claims.remember(
            outcome.instance, updated, history + tuple(outcome.history_added), texts + added
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
    ) -> tuple[str, tuple[str, ...]] | None:
        """Write one episode's outcome; returns the status row's new last-updated text
        and the JSON text of the events added to the history, or None if its instance
        is gone or replaced."""
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
        owner = conn.execute(
            "SELECT execution_id, last_updated_time,"
            " (SELECT COALESCE(MAX(seq) + 1, 0) FROM history WHERE hub=?1 AND instance_id=?2)"
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
        known = self._claims.known.get(inst.instance_id)
        if known is not None and known.instance is item.instance:  # claimed from memory
            claimed_at = known.updated
        else:
            claimed_at = _ts(item.instance.last_updated_time)
        updated = _ts(inst.last_updated_time)
        if owner[1] == claimed_at:
            self._update_instance(conn, item.instance, inst, updated)
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
        at = _ts(now or _now())

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
                    _ts(entity.last_modified or _now()),
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

    def list_entities(
        self,
        *,
        name: str | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        top: int = 100,
        continuation: str | None = None,
    ) -> tuple[list[EntityState], str | None]:
        """Existing entities (optionally of one name), ordered by id, one page at a time."""
        where = ["hub = ?", "entity_exists = 1"]
        args: list[Any] = [self.hub]
        if name:
            _where_prefix(where, args, "entity_id", f"@{name.lower()}@")
        _where_between(where, args, "last_modified", modified_from, modified_to)
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
