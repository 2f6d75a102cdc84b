"""Where time comes from: one ``Clock`` for the host (the wall clock) and the tests (virtual).

Nothing else in the host reads ``datetime.now()``: the engine takes ``now`` as an
argument, the drivers and the management API ask their clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """Where time comes from: the wall clock, or a virtual one the runner moves."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def wait_until(self, when: datetime) -> None:
        """Let time pass until ``when`` (sleep, or jump for a virtual clock)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Aware UTC now."""
        return datetime.now(timezone.utc)

    def wait_until(self, when: datetime) -> None:
        """Sleep until ``when``."""
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


class VirtualClock:
    """A clock that only moves when told to; ``run_until_idle`` jumps it to the next timer."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        """The virtual now."""
        return self._now

    def wait_until(self, when: datetime) -> None:
        """Jump to ``when`` (never backwards)."""
        if when > self._now:
            self._now = when.astimezone(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        if delta < timedelta(0):
            raise ValueError("a VirtualClock cannot go backwards")
        self._now += delta
