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

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from durable_functions._decoding import trigger_body
from durable_functions._entity_classes import class_entity_function
from durable_functions._entity_context import (
    DurableEntityContext,
    EntityFunction,
    EntityOperationError,
)
from durable_functions._entity_id import EntityId
from durable_functions._entity_messages import (
    EntityState,
    OperationResult,
    RequestMessage,
    ResponseMessage,
    Signal,
)
from durable_functions.errors import SerializationError
from durable_functions.serialization import df_dumps

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


class InternalEntityException(Exception):  # noqa: N818 - the reference's name
    """The batch itself is malformed (e.g. an operation without a name); aborts the batch."""


def _now() -> datetime:
    # Entities are not replayed: the wall clock is fine here.
    return datetime.now(timezone.utc)


class Entity:
    """Runs an entity function (or class) over a batch of operations."""

    def __init__(self, entity_func: EntityFunction | type[Any]) -> None:
        self.fn: EntityFunction = (
            class_entity_function(entity_func) if isinstance(entity_func, type) else entity_func
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
            entity_context, batch = DurableEntityContext.from_json(trigger_body(context))
            return cls(fn).handle(entity_context, batch)

        # The Functions worker reads these annotations when it indexes the app and
        # rejects strings (this module postpones annotations): no type for the
        # context, as in the reference, and a real ``str`` for the result.
        handle.__annotations__ = {"return": str}
        handle.entity_function = fn  # type: ignore[attr-defined]
        return handle
