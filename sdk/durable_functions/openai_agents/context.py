"""``DurableAIAgentContext``: the orchestration context an agent orchestrator receives."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agents import FunctionTool, RunContextWrapper, Tool
from agents.function_schema import function_schema

from durable_functions.context import DurableOrchestrationContext
from durable_functions.openai_agents._tracker import TaskTracker
from durable_functions.options import RetryOptions
from durable_functions.tasks import TaskBase

__all__ = ["DurableAIAgentContext"]

_DEFAULT_TOOL_RETRY = RetryOptions(
    first_retry_interval_in_milliseconds=2000, max_number_of_attempts=5
)

if TYPE_CHECKING:
    # For type checkers and editors the wrapper has every member of the real context.
    _ContextMembers = DurableOrchestrationContext
else:

    class _ContextMembers:
        """At run time members not defined here are looked up on the wrapped context."""

        __slots__ = ()


class DurableAIAgentContext(_ContextMembers):
    """The orchestration context, plus agent tools made of activities.

    Every member of ``DurableOrchestrationContext`` is delegated to the real context
    (``isinstance(ctx, DurableOrchestrationContext)`` is false, as in the reference).
    ``call_activity`` and ``call_activity_with_retry`` are counted, so that the model and
    tool calls that follow take the right results from history.
    """

    def __init__(
        self,
        context: DurableOrchestrationContext,
        task_tracker: TaskTracker,
        model_retry_options: RetryOptions | None,
    ) -> None:
        self._context = context
        self._task_tracker = task_tracker
        self._model_retry_options = model_retry_options

    # The reference's signatures (no ``expected_type``): a narrower override of the context's.
    def call_activity(self, name: Any, input_: Any = None) -> TaskBase:  # type: ignore[override]
        """Schedule an activity (by name or decorated function), as on the real context."""
        task = self._context.call_activity(name, input_)
        self._task_tracker.record_activity_call()
        return task

    def call_activity_with_retry(  # type: ignore[override]
        self, name: Any, retry_options: RetryOptions, input_: Any = None
    ) -> TaskBase:
        """Schedule an activity with retries, as on the real context."""
        task = self._context.call_activity_with_retry(name, retry_options, input_)
        self._task_tracker.record_activity_call()
        return task

    def create_activity_tool(
        self,
        activity_func: Any,
        *,
        description: str | None = None,
        retry_options: RetryOptions | None = _DEFAULT_TOOL_RETRY,
    ) -> Tool:
        """An agent tool that calls the activity ``activity_func`` (an ``activity_trigger``
        function): its parameters and docstring describe the tool to the model, and each
        call of the tool is a durable activity call (retried with ``retry_options``).
        """
        function = getattr(activity_func, "_function", None)
        if function is None:
            raise ValueError("The provided function is not a valid Azure Function.")
        trigger = getattr(function, "_trigger", None)
        activity_name = getattr(trigger, "activity", None) or function._name
        input_name = getattr(trigger, "name", None)
        tracker = self._task_tracker

        async def run_activity(ctx: RunContextWrapper[Any], arguments: str) -> Any:
            # The model sends the arguments as a JSON object; the activity gets the value of
            # its input parameter (or the raw text when that is not there).
            value: Any = arguments
            if input_name:
                try:
                    parsed = json.loads(arguments)
                except (json.JSONDecodeError, TypeError):
                    parsed = None
                if isinstance(parsed, dict) and input_name in parsed:
                    value = parsed[input_name]
            return tracker.call_activity(activity_name, value, retry_options)

        user_code = function._func
        schema = function_schema(
            func=getattr(user_code, "activity_function", user_code),
            docstring_style=None,
            description_override=description,
            use_docstring_info=True,
            strict_json_schema=True,
        )
        return FunctionTool(
            name=schema.name,
            description=schema.description or "",
            params_json_schema=schema.params_json_schema,
            on_invoke_tool=run_activity,
            strict_json_schema=True,
        )

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._context, name)
        except AttributeError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None

    def __dir__(self) -> list[str]:
        return sorted(set(dir(type(self))) | set(self.__dict__) | set(dir(self._context)))
