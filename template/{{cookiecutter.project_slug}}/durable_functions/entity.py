"""Durable entities: ids, the operation context and the batch executor.

An entity function runs once per batch of operations (protocol: the host sends
``{"self", "exists", "state", "batch"}``, the SDK answers with the new state and one
result per operation). Two ways to write one:

* a function of a :class:`DurableEntityContext` (the reference's model)::

      def counter(context: DurableEntityContext) -> None:
          value = context.get_state(lambda: 0)
          if context.operation_name == "add":
              context.set_state(value + context.get_input())
          context.set_result(value)

* a class whose public methods are the operations, its fields the state::

      @dataclass
      class Counter:
          value: int = 0

          def add(self, amount: int) -> None:
              self.value += amount

          def get(self) -> int:
              return self.value

Both are registered with ``@app.entity_trigger(context_name="context")`` or
``Entity.create(...)``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from durable_functions.errors import DurableError, SerializationError
from durable_functions.serialization import InvalidJSONError, decode_as, df_dumps, df_loads

__all__ = [
    "DurableEntityContext",
    "Entity",
    "EntityId",
    "EntityOperationError",
    "EntityState",
    "InternalEntityException",
    "OperationResult",
    "RequestMessage",
    "ResponseMessage",
    "Signal",
]


class EntityId:
    """Identifies an entity by its name and its key.

    Unlike the reference, ids are hashable (``__hash__`` agrees with ``__eq__``), so
    they can key a dict or live in a set.
    """

    __slots__ = ("key", "name")

    def __init__(self, name: str, key: str) -> None:
        if name == "":
            raise ValueError("Entity name cannot be empty")
        if key == "":
            raise ValueError("Entity key cannot be empty")
        self.name: str = name
        self.key: str = key

    @staticmethod
    def get_scheduler_id(entity_id: EntityId) -> str:
        """The instance id the host uses for the entity: ``@<name lowercased>@<key>``."""
        return f"@{entity_id.name.lower()}@{entity_id.key}"

    @staticmethod
    def get_entity_id(scheduler_id: str) -> EntityId:
        """Parse a scheduler id (``@name@key``) back into an id.

        Raises:
            ValueError: the text is not of the form ``@name@key``.
        """
        components = scheduler_id[1:].split("@")
        if len(components) != 2:
            raise ValueError("Unexpected format in SchedulerId")
        name, key = components
        return EntityId(name, key)

    @staticmethod
    def get_entity_id_url_path(entity_id: EntityId) -> str:
        """The path of the entity below the host's webhook base URL."""
        return f"entities/{entity_id.name}/{entity_id.key}"

    def __str__(self) -> str:
        return EntityId.get_scheduler_id(self)

    def __repr__(self) -> str:
        return f"EntityId(name={self.name!r}, key={self.key!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityId):
            return False
        return self.name == other.name and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.name, self.key))


class InternalEntityException(Exception):  # noqa: N818 - the reference's name
    """The batch itself is malformed (e.g. an operation without a name); aborts the batch."""


class EntityOperationError(DurableError):
    """An entity operation was used wrongly (unknown operation, bad initializer, ...).

    Raised inside an operation, it becomes that operation's error result; the
    batch goes on.
    """


# ---------------------------------------------------------------------------
# The operation context
# ---------------------------------------------------------------------------


class DurableEntityContext:
    """What an entity function sees: its id, the current operation, its state."""

    def __init__(self, name: str, key: str, exists: bool, state: Any) -> None:
        self._entity_name: str = name
        self._entity_key: str = key
        self._exists: bool = exists
        self._is_newly_constructed: bool = False
        self._state: Any = state
        # True while ``_state`` still holds the host's JSON text (decoded lazily so
        # that ``get_state(expected_type=...)`` can choose the type).
        self._state_is_raw: bool = False
        self._input: Any = None
        self._operation: str | None = None
        self._result: Any = None

    @classmethod
    def from_json(
        cls, json_str: str | bytes | dict[str, Any]
    ) -> tuple[DurableEntityContext, list[dict[str, Any]]]:
        """Build the context and the operation batch from the entity trigger payload.

        Keys this SDK does not know are ignored (the reference rejects them).

        Raises:
            SerializationError: the payload is not the entity trigger JSON.
        """
        try:
            # A host that already parsed the payload may hand over the object itself.
            payload = json_str if isinstance(json_str, dict) else json.loads(json_str)
            identity = payload["self"]
            name, key = identity["name"], identity["key"]
        except (TypeError, ValueError, KeyError) as exc:
            raise SerializationError(
                f"Malformed entity trigger payload (expected JSON with 'self', 'state' and "
                f"'batch'): {exc!r}"
            ) from exc
        state = payload.get("state")
        batch = payload.get("batch") or []
        if not isinstance(batch, list):
            raise SerializationError("Malformed entity trigger payload: 'batch' is not a list")
        context = cls(name=name, key=key, exists=bool(payload.get("exists", False)), state=state)
        context._state_is_raw = state is not None
        return context, batch

    @property
    def entity_name(self) -> str:
        """The entity's name, as the host sends it (lowercased)."""
        return self._entity_name

    @property
    def entity_key(self) -> str:
        """The entity's key."""
        return self._entity_key

    @property
    def operation_name(self) -> str | None:
        """The name of the operation being executed.

        Raises:
            EntityOperationError: outside of an operation.
        """
        if self._operation is None:
            raise EntityOperationError("Entity operation is unassigned")
        return self._operation

    @property
    def is_newly_constructed(self) -> bool:
        """Always ``False``, as in the reference (the host does not tell us)."""
        return self._is_newly_constructed

    def get_state(
        self,
        initializer: Callable[[], Any] | None = None,
        expected_type: type | None = None,
    ) -> Any:
        """The entity's state, or ``initializer()`` when it has none (not stored).

        The stored state is decoded on the first call, with ``expected_type`` if given.
        """
        if self._state is not None and self._state_is_raw:
            self._state = df_loads(self._state, expected_type=expected_type)
            self._state_is_raw = False
        elif self._state is not None and expected_type is not None:
            return decode_as(self._state, expected_type)
        state = self._state
        if state is not None:
            return state
        if initializer:
            if not callable(initializer):
                raise EntityOperationError("initializer argument needs to be a callable function")
            return initializer()
        return None

    def set_state(self, state: Any) -> None:
        """Replace the state; the entity exists from now on."""
        self._exists = True
        self._state = state
        self._state_is_raw = False

    def get_input(self, expected_type: type | None = None) -> Any:
        """The current operation's input; ``None`` when the caller sent none."""
        raw = self._input
        if raw is None:
            return None
        try:
            inner = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        except ValueError as exc:
            raise SerializationError(f"Entity operation input is not JSON: {exc}") from exc
        if inner is None:
            return None
        if isinstance(inner, str):
            try:
                return df_loads(inner, expected_type=expected_type)
            except InvalidJSONError:
                # A sender that did not double-encode its input: the string is the value.
                if expected_type is not None:
                    return decode_as(inner, expected_type)
                return inner
        if expected_type is not None:
            return decode_as(inner, expected_type)
        return inner

    def set_result(self, result: Any) -> None:
        """Set the value returned to the caller (as the reference, marks the entity existing)."""
        self._exists = True
        self._result = result

    def destruct_on_exit(self) -> None:
        """Delete the entity at the end of the operation."""
        self._exists = False
        self._state = None
        self._state_is_raw = False


# ---------------------------------------------------------------------------
# Wire payload types (``models.entities`` of the reference)
# ---------------------------------------------------------------------------


class OperationResult:
    """The outcome of one operation of a batch."""

    def __init__(
        self,
        is_error: bool,
        duration: int,
        execution_start_time_ms: int,
        result: str | None = None,
    ) -> None:
        self._is_error = is_error
        self._duration = duration
        self._execution_start_time_ms = execution_start_time_ms
        self._result = result
        self._result_json: str | None = None  # set by Entity when it already encoded it

    @property
    def is_error(self) -> bool:
        """Whether the operation raised."""
        return self._is_error

    @property
    def duration(self) -> int:
        """How long the operation took, in milliseconds."""
        return self._duration

    @property
    def execution_start_time_ms(self) -> int:
        """When the operation started, in milliseconds since the epoch (UTC)."""
        return self._execution_start_time_ms

    @property
    def result(self) -> Any:
        """The operation's result (the error text when it failed)."""
        return self._result

    def to_json(self) -> dict[str, Any]:
        """The result item of the entity response."""
        return {
            "isError": self.is_error,
            "duration": self.duration,
            "startTime": self.execution_start_time_ms,
            "result": self._result_json if self._result_json is not None else df_dumps(self.result),
        }


class Signal:
    """A signal from an entity to another entity (never produced: ``signals`` is always empty)."""

    def __init__(self, target: EntityId, name: str, input_: str) -> None:
        self._target = target
        self._name = name
        self._input = input_

    @property
    def target(self) -> EntityId:
        """The entity signalled."""
        return self._target

    @property
    def name(self) -> str:
        """The operation name."""
        return self._name

    @property
    def input(self) -> str:
        """The operation input (JSON text)."""
        return self._input


class EntityState:
    """The entity response: new state, existence flag, one result per operation."""

    def __init__(
        self,
        results: list[OperationResult],
        signals: list[Signal],
        entity_exists: bool = False,
        state: str | None = None,
        state_is_raw: bool = False,
    ) -> None:
        self.entity_exists = entity_exists
        self.state = state
        self.state_is_raw = state_is_raw
        self._results = results
        self._signals = signals

    @property
    def results(self) -> list[OperationResult]:
        """One result per operation of the batch, in order."""
        return self._results

    @property
    def signals(self) -> list[Signal]:
        """Signals to other entities (always empty)."""
        return self._signals

    def to_json(self) -> dict[str, Any]:
        """The response object; a state never touched in the batch is echoed verbatim."""
        return {
            "entityExists": self.entity_exists,
            "entityState": self.state if self.state_is_raw else df_dumps(self.state),
            "results": [result.to_json() for result in self.results],
            "signals": self.signals,
        }

    def to_json_string(self) -> str:
        """The response as the JSON text the host expects."""
        return json.dumps(self.to_json())


class RequestMessage:
    """A request sent to an entity (as recorded in an ``EventSent`` history event)."""

    def __init__(
        self,
        id_: str,
        name: str | None = None,
        signal: bool | None = None,
        input_: str | None = None,
        arg: Any | None = None,
        parent: str | None = None,
        lockset: list[EntityId] | None = None,
        pos: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.id = id_
        self.name = name
        self.signal = signal
        self.input = input_
        self.arg = arg
        self.parent = parent
        self.lockset = lockset
        self.pos = pos

    @classmethod
    def from_json(cls, json_str: str) -> RequestMessage:
        """Parse the request JSON; unknown keys are kept out of the way."""
        data = json.loads(json_str)
        data["id_"] = data.pop("id")
        if "input" in data:
            data["input_"] = data.pop("input")
        return cls(**data)


class ResponseMessage:
    """An entity's answer to a call, as the host delivers it to the orchestrator."""

    def __init__(self, result: str, is_exception: bool = False) -> None:
        # The host fabricates un-encoded ``Timeout value of ...`` texts when a batch
        # times out; encode them so they decode like any other error text.
        if result.strip().startswith("Timeout value of"):
            is_exception = True
            result = json.dumps(result)
        self.result = result
        self.is_exception = is_exception

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResponseMessage:
        """Build from the parsed ``{"result": ..., "exceptionType": ...}`` event input."""
        return cls(d["result"], "exceptionType" in d)


# ---------------------------------------------------------------------------
# The batch executor
# ---------------------------------------------------------------------------


EntityFunction = Callable[[DurableEntityContext], None]
"""An entity function: runs one operation through the context."""


def _now() -> datetime:
    # Entities are not replayed: the wall clock is fine here.
    return datetime.now(timezone.utc)


class Entity:
    """Runs an entity function (or class) over a batch of operations."""

    def __init__(self, entity_func: EntityFunction | type[Any]) -> None:
        self.fn: EntityFunction = (
            _class_entity_function(entity_func) if isinstance(entity_func, type) else entity_func
        )

    def handle(self, context: DurableEntityContext, batch: list[dict[str, Any]]) -> str:
        """Execute every operation of ``batch`` and return the response JSON text.

        Raises:
            InternalEntityException: an operation has no name (the batch is aborted).
            SerializationError: the final state cannot be serialized.
        """
        response = EntityState(results=[], signals=[])
        for operation_data in batch:
            response.results.append(self._run_operation(context, operation_data))
        response.state = context._state
        response.state_is_raw = context._state_is_raw
        response.entity_exists = context._exists
        try:
            return response.to_json_string()
        except SerializationError as exc:
            raise SerializationError(
                f"The state of entity '{context.entity_name}' cannot be serialized: {exc}"
            ) from exc

    def _run_operation(
        self, context: DurableEntityContext, operation_data: dict[str, Any]
    ) -> OperationResult:
        start = _now()
        operation = operation_data.get("name") if isinstance(operation_data, dict) else None
        if operation is None:
            raise InternalEntityException(
                "Durable Functions Internal Error: Entity operation was missing a name field"
            )
        context._operation = operation
        context._input = operation_data.get("input")
        # Unlike the reference, an operation that never calls set_result reports
        # null, not the previous operation's result.
        context._result = None
        is_error = False
        result: Any
        try:
            self.fn(context)
            result = context._result
            # Encoded now so that an unsendable result fails this operation, not the batch.
            encoded = df_dumps(result)
        except InternalEntityException:
            raise
        except Exception as exc:
            is_error = True
            result = str(exc)
            encoded = df_dumps(result)
        elapsed = int((_now() - start).total_seconds() * 1000)
        outcome = OperationResult(
            is_error=is_error,
            duration=elapsed,
            execution_start_time_ms=int(start.timestamp() * 1000),
            result=result,
        )
        outcome._result_json = encoded
        return outcome

    @classmethod
    def create(cls, fn: EntityFunction | type[Any]) -> Callable[[Any], str]:
        """Wrap an entity function or class into the handler the Functions worker calls.

        The handler accepts the worker's ``EntityContext`` (its ``.body``) or the
        JSON text itself; ``handler.entity_function`` is ``fn``.
        """

        def handle(context: Any) -> str:
            body = getattr(context, "body", None)
            if body is None:
                body = context
            entity_context, batch = DurableEntityContext.from_json(body)
            return cls(fn).handle(entity_context, batch)

        # The Functions worker reads these annotations when it indexes the app and
        # rejects strings (this module postpones annotations): no type for the
        # context, as in the reference, and a real ``str`` for the result.
        handle.__annotations__ = {"return": str}
        handle.entity_function = fn  # type: ignore[attr-defined]
        return handle


# ---------------------------------------------------------------------------
# Class-based entities
# ---------------------------------------------------------------------------


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


def _class_entity_function(entity_class: type) -> EntityFunction:
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
