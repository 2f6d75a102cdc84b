"""What one process holds in memory about a task hub file: claims, write locks, known instances.

Only one process serves a file (an advisory lock), so orchestration and activity
claims need no write transaction: they live here, shared by every store object of
the process on that file, and die with it (start-up recovery releases the rest).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from durable_functions.host.engine import (
    ActivityWorkItem,
    Event,
    HistoryLog,
    InstanceState,
    OrchestrationMessage,
)


@dataclass(frozen=True, slots=True)
class _Known:
    """An instance as this process last committed it: the next episode need not read
    and decode its row and history again while the row still says the same."""

    execution_id: str
    updated: str
    """The stored ``last_updated_time`` text: every commit of the row changes it."""
    instance: InstanceState
    history: HistoryLog[Event]
    history_json: HistoryLog[str]
    quiet: bool
    """No message of the instance was left in the store when it committed."""
    version: tuple[int, int, int]
    """``_Claims.writes`` after its commit, the committing connection, and that
    connection's ``PRAGMA data_version`` (which other processes' commits change)."""


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
        self.writes = 0
        """Write transactions this process committed to the file (see ``_Known.version``)."""

    def remember(
        self,
        instance: InstanceState,
        updated: str,
        history: HistoryLog[Event],
        history_json: HistoryLog[str],
        *,
        quiet: bool = False,
        version: tuple[int, int, int] = (-1, 0, -1),
    ) -> None:
        """Keep a committed episode's result (finished instances are let go);
        ``updated`` is the ``last_updated_time`` text its row was written with."""
        key = instance.instance_id
        self.known.pop(key, None)
        if instance.runtime_status.is_terminal:
            return
        self.known[key] = _Known(
            instance.execution_id, updated, instance, history, history_json, quiet, version
        )
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Lease:
    """What a claim took: the ids of the rows to delete when it commits."""

    key: str
    message_ids: tuple[int, ...]
    results: tuple[tuple[ActivityWorkItem, OrchestrationMessage], ...] = ()
    """Activity results held in memory that the episode consumes (see ``claim_instance``)."""
    quiet: tuple[int, int, int] | None = None
    """For a claim taken from memory with no read (``_claim_quiet``), the file's version
    then (see ``_Known.version``): if the commit finds it unchanged, nothing was written
    since, so the row, the history and the message queue are as this process left them."""
