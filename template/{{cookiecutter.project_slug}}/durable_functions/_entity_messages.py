"""Entity wire payload types (``models.entities`` of the reference SDK)."""

from __future__ import annotations

import json
from typing import Any

from durable_functions._entity_id import EntityId
from durable_functions._readonly import ReadOnly
from durable_functions.serialization import df_dumps

__all__ = ["EntityState", "OperationResult", "RequestMessage", "ResponseMessage", "Signal"]


class OperationResult:
    """The outcome of one operation of a batch."""

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

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

    is_error = ReadOnly[bool]("_is_error", "Whether the operation raised.")
    duration = ReadOnly[int]("_duration", "How long the operation took, in milliseconds.")
    execution_start_time_ms = ReadOnly[int](
        "_execution_start_time_ms",
        "When the operation started, in milliseconds since the epoch (UTC).",
    )
    result = ReadOnly[Any]("_result", "The operation's result (the error text when it failed).")

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

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

    def __init__(self, target: EntityId, name: str, input_: str) -> None:
        self._target = target
        self._name = name
        self._input = input_

    target = ReadOnly[EntityId]("_target", "The entity signalled.")
    name = ReadOnly[str]("_name", "The operation name.")
    input = ReadOnly[str]("_input", "The operation input (JSON text).")


class EntityState:
    """An entity function's response to the host for one batch of operations.

    It carries the new state, whether the entity exists, and one result per operation.
    The name is the reference SDK's (``models.entities.EntityState``). It is not the
    record of an entity that the host keeps between batches.
    """

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

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

    results = ReadOnly[list[OperationResult]](
        "_results", "One result per operation of the batch, in order."
    )
    signals = ReadOnly[list[Signal]]("_signals", "Signals to other entities (always empty).")

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

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

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

    __module__ = "durable_functions.entity"  # public home: reprs and envelopes unchanged

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
