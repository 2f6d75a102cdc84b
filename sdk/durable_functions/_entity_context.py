"""The entity operation context: what an entity function sees of its entity."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from durable_functions._readonly import ReadOnly
from durable_functions.errors import DurableError, SerializationError
from durable_functions.serialization import InvalidJSONError, decode_as, df_loads

__all__ = ["DurableEntityContext", "EntityFunction", "EntityOperationError"]


class EntityOperationError(DurableError):
    """An entity operation was used wrongly (unknown operation, bad initializer, ...).

    Raised inside an operation, it becomes that operation's error result; the
    batch goes on.
    """

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged


class DurableEntityContext:
    """What an entity function sees: its id, the current operation, its state."""

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

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

    entity_name = ReadOnly[str](
        "_entity_name", "The entity's name, as the host sends it (lowercased)."
    )
    entity_key = ReadOnly[str]("_entity_key", "The entity's key.")

    @property
    def operation_name(self) -> str | None:
        """The name of the operation being executed.

        Raises:
            EntityOperationError: outside of an operation.
        """
        if self._operation is None:
            raise EntityOperationError("Entity operation is unassigned")
        return self._operation

    is_newly_constructed = ReadOnly[bool](
        "_is_newly_constructed",
        "Always ``False``, as in the reference (the host does not tell us).",
    )

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


EntityFunction = Callable[[DurableEntityContext], None]
"""An entity function: runs one operation through the context."""
