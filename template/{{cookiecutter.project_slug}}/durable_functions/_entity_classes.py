"""Class-based entities: a class whose public methods are the operations, its fields the state."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

from durable_functions._entity_context import (
    DurableEntityContext,
    EntityFunction,
    EntityOperationError,
)
from durable_functions.serialization import decode_as

__all__ = ["class_entity_function"]


def _is_pydantic_instance(obj: object) -> bool:
    return callable(getattr(obj, "model_dump", None)) and hasattr(type(obj), "model_fields")


def _fields_of(instance: Any) -> dict[str, Any]:
    """The state of a class entity: its dataclass fields, pydantic fields or public attributes."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}
    if _is_pydantic_instance(instance):
        dumped: dict[str, Any] = instance.model_dump(mode="json")
        return dumped
    return {name: value for name, value in vars(instance).items() if not name.startswith("_")}


def _instantiate(entity_class: type, entity_name: str) -> Any:
    try:
        return entity_class()
    except TypeError as exc:
        raise EntityOperationError(
            f"Entity class {entity_class.__qualname__} ('{entity_name}') must be constructible "
            f"without arguments to create a new entity: {exc}"
        ) from exc


def _load_instance(entity_class: type, state: Any, entity_name: str) -> Any:
    if state is None:
        return _instantiate(entity_class, entity_name)
    if not isinstance(state, dict):
        raise EntityOperationError(
            f"The state of entity '{entity_name}' is {type(state).__name__}, not the JSON object "
            f"of {entity_class.__qualname__}'s fields"
        )
    if dataclasses.is_dataclass(entity_class) or hasattr(entity_class, "model_validate"):
        return decode_as(state, entity_class, strict=True)
    instance = _instantiate(entity_class, entity_name)
    try:
        hints = typing.get_type_hints(entity_class)
    except Exception:  # unresolvable annotations: keep the JSON values as they are
        hints = {}
    for name, value in state.items():
        setattr(instance, name, decode_as(value, hints.get(name, Any), strict=True))
    return instance


def _find_operation(entity_class: type, operation: str) -> str | None:
    if not operation.startswith("_") and callable(getattr(entity_class, operation, None)):
        return operation
    # Callers (and the host's HTTP API) may change the case of operation names.
    lowered = operation.lower()
    for name in dir(entity_class):
        if (
            not name.startswith("_")
            and name.lower() == lowered
            and callable(getattr(entity_class, name))
        ):
            return name
    return None


def _input_type(method: Callable[..., Any]) -> tuple[bool, Any]:
    """Whether the operation takes an input, and its annotated type (if any)."""
    parameters = [
        p
        for p in inspect.signature(method).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not parameters:
        return False, None
    try:
        hints = typing.get_type_hints(method)
    except Exception:
        hints = {}
    return True, hints.get(parameters[0].name)


def class_entity_function(entity_class: type) -> EntityFunction:
    """Turn a class into the equivalent entity function.

    Each operation does exactly what this function entity would do, so the wire
    is the same::

        def entity(context):
            instance = Cls(**context.get_state())   # or Cls() when there is no state
            result = getattr(instance, context.operation_name)(context.get_input())
            context.set_state(fields_of(instance))
            context.set_result(result)

    An operation named ``delete`` that the class does not define deletes the entity.
    """

    def run(context: DurableEntityContext) -> None:
        operation = context.operation_name or ""
        method_name = _find_operation(entity_class, operation)
        if method_name is None:
            if operation.lower() == "delete":
                context.destruct_on_exit()
                return
            raise EntityOperationError(
                f"Entity '{context.entity_name}' ({entity_class.__qualname__}) has no operation "
                f"'{operation}'"
            )
        instance = _load_instance(entity_class, context.get_state(), context.entity_name)
        method = getattr(instance, method_name)
        takes_input, input_type = _input_type(method)
        if takes_input:
            result = method(context.get_input(expected_type=input_type))
        else:
            result = method()
        context.set_state(_fields_of(instance))
        context.set_result(result)

    run.__name__ = entity_class.__name__
    run.__qualname__ = entity_class.__qualname__
    run.__doc__ = entity_class.__doc__
    return run
