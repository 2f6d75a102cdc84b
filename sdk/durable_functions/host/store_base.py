"""The SQLite store's foundation: connections, transactions, migration, row mapping, enqueueing.

The store's other parts (episodes, queries, entities) are mixins over this base;
``sqlite3`` errors are translated into :class:`HostError` here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.errors import HostError, StoreBusyError
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock, SystemClock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EntityMessage,
    Event,
    InstanceState,
    NewInstance,
    OrchestrationMessage,
    ParentInstance,
    TimerItem,
)
from durable_functions.host.store_claims import _claims_for, _write_lock_for
from durable_functions.host.store_schema import (
    _MIGRATIONS,
    SCHEMA_VERSION,
    T,
    _dumps,
    _parse_ts,
    _ts,
)

_INSTANCE_FIELDS = tuple(field.name for field in fields(InstanceState))
"""The ``instances`` columns after ``hub``: the fields of ``InstanceState``, in its order."""

_UPSERT_INSTANCE = (
    f"INSERT INTO instances (hub, {', '.join(_INSTANCE_FIELDS)})"
    f" VALUES ({', '.join('?' * (len(_INSTANCE_FIELDS) + 1))})"
    " ON CONFLICT (hub, instance_id) DO UPDATE SET "
    + ", ".join(f"{column}=excluded.{column}" for column in _INSTANCE_FIELDS[1:])
)


_ENCODE: dict[str, Callable[[Any], Any]] = {
    "runtime_status": lambda status: status.value,
    "created_time": _ts,
    "last_updated_time": _ts,
    "parent": lambda parent: json.dumps(asdict(parent)),
    "failure": json.dumps,
}
"""How a field of ``InstanceState`` is stored, where its value is not stored as it is."""


def _column(name: str, value: Any) -> Any:
    """The stored value of field ``name`` (``None`` stays ``None``)."""
    encode = _ENCODE.get(name)
    return value if encode is None or value is None else encode(value)


def _instance_row(inst: InstanceState) -> tuple[Any, ...]:
    """The column values of ``inst``'s status row, in ``_INSTANCE_FIELDS`` order."""
    return tuple(_column(name, getattr(inst, name)) for name in _INSTANCE_FIELDS)


class StoreBase(Backend):
    """The task hub store for one hub in one SQLite file: what every part of it shares.

    Safe to use from many threads: each thread gets its own connection.
    """

    def __init__(
        self,
        path: Path | str,
        hub: str = "TestHubName",
        *,
        recover: bool = False,
        clock: Clock | None = None,
    ):
        self.path = Path(path)
        self.clock: Clock = clock or SystemClock()
        """Where ``now`` comes from when a caller gives none."""
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
    BUSY_WAIT = 30.0
    """Seconds a store call waits for another writer's lock (the dispatcher's threads)."""

    def bound_waits(self, seconds: float) -> None:
        """Wait at most ``seconds`` for a write lock on this thread, then ``StoreBusyError``.

        The HTTP edge's threads call it once: a request answers 503 when another process
        holds the file's write lock, instead of holding its client for 30 s.
        """
        self._local.wait = seconds
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")

    def _wait(self) -> float:
        return float(getattr(self._local, "wait", self.BUSY_WAIT))

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            wait = self._wait()
            conn = sqlite3.connect(
                self.path, timeout=wait, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue instead of deadlocking)."""
        conn = self._conn()
        if not self._write_lock.acquire(timeout=self._wait()):
            raise self._busy()
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
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
                    raise self._error(exc) from exc
                self._claims.writes += 1  # under the write lock: no lost update
                self._local.writes = self._claims.writes
        finally:
            self._write_lock.release()

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._tx() as conn:
                return fn(conn)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"task hub store {self.path.name} is locked by another writer "
            f"(waited {self._wait():g} s); retry shortly"
        )

    def _error(self, exc: sqlite3.Error) -> HostError:
        """``exc`` as a ``HostError`` (a ``StoreBusyError`` when the file stayed locked)."""
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            error: HostError = self._busy()
        else:
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
                    (version, _ts(self.clock.now())),
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
    def _instance(self, row: sqlite3.Row | tuple[Any, ...]) -> InstanceState:
        """A status row (``_INSTANCE_COLUMNS``) as the instance it stores."""
        values = dict(zip(_INSTANCE_FIELDS, row))
        parent, failure = values["parent"], values["failure"]
        values["runtime_status"] = RuntimeStatus(values["runtime_status"])
        values["created_time"] = _parse_ts(values["created_time"]) or self.clock.now()
        values["last_updated_time"] = _parse_ts(values["last_updated_time"]) or self.clock.now()
        values["parent"] = ParentInstance(**json.loads(parent)) if parent else None
        values["failure"] = json.loads(failure) if failure else None
        return InstanceState(**values)

    _INSTANCE_COLUMNS = ", ".join(_INSTANCE_FIELDS)

    def _upsert_instance(
        self, conn: sqlite3.Connection, inst: InstanceState, *, release: bool = False
    ) -> None:
        """Insert or update the status row; ``release`` also clears the claim."""
        conn.execute(
            _UPSERT_INSTANCE + (", locked_by=NULL" if release else ""),
            (self.hub, *_instance_row(inst)),
        )

    def _update_instance(
        self, conn: sqlite3.Connection, old: InstanceState, inst: InstanceState
    ) -> None:
        """Write what changed in an existing status row, and release its claim.

        Only the changed columns: an index whose columns are not set (status,
        creation time) is left alone, so most episodes write fewer pages.
        """
        columns = ["locked_by=NULL"]
        values: list[Any] = []
        for name in _INSTANCE_FIELDS:
            after = getattr(inst, name)
            if getattr(old, name) != after:
                columns.append(f"{name}=?")
                values.append(_column(name, after))
        conn.execute(
            f"UPDATE instances SET {', '.join(columns)} WHERE hub=? AND instance_id=?",
            (*values, self.hub, inst.instance_id),
        )

    # -- enqueueing ---------------------------------------------------------------------
    def create_instance(self, new: NewInstance, *, replace_finished: bool = True) -> bool:
        """Store a new instance and its ExecutionStarted message.

        An existing instance with the same id is replaced only when it is finished
        (and ``replace_finished``); returns False when the id is taken by a live one.
        """

        return self._write(lambda conn: self._create(conn, new, replace_finished=replace_finished))

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

    def send_entity(self, messages: Iterable[EntityMessage]) -> None:
        """Enqueue entity operation requests (signals from clients)."""

        def run(conn: sqlite3.Connection) -> None:
            for message in messages:
                self._enqueue_entity(conn, message)

        self._write(run)

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

    def _enqueue_timer(self, conn: sqlite3.Connection, timer: TimerItem) -> None:
        timer_id = None
        if timer.message.event.get("EventType") == EventType.TimerFired:  # cancellable by id
            raw = timer.message.event.get("TimerId")
            timer_id = raw if isinstance(raw, int) else None
        self._enqueue(conn, timer.message, visible_at=timer.fire_at, timer_id=timer_id)

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
