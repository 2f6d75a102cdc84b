"""``async def`` orchestrators: what replay needs beyond driving a generator.

Replay drives the coroutine with ``send``/``throw`` as it drives a generator, and
``await task`` hands the task itself to replay (``TaskBase.__await__``), so the actions
are the same. Anything else the coroutine waits on could only be served by an event
loop, which an orchestrator does not have: it would hang, or differ on every replay.
So while the coroutine runs, :class:`AwaitGuard` stands in for the running event loop
and refuses every use, and a value yielded that is not a task is refused too; both
become :class:`~durable_functions.errors.NonDurableAwaitError`, naming what was
awaited and what to use instead.
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from asyncio import events
from collections.abc import Coroutine
from types import CodeType, CoroutineType, FrameType, GeneratorType
from typing import Any

from durable_functions.errors import NonDurableAwaitError

__all__ = ["AwaitGuard"]

_TIMER = "context.create_timer(context.current_utc_datetime + timedelta(...))"
_ALL = "context.task_all([...])"
_RACE = "context.task_any([task, context.create_timer(...)])"
_INSTEAD: dict[str, str] = {
    "asyncio.sleep": _TIMER,
    "asyncio.gather": _ALL,
    "asyncio.wait": f"{_ALL} or context.task_any([...])",
    "asyncio.wait_for": _RACE,
    "asyncio.timeout": _RACE,
    "asyncio.timeout_at": _RACE,
    "asyncio.as_completed": "context.task_any([...])",
    "asyncio.shield": "the durable task itself",
    "asyncio.create_task": f"the durable task itself (await it, or {_ALL})",
    "asyncio.ensure_future": f"the durable task itself (await it, or {_ALL})",
    "asyncio.to_thread": "an activity (context.call_activity)",
}
_DEFAULT_INSTEAD = (
    "an activity (context.call_activity) or context.call_http for I/O, "
    f"{_TIMER} to wait, {_ALL} or context.task_any([...]) to combine tasks"
)
_LIBRARY_DIRS = tuple(
    sorted(
        {
            path
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if (path := sysconfig.get_paths().get(key))
        }
    )
)


class AwaitGuard:
    """Stands in for the running event loop while an async orchestrator's code runs.

    ``asyncio.sleep``, ``asyncio.gather``, HTTP clients and the like all reach for the
    running loop; here every use of it raises ``NonDurableAwaitError``. The first such
    error is kept in :attr:`misuse`, so the orchestration fails even if the code caught
    the exception and went on.
    """

    __slots__ = ("_previous", "misuse")

    def __init__(self) -> None:
        self.misuse: NonDurableAwaitError | None = None
        self._previous: events.AbstractEventLoop | None = None

    def enter(self) -> None:
        """Become the thread's running loop (whatever ran before is restored on exit)."""
        self._previous = events._get_running_loop()
        events._set_running_loop(self)  # type: ignore[arg-type]

    def exit(self) -> None:
        """Give the thread its previous running loop back."""
        events._set_running_loop(self._previous)
        self._previous = None

    def create_task(self, coro: Any, *args: Any, **kwargs: Any) -> Any:
        """Refuse, closing the coroutine asyncio wrapped for it (no "never awaited" warning)."""
        error = self._refuse(sys._getframe(1), "create_task")
        if isinstance(coro, CoroutineType):
            coro.close()
        raise error

    def __getattr__(self, name: str) -> Any:
        raise self._refuse(sys._getframe(1), name)

    def _refuse(self, frame: FrameType | None, attribute: str) -> NonDurableAwaitError:
        awaited = _outermost_library_call(frame) or f"the event loop ({attribute})"
        return self._keep(non_durable_await(awaited))

    def not_a_task(self, coroutine: Any, value: Any) -> NonDurableAwaitError:
        """The error for a coroutine that yielded ``value``, which is not a task."""
        awaited = _awaited_by(coroutine)
        if awaited is None:
            kind = type(value)
            module = kind.__module__.lstrip("_")
            awaited = f"{module}.{kind.__qualname__}" if module != "builtins" else repr(value)[:80]
        return self._keep(non_durable_await(awaited))

    def _keep(self, error: NonDurableAwaitError) -> NonDurableAwaitError:
        if self.misuse is None:
            self.misuse = error
        return error


def close(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Close a coroutine replay stopped driving (its ``finally`` blocks run, as for a
    generator collected later); what that code raises cannot change the episode."""
    with contextlib.suppress(Exception):  # e.g. "coroutine ignored GeneratorExit"
        coroutine.close()


def non_durable_await(awaited: str) -> NonDurableAwaitError:
    """The error for awaiting ``awaited``, with the durable alternative."""
    return NonDurableAwaitError(awaited=awaited, instead=_INSTEAD.get(awaited, _DEFAULT_INSTEAD))


def _awaited_by(coroutine: Any) -> str | None:
    """What the coroutine is suspended on, past the user's own coroutines (a library call)."""
    current = coroutine
    for _ in range(1000):  # a chain of awaits, not a cycle; bounded all the same
        inner = getattr(current, "cr_await", None)
        if inner is None:
            inner = getattr(current, "gi_yieldfrom", None)
        if inner is None:
            return None
        if isinstance(inner, CoroutineType):
            code, frame = inner.cr_code, inner.cr_frame
        elif isinstance(inner, GeneratorType):
            code, frame = inner.gi_code, inner.gi_frame
        else:
            return None  # e.g. a Future's iterator: named from the value it yielded
        module = frame.f_globals.get("__name__", "") if frame is not None else ""
        if _is_library(module, code.co_filename):
            return _public_name(module, code)
        current = inner
    return None


def _outermost_library_call(frame: FrameType | None) -> str | None:
    """The library function the orchestrator's code called to get here (``asyncio.sleep``)."""
    found: FrameType | None = None
    while frame is not None and _is_library(
        frame.f_globals.get("__name__", ""), frame.f_code.co_filename
    ):
        found = frame
        frame = frame.f_back
    if found is None:
        return None
    return _public_name(found.f_globals.get("__name__", ""), found.f_code)


def _is_library(module: str, filename: str) -> bool:
    return (
        module == "asyncio" or module.startswith("asyncio.") or filename.startswith(_LIBRARY_DIRS)
    )


def _public_name(module: str, code: CodeType) -> str:
    """``asyncio.tasks`` + ``sleep`` -> ``asyncio.sleep``; private submodules dropped."""
    qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
    parts = module.split(".")
    if parts[0] == "asyncio":
        parts = parts[:1]
    public = [parts[0], *(part for part in parts[1:] if not part.startswith("_"))]
    return ".".join([*public, qualname]) if module else qualname
