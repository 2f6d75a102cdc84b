"""Running an agent orchestrator's plain code as the generator the replay engine drives.

The Agents SDK calls the model and the tools deep inside its own (async) code, where an
orchestrator cannot ``yield``. So a call there is answered from history when history has
its result, and otherwise stops the code: :class:`YieldException` carries the new task out
to the generator, which yields it and ends the episode. The next episode replays the code
from the start (agent orchestrators are never kept in a session), and that call then finds
its result.

As in the reference SDK, the n-th activity call of an episode takes the n-th
``TaskCompleted`` event of history, and the tasks answered that way are yielded later, in
order, so the engine matches them against history as for any orchestrator.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Generator, Iterator
from typing import Any

from durable_functions.context import DurableOrchestrationContext
from durable_functions.history import HistoryEventType
from durable_functions.openai_agents.exceptions import YieldException
from durable_functions.options import RetryOptions
from durable_functions.tasks import TaskBase

__all__ = ["TaskTracker", "serialize_output"]

_RESUMED = (
    "an OpenAI agent orchestrator was resumed after a pending call without a replay of its "
    "history; agent orchestrators must be replayed from the start in every episode"
)


class TaskTracker:
    """Counts an episode's activity calls and answers them from history."""

    def __init__(self, context: DurableOrchestrationContext) -> None:
        self._context = context
        self._activities_called = 0
        self._answered: list[TaskBase] = []
        """Tasks answered from history, still to be yielded (in call order)."""
        self._results: list[str] | None = None
        """The ``TaskCompleted`` results of history (which an episode does not change)."""

    def record_activity_call(self) -> None:
        """Count an activity call made outside the tracker (``context.call_activity``)."""
        self._activities_called += 1

    def call_activity(
        self, name: str, input_: Any, retry_options: RetryOptions | None = None
    ) -> Any:
        """The activity's result (decoded JSON) if history has it; else stop the code."""
        if retry_options is None:
            task = self._context.call_activity(name, input_)
        else:
            task = self._context.call_activity_with_retry(name, retry_options, input_)
        self.record_activity_call()
        if self._results is None:
            self._results = [
                event.Result
                for event in self._context.histories
                if event.event_type == HistoryEventType.TASK_COMPLETED
            ]
        if len(self._results) < self._activities_called:
            raise YieldException(task)
        self._answered.append(task)
        return json.loads(self._results[self._activities_called - 1])

    def _flush(self) -> Iterator[TaskBase]:
        answered, self._answered = self._answered, []
        # Not ``yield from answered``: that would pass the engine's send() to a list iterator.
        for task in answered:  # noqa: UP028 - their results are known; what is sent is dropped
            yield task

    def run(self, func: Callable[[], Any]) -> Generator[Any, Any, str]:
        """Run ``func`` (plain or generator function) as orchestrator code; returns its
        output serialized (:func:`serialize_output`)."""
        if inspect.isgeneratorfunction(func):
            return (yield from self._run_generator(func))
        try:
            result = func()
        except YieldException as pending:
            yield from self._flush()
            yield pending.task
            raise RuntimeError(_RESUMED) from None
        finally:
            # Answered tasks reach the engine even when the code failed (as in the reference).
            yield from self._flush()
        return serialize_output(result)

    def _run_generator(self, func: Callable[[], Any]) -> Generator[Any, Any, str]:
        """Interleave the code's own yields with the tasks answered from history."""
        code = func()
        step: Callable[[], Any] = code.__next__
        while True:
            try:
                task = step()
            except StopIteration as finished:
                yield from self._flush()
                return serialize_output(finished.value)
            except YieldException as pending:
                yield from self._flush()
                yield pending.task
                raise RuntimeError(_RESUMED) from None
            yield from self._flush()
            try:
                sent = yield task
            except GeneratorExit:
                code.close()
                raise
            except BaseException as exc:  # the task failed: the code may catch it
                step = _thrower(code, exc)
            else:
                step = _sender(code, sent)


def _sender(code: Generator[Any, Any, Any], value: Any) -> Callable[[], Any]:
    return lambda: code.send(value)


def _thrower(code: Generator[Any, Any, Any], exc: BaseException) -> Callable[[], Any]:
    return lambda: code.throw(exc)


def serialize_output(value: Any) -> str:
    """The orchestrator's output: strings as they are, else ``to_json()``,
    ``model_dump_json()`` (pydantic) or ``json.dumps``, in that order."""
    if type(value) is str:
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return str(to_json())
    model_dump_json = getattr(value, "model_dump_json", None)
    if callable(model_dump_json):
        return str(model_dump_json())
    return json.dumps(value)
