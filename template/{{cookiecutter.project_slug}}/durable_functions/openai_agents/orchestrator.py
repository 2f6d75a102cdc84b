"""``durable_openai_agent_orchestrator``'s machinery: the agent runner and the orchestrator.

The Agents SDK's ``Runner`` delegates to one process-wide default runner; every agent
orchestrator episode makes :class:`DurableAgentRunner` that runner (again, if other code
replaced it). While an agent orchestrator's code runs (marked in a context variable) it runs
every agent with the durable model; anywhere else (an activity, a script) it is the Agents
SDK's plain runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from agents import Agent, ModelProvider, RunConfig, RunResult, RunResultStreaming
from agents.run import AgentRunner, get_default_agent_runner, set_default_agent_runner
from pydantic_core import to_json

from durable_functions.context import DurableOrchestrationContext
from durable_functions.openai_agents._model import DurableActivityModel, run_model_activity
from durable_functions.openai_agents._telemetry import log_usage_once
from durable_functions.openai_agents._tracker import TaskTracker
from durable_functions.openai_agents.context import DurableAIAgentContext
from durable_functions.options import RetryOptions

__all__ = [
    "ACTIVITY_NAME",
    "DurableAgentRunner",
    "agent_orchestrator",
    "check_model_provider",
    "run_model_activity",
]

ACTIVITY_NAME = "run_model"
"""The activity every model call goes through (one per app)."""

_current: contextvars.ContextVar[_Run | None] = contextvars.ContextVar(
    "durable_openai_agent_run", default=None
)


class _Run:
    """The agent orchestrator episode whose code is running."""

    __slots__ = ("activity_name", "context")

    def __init__(self, context: DurableAIAgentContext, activity_name: str) -> None:
        self.context = context
        self.activity_name = activity_name


class DurableAgentRunner(AgentRunner):
    """Runs agents replay-safely inside an agent orchestrator; elsewhere, as usual.

    Both go through a plain ``AgentRunner`` (whose ``run_sync`` calls its own ``run``);
    only a direct ``Runner.run``/``run_streamed`` in orchestrator code is refused.
    """

    def __init__(self) -> None:
        super().__init__()
        self._plain = AgentRunner()

    def run_sync(self, starting_agent: Agent[Any], input: Any, **kwargs: Any) -> RunResult:
        run = _current.get()
        if run is None:
            return self._plain.run_sync(starting_agent, input, **kwargs)
        if not isinstance(input, str | list):
            raise TypeError(
                "In an OpenAI agent orchestrator Runner.run_sync takes a string or a list of "
                f"input items, got {type(input).__name__}"
            )
        # Plain JSON values (pydantic/pydantic#9541); the request must serialize anyway.
        plain_input = json.loads(to_json(input))
        run_config = kwargs.pop("run_config", None) or RunConfig()
        if isinstance(run_config, dict):
            run_config = RunConfig(**run_config)
        model_name = run_config.model or starting_agent.model or None
        if model_name is not None and not isinstance(model_name, str):
            raise ValueError(
                "For agent execution in Durable Functions, model name in run_config or "
                "starting_agent must be a string."
            )
        tracker = run.context._task_tracker
        model = DurableActivityModel(
            model_name=model_name,
            task_tracker=tracker,
            retry_options=run.context._model_retry_options,
            activity_name=run.activity_name,
        )
        return _run_to_end(
            self._plain.run(
                starting_agent, plain_input, run_config=replace(run_config, model=model), **kwargs
            )
        )

    async def run(self, starting_agent: Agent[Any], input: Any, **kwargs: Any) -> RunResult:
        if _current.get() is not None:
            raise RuntimeError("Durable Functions do not support asynchronous runs.")
        return await self._plain.run(starting_agent, input, **kwargs)

    def run_streamed(
        self, starting_agent: Agent[Any], input: Any, **kwargs: Any
    ) -> RunResultStreaming:
        if _current.get() is not None:
            raise RuntimeError("Durable Functions do not support streaming.")
        return self._plain.run_streamed(starting_agent, input, **kwargs)


def _run_to_end(coroutine: Coroutine[Any, Any, RunResult]) -> RunResult:
    """Run an agent on an event loop of its own, closed after (the Agents SDK's ``run_sync``
    would leave the thread's default loop open), without touching the thread's loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError(
            "Runner.run_sync cannot run an agent in an orchestrator whose thread runs an event loop"
        )
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(coroutine)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # A call to wait for (YieldException) or a failure: nothing may keep running.
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            raise
    finally:
        try:
            leftovers = asyncio.all_tasks(loop)
            for leftover in leftovers:
                leftover.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


_RUNNER = DurableAgentRunner()


def _install_runner() -> None:
    """Make ours the Agents SDK's default runner (again, if other code replaced it)."""
    if get_default_agent_runner() is not _RUNNER:
        set_default_agent_runner(_RUNNER)


@contextmanager
def _running(run: _Run) -> Iterator[None]:
    token = _current.set(run)
    try:
        yield
    finally:
        _current.reset(token)


def _episode(
    func: Callable[..., Any],
    context: DurableOrchestrationContext,
    model_retry_options: RetryOptions | None,
    activity_name: str,
) -> Generator[Any, Any, str]:
    """One episode of an agent orchestrator: the generator the replay engine drives."""
    log_usage_once()
    _install_runner()
    tracker = TaskTracker(context)
    agent_context = DurableAIAgentContext(context, tracker, model_retry_options)
    run = _Run(agent_context, activity_name)
    code = functools.partial(func, agent_context)
    steps = tracker.run(code)
    # The code runs a step at a time as the engine drives it: mark each step as ours.
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            with _running(run):
                task = steps.throw(thrown) if thrown is not None else steps.send(sent)
        except StopIteration as finished:
            return str(finished.value)
        thrown = None
        try:
            sent = yield task
        except GeneratorExit:
            steps.close()
            raise
        except BaseException as exc:
            thrown, sent = exc, None


def check_model_provider(model_provider: Any) -> None:
    """``TypeError`` unless ``model_provider`` is ``None`` or an ``agents.ModelProvider``."""
    if model_provider is not None and not isinstance(model_provider, ModelProvider):
        raise TypeError("Provided model provider must be of type ModelProvider")


def agent_orchestrator(
    func: Callable[..., Any], model_retry_options: RetryOptions | None, activity_name: str
) -> Callable[[DurableOrchestrationContext], Generator[Any, Any, str]]:
    """``func`` (a function of a ``DurableAIAgentContext``) as an orchestrator function.

    Raises:
        TypeError: ``func`` is an ``async def`` function, or already a registered function
            (the decorator must sit under ``orchestration_trigger``).
    """
    if hasattr(func, "_function") and hasattr(func, "add_trigger"):
        raise TypeError(
            "durable_openai_agent_orchestrator must be applied first: put it under "
            "@app.orchestration_trigger(...)"
        )
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(
            f"durable_openai_agent_orchestrator needs a plain (or generator) function that "
            f"calls Runner.run_sync; {getattr(func, '__name__', func)!r} is an async def "
            "function"
        )

    @functools.wraps(func)
    def agent_orchestrator_function(
        context: DurableOrchestrationContext,
    ) -> Generator[Any, Any, str]:
        return _episode(func, context, model_retry_options, activity_name)

    # Replayed from the start in every episode, never continued in a session: code stopped
    # inside the Agents SDK (YieldException) cannot be resumed where it stopped.
    agent_orchestrator_function._df_full_replay = True  # type: ignore[attr-defined]
    return agent_orchestrator_function
