"""The v2 programming model: ``DFApp`` and ``Blueprint`` decorators.

``DFApp`` is an ``azure.functions`` function app (every normal decorator such as
``route`` or ``timer_trigger`` works) that also knows the Durable triggers::

    import durable_functions as df

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def hello_orchestrator(context: df.DurableOrchestrationContext):
        return (yield context.call_activity("hello", "Tokyo"))

This module imports ``azure.functions``; the package facade only loads it when
``DFApp``/``Blueprint`` are first used.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Callable
from functools import wraps
from typing import Any

from azure.functions import (
    AuthLevel,
    BindingApi,
    FunctionRegister,
    OrchestrationContext,
    SettingsApi,
    TriggerApi,
)
from azure.functions.decorators.core import InputBinding, Trigger
from azure.functions.decorators.function_app import FunctionBuilder

from durable_functions.entity import Entity
from durable_functions.options import RetryOptions
from durable_functions.serialization import decode_as, df_dumps

__all__ = [
    "ActivityTrigger",
    "Blueprint",
    "DFApp",
    "DurableClient",
    "EntityTrigger",
    "OrchestrationTrigger",
]

Decorator = Callable[[Callable[..., Any]], FunctionBuilder]

_MODEL_RETRY_OPTIONS = RetryOptions(
    first_retry_interval_in_milliseconds=2000, max_number_of_attempts=5
)


# ---------------------------------------------------------------------------
# Binding metadata (``decorators.metadata`` of the reference)
#
# azure.functions derives the binding dict from the ``__init__`` parameter names
# (snake case -> camelCase), so these names are part of the wire.
# ---------------------------------------------------------------------------


class OrchestrationTrigger(Trigger):  # type: ignore[misc]
    """``{"type": "orchestrationTrigger", "name": ..., "orchestration": ...}``."""

    @staticmethod
    def get_binding_name() -> str:
        return "orchestrationTrigger"

    def __init__(self, name: str, orchestration: str | None = None) -> None:
        self.orchestration = orchestration
        super().__init__(name=name)


class ActivityTrigger(Trigger):  # type: ignore[misc]
    """``{"type": "activityTrigger", "name": ..., "activity": ...}``."""

    @staticmethod
    def get_binding_name() -> str:
        return "activityTrigger"

    def __init__(self, name: str, activity: str | None = None) -> None:
        self.activity = activity
        super().__init__(name=name)


class EntityTrigger(Trigger):  # type: ignore[misc]
    """``{"type": "entityTrigger", "name": ..., "entityName": ...}``."""

    @staticmethod
    def get_binding_name() -> str:
        return "entityTrigger"

    def __init__(self, name: str, entity_name: str | None = None) -> None:
        self.entity_name = entity_name
        super().__init__(name=name)


class DurableClient(InputBinding):  # type: ignore[misc]
    """``{"type": "durableClient", "name": ..., "taskHub": ..., "connectionName": ...}``."""

    @staticmethod
    def get_binding_name() -> str:
        return "durableClient"

    def __init__(
        self, name: str, task_hub: str | None = None, connection_name: str | None = None
    ) -> None:
        self.task_hub = task_hub
        self.connection_name = connection_name
        super().__init__(name=name)


# ---------------------------------------------------------------------------
# Decorators
# ---------------------------------------------------------------------------


def _is_model_type(tp: Any) -> bool:
    """Whether ``tp`` mentions a dataclass or pydantic model (``Point``, ``list[Point]``, ...)."""
    if isinstance(tp, type):
        return dataclasses.is_dataclass(tp) or hasattr(tp, "model_validate")
    return any(_is_model_type(arg) for arg in typing.get_args(tp))


def _plain(value: Any) -> Any:
    """Dataclasses/pydantic models as the JSON data they travel as; other values unchanged."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.loads(df_dumps(value))


def _add_typed_activity_io(fb: FunctionBuilder, input_name: str) -> None:
    """Let activities take and return dataclasses / pydantic models.

    The worker's activity converter knows only plain JSON and ``to_json`` objects.
    When the input or return annotation names a dataclass or pydantic model, the
    registered function is wrapped: the input is decoded into the annotated type
    and such a result is sent as its JSON object (the wire the reference would use
    for the equivalent dict). Other activities are registered unchanged; the
    original stays reachable as ``.activity_function``.
    """
    function: Any = fb._function
    user_code: Callable[..., Any] = function._func
    try:
        hints = typing.get_type_hints(user_code)
    except Exception:  # unresolvable annotations: leave the function alone
        return
    input_type = hints.get(input_name)
    if not (_is_model_type(input_type) or _is_model_type(hints.get("return"))):
        return

    signature = inspect.signature(user_code)

    def convert_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        bound = signature.bind(*args, **kwargs)
        if input_name in bound.arguments and _is_model_type(input_type):
            bound.arguments[input_name] = decode_as(
                bound.arguments[input_name], input_type, strict=True
            )
        return bound

    wrapper: Any
    if inspect.iscoroutinefunction(user_code):

        @wraps(user_code)
        async def async_typed_activity(*args: Any, **kwargs: Any) -> Any:
            bound = convert_input(args, kwargs)
            return _plain(await user_code(*bound.args, **bound.kwargs))

        wrapper = async_typed_activity
    else:

        @wraps(user_code)
        def typed_activity(*args: Any, **kwargs: Any) -> Any:
            bound = convert_input(args, kwargs)
            return _plain(user_code(*bound.args, **bound.kwargs))

        wrapper = typed_activity
    wrapper.activity_function = user_code
    function._func = wrapper


def _build_client(binding_json: str, invocation_id: str | None) -> Any:
    # Imported on first call: the client module is only needed by client functions.
    from durable_functions.client import DurableOrchestrationClient

    return DurableOrchestrationClient(binding_json, invocation_id)


class Blueprint(TriggerApi, BindingApi, SettingsApi):  # type: ignore[misc]
    """A container of Durable (and plain) functions, registered later on a ``DFApp``."""

    def __init__(self, http_auth_level: AuthLevel | str = AuthLevel.FUNCTION) -> None:
        super().__init__(auth_level=http_auth_level)  # type: ignore[no-untyped-call]
        self._is_durable_openai_agent_setup = False

    @staticmethod
    def _wrap_user_function(target: Any, make_handle: Callable[[Any], Any]) -> Any:
        """Replace the user function by its handler, before or after other decorators.

        ``target`` is the function itself, or a ``FunctionBuilder`` when another
        decorator (``function_name``, ``retry``, ...) was applied first; the reference
        supports only the former.
        """
        if isinstance(target, FunctionBuilder):
            function: Any = target._function
            function._func = make_handle(function._func)
            return target
        return make_handle(target)

    def _configure_entity_callable(self, wrap: Callable[[Any], Any]) -> Decorator:
        def make_handle(entity_func: Any) -> Any:
            handle = Entity.create(entity_func)
            handle.__name__ = entity_func.__name__
            return handle

        def decorator(entity_func: Any) -> Any:
            return wrap(self._wrap_user_function(entity_func, make_handle))

        return decorator

    def _configure_orchestrator_callable(
        self, wrap: Callable[[Any], Any], input_type: type | None = None
    ) -> Decorator:
        def make_handle(orchestrator_func: Any) -> Any:
            from durable_functions.replay import Orchestrator

            handle: Any = Orchestrator.create(orchestrator_func)
            handle.__name__ = orchestrator_func.__name__
            # The worker type-checks the trigger parameter when indexing: it needs the
            # real class, not a postponed string annotation.
            handle.__annotations__ = {"context": OrchestrationContext, "return": str}
            # Read by the orchestration context: get_input() decodes into this type.
            handle._df_input_type = input_type
            return handle

        def decorator(orchestrator_func: Any) -> Any:
            return wrap(self._wrap_user_function(orchestrator_func, make_handle))

        return decorator

    def orchestration_trigger(
        self,
        context_name: str,
        orchestration: str | None = None,
        input_type: type | None = None,
    ) -> Decorator:
        """Register a generator function (or an ``async def`` one) as an orchestrator.

        Args:
            context_name: the parameter receiving the context (must be ``"context"``).
            orchestration: the orchestrator's Durable name; defaults to the function name.
            input_type: decode the orchestration input into this type in
                ``context.get_input()`` (an explicit ``expected_type`` wins).
        """

        @self._configure_function_builder  # type: ignore[misc]
        def wrap(fb: FunctionBuilder) -> FunctionBuilder:
            fb.add_trigger(
                trigger=OrchestrationTrigger(name=context_name, orchestration=orchestration)
            )
            return fb

        return self._configure_orchestrator_callable(wrap, input_type=input_type)

    def activity_trigger(self, input_name: str, activity: str | None = None) -> Decorator:
        """Register a function as an activity.

        Activities whose input or return annotation is a dataclass or pydantic
        model get typed input/output (see ``_add_typed_activity_io``); others are
        registered unchanged, as in the reference.

        Args:
            input_name: the parameter receiving the activity input.
            activity: the activity's Durable name; defaults to the function name.
        """

        @self._configure_function_builder  # type: ignore[misc]
        def wrap(fb: FunctionBuilder) -> FunctionBuilder:
            _add_typed_activity_io(fb, input_name)
            fb.add_trigger(trigger=ActivityTrigger(name=input_name, activity=activity))
            return fb

        return wrap  # type: ignore[no-any-return]

    def entity_trigger(self, context_name: str, entity_name: str | None = None) -> Decorator:
        """Register an entity: a function of the entity context, or a class of operations.

        Args:
            context_name: the parameter receiving the context (must be ``"context"``).
            entity_name: the entity's Durable name; defaults to the function/class name.
        """

        @self._configure_entity_callable
        @self._configure_function_builder  # type: ignore[misc]
        def wrap(fb: FunctionBuilder) -> FunctionBuilder:
            fb.add_trigger(trigger=EntityTrigger(name=context_name, entity_name=entity_name))
            return fb

        return wrap

    def _add_rich_client(
        self,
        fb: FunctionBuilder,
        parameter_name: str,
        client_constructor: Callable[[str, str | None], Any],
    ) -> None:
        function: Any = fb._function
        user_code: Callable[..., Any] = function._func
        # The worker type-checks binding parameters and only accepts ``str`` for the
        # client binding; the wrapper swaps in the rich client after that check.
        user_code.__annotations__[parameter_name] = str

        @wraps(user_code)
        async def df_client_middleware(*args: Any, **kwargs: Any) -> Any:
            starter = kwargs[parameter_name]
            context = kwargs.get("context")
            invocation_id = getattr(context, "invocation_id", None) if context else None
            kwargs[parameter_name] = client_constructor(starter, invocation_id)
            result = user_code(*args, **kwargs)
            # Unlike the reference, a plain ``def`` client function works too.
            if inspect.isawaitable(result):
                result = await result
            return result

        # On Python 3.14 ``wraps`` copies ``__annotate__``, which would bring back the
        # original annotation; pin the ``str`` one on the wrapper itself.
        annotations = dict(getattr(df_client_middleware, "__annotations__", {}))
        annotations[parameter_name] = str
        df_client_middleware.__annotations__ = annotations
        if hasattr(df_client_middleware, "__annotate__"):
            df_client_middleware.__annotate__ = None
        df_client_middleware.client_function = user_code  # type: ignore[attr-defined]
        function._func = df_client_middleware

    def durable_client_input(
        self,
        client_name: str,
        task_hub: str | None = None,
        connection_name: str | None = None,
    ) -> Decorator:
        """Give a function a ``DurableOrchestrationClient`` in parameter ``client_name``.

        Args:
            client_name: the parameter receiving the client.
            task_hub: the task hub to talk to; defaults to host.json's.
            connection_name: the app setting naming the storage connection.
        """

        @self._configure_function_builder  # type: ignore[misc]
        def wrap(fb: FunctionBuilder) -> FunctionBuilder:
            self._add_rich_client(fb, client_name, _build_client)
            fb.add_binding(
                binding=DurableClient(
                    name=client_name, task_hub=task_hub, connection_name=connection_name
                )
            )
            return fb

        return wrap  # type: ignore[no-any-return]

    def durable_openai_agent_orchestrator(
        self,
        _func: Callable[..., Any] | None = None,
        *,
        model_provider: Any = None,
        model_retry_options: RetryOptions | None = _MODEL_RETRY_OPTIONS,
    ) -> Any:
        """Make a plain function that runs OpenAI agents (``Runner.run_sync``) an orchestrator.

        Stack it under ``orchestration_trigger``, bare or with arguments. The function gets a
        ``durable_functions.openai_agents.DurableAIAgentContext``; each model call becomes a
        call of the ``run_model`` activity (registered on this app once), retried with
        ``model_retry_options``. Needs the optional ``openai-agents`` package.

        Args:
            model_provider: the ``agents.ModelProvider`` the ``run_model`` activity asks
                (by default the Agents SDK's ``OpenAIProvider``).
            model_retry_options: how the host retries a failed model call (``None``: never).
        """
        try:
            from durable_functions.openai_agents import orchestrator as agents
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"durable_openai_agent_orchestrator needs the OpenAI Agents SDK ({exc}): "
                "pip install 'openai-agents>=0.24'",
                name=exc.name,
            ) from exc

        agents.check_model_provider(model_provider)
        if not self._is_durable_openai_agent_setup:
            self._is_durable_openai_agent_setup = True

            # The Functions function is named as the reference's (run_model_activity).
            @self.activity_trigger(input_name="input", activity=agents.ACTIVITY_NAME)
            async def run_model_activity(input: str) -> str:
                return await agents.run_model_activity(input, model_provider)

        def decorator(func: Callable[..., Any]) -> Any:
            return agents.agent_orchestrator(func, model_retry_options, agents.ACTIVITY_NAME)

        return decorator if _func is None else decorator(_func)


class DFApp(Blueprint, FunctionRegister):  # type: ignore[misc]
    """A Durable Functions app: the object the Functions worker indexes."""
