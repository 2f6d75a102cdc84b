"""Orchestration sessions: each running orchestration kept alive between its episodes.

Without a session every episode replays the whole history (a chain of N activities
costs O(N²)). With one, as the Durable extension's extended sessions and Temporal's
sticky cache do, the driver keeps the orchestrator's running generator and context
(``replay.OrchestrationSession``) after an episode commits, and hands the next episode
only the events history gained since.

A session is memory, not state: it is used only while it provably matches the stored
instance (same execution, same history length, same last-updated time as its commit
left them) and is otherwise dropped, and the episode replays the full history as
before. That covers the first episode after a start, a failed or rolled-back commit,
rewind, restart, purge, continue-as-new, and orchestrators that speak only the JSON
protocol (apps written for ``azure-functions-durable``), which never get a session.
The cache is bounded by count and by the history events it holds, least recently
used first, and forgets sessions idle longer than the timeout.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from durable_functions.host.clock import Clock
from durable_functions.host.engine import EngineSession, EpisodeOutcome, OrchestrationWorkItem

if TYPE_CHECKING:
    from durable_functions.replay import OrchestrationSession

SessionOpener = Callable[[dict[str, Any]], "OrchestrationSession"]
"""Runs a first episode from the parsed trigger payload and keeps the orchestrator alive."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSettings:
    """``host.json`` ``extensions.durableTask`` settings of sessions (the extension's names)."""

    enabled: bool = True
    """``extendedSessionsEnabled``: on by default on the local host and in tests."""
    idle_timeout: timedelta | None = timedelta(seconds=30)
    """``extendedSessionIdleTimeoutInSeconds``: a session unused this long is dropped."""
    max_sessions: int = 1000
    """Most orchestrations kept alive at once (least recently used go first)."""
    max_events: int = 2_000_000
    """Most history events all kept sessions may hold together (a memory bound)."""


@dataclass(slots=True, kw_only=True)
class Session:
    """A live orchestrator and what its last committed episode left in the store."""

    sdk: OrchestrationSession | None
    """The running orchestrator (None for orchestrators that only speak JSON)."""
    engine: EngineSession | None
    """The host-side check as the last episode left it."""
    execution_id: str
    history_length: int
    last_updated: datetime
    used: datetime

    def matches(self, item: OrchestrationWorkItem) -> bool:
        """Whether ``item`` is the instance exactly as this session's commit left it."""
        instance = item.instance
        return (
            instance.execution_id == self.execution_id
            and len(item.history) == self.history_length
            and instance.last_updated_time == self.last_updated
        )


class SessionCache:
    """The live sessions of one driver, by instance id (thread-safe)."""

    def __init__(self, clock: Clock, settings: SessionSettings | None = None) -> None:
        self.clock = clock
        self.settings = settings or SessionSettings()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._events = 0
        self._lock = threading.Lock()
        self.hits = 0
        """Episodes whose orchestrator ran in a session (the others replayed the history)."""

    def __len__(self) -> int:
        return len(self._sessions)

    def take(self, item: OrchestrationWorkItem) -> Session | None:
        """Remove and return the session for ``item`` if it still matches the store."""
        with self._lock:
            session = self._sessions.pop(item.instance.instance_id, None)
            if session is None:
                return None
            self._events -= session.history_length
        if not session.matches(item):
            return None
        if session.sdk is not None and not session.sdk.alive:
            session.sdk = None
        if session.sdk is not None:
            self.hits += 1
        return session

    def keep(
        self,
        item: OrchestrationWorkItem,
        outcome: EpisodeOutcome,
        sdk: OrchestrationSession | None,
    ) -> None:
        """Keep ``sdk`` for the instance's next episode, after ``outcome`` was committed."""
        settings = self.settings
        if not settings.enabled or outcome.finished or outcome.new_execution:
            return
        if sdk is not None and not sdk.alive:
            sdk = None
        if sdk is None and outcome.session is None:
            return
        now = self.clock.now()
        session = Session(
            sdk=sdk,
            engine=outcome.session,
            execution_id=outcome.instance.execution_id,
            history_length=len(item.history) + len(outcome.history_added),
            last_updated=outcome.instance.last_updated_time,
            used=now,
        )
        with self._lock:
            instance_id = item.instance.instance_id
            old = self._sessions.pop(instance_id, None)
            if old is not None:
                self._events -= old.history_length
            self._sessions[instance_id] = session
            self._events += session.history_length
            self._evict(now)

    def _evict(self, now: datetime) -> None:
        settings = self.settings
        sessions = self._sessions
        while sessions and (
            len(sessions) > settings.max_sessions or self._events > settings.max_events
        ):
            _, dropped = sessions.popitem(last=False)
            self._events -= dropped.history_length
        if settings.idle_timeout is not None:
            cutoff = now - settings.idle_timeout
            while sessions:
                oldest = next(iter(sessions.values()))
                if oldest.used >= cutoff:
                    break
                sessions.popitem(last=False)
                self._events -= oldest.history_length

    def clear(self) -> None:
        """Forget every session (the app's code was reloaded, the store was swapped)."""
        with self._lock:
            self._sessions.clear()
            self._events = 0
