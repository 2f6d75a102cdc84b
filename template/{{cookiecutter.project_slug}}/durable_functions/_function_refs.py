"""Turning what orchestrator code names (a function name or a decorated function) into a name.

In the v2 programming model ``call_activity`` and ``call_sub_orchestrator`` also take
the decorated function itself; an activity's return annotation then tells how to decode
its result.
"""

from __future__ import annotations

import typing
from typing import Any

from durable_functions.constants import ACTIVITY_TRIGGER, ORCHESTRATION_TRIGGER

__all__ = ["resolve_activity", "resolve_name"]

_RETURN_TYPES: dict[Any, Any] = {}
_NO_ACTIVITY_TRIGGER = (
    "The `call_activity` API received a `Callable` without an associated Azure Functions "
    "trigger-type. Please ensure you're using the Python programming model V2 and that your "
    "activity function is annotated with the `activity_trigger`decorator. Otherwise, provide "
    "in the name of the activity as a string."
)


def _user_function(name: Any) -> Any:
    function = getattr(name, "_function", None)
    return getattr(function, "_func", None) if function is not None else None


def _is_function_builder(name: Any) -> bool:
    function = getattr(name, "_function", None)
    return function is not None and hasattr(function, "_trigger")


def _return_type(fn: Any) -> Any:
    """The concrete class ``fn`` is annotated to return, or ``None``."""
    if fn in _RETURN_TYPES:
        return _RETURN_TYPES[fn]
    try:
        annotation = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: no type information
        annotation = getattr(fn, "__annotations__", {}).get("return")
    found = annotation if isinstance(annotation, type) else None
    _RETURN_TYPES[fn] = found
    return found


def resolve_name(name: Any, trigger: str, api: str) -> str:
    """The function's name: ``name`` itself, or the name of the decorated function.

    Raises:
        ValueError: a callable without a trigger, or with another trigger than ``trigger``.
        TypeError: neither a name nor a decorated function.
    """
    if isinstance(name, str):
        return name
    if not _is_function_builder(name):
        if callable(name) and trigger == ACTIVITY_TRIGGER:
            raise ValueError(_NO_ACTIVITY_TRIGGER)  # the reference's text, word for word
        if callable(name):
            raise ValueError(
                f"The `{api}` API received a `Callable` without an associated Azure "
                "Functions trigger-type. Please ensure you're using the Python programming "
                f"model V2 and that your function is decorated with `{trigger}`. "
                "Otherwise, provide the name of the function as a string."
            )
        raise TypeError(
            f"`{api}` expects a function name (str) or a decorated function, got "
            f"{type(name).__name__}"
        )
    function = name._function
    actual = getattr(function._trigger, "type", None)
    if actual != trigger:
        expected = (
            "OrchestrationTrigger" if trigger == ORCHESTRATION_TRIGGER else ("ActivityTrigger")
        )
        raise ValueError(
            f"Received function with Trigger-type `{actual}` but expected `{expected}`. "
            f"Ensure your function is annotated with the `{expected}` decorator or "
            "directly pass in the name of the function as a string."
        )
    return str(function._name)


def resolve_activity(name: Any, api: str) -> tuple[str, Any]:
    """The activity's name and the type its return annotation declares (or ``None``).

    Raises:
        ValueError: an empty name, or see :func:`resolve_name`.
        TypeError: see :func:`resolve_name`.
    """
    if type(name) is str:
        if not name:
            raise ValueError("function_name cannot be empty")
        return name, None
    resolved = resolve_name(name, ACTIVITY_TRIGGER, api)
    fn = _user_function(name)
    return resolved, (_return_type(fn) if fn is not None else None)
