"""Status value types returned by the durable client.

They mirror ``azure-functions-durable`` 1.7: the constructors take the host's
camelCase JSON keys, the properties are snake_case, and any extra key the host
sends (``historyEvents``, ``message`` …) becomes an attribute of the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from durable_functions._entity_id import EntityId
from durable_functions._protocol import RuntimeStatus as _Wire
from durable_functions._readonly import ReadOnly

__all__ = [
    "DATETIME_STRING_FORMAT",
    "DurableEntityStatus",
    "DurableOrchestrationStatus",
    "EntityStateResponse",
    "OrchestrationRuntimeStatus",
    "PurgeHistoryResult",
    "parse_datetime",
]

DATETIME_STRING_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How the SDK writes datetimes on the wire (query strings, ``to_json``)."""

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<frac>\d+))?\s*(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(text: str) -> datetime:
    """Parse the host's ISO 8601 timestamps (0-7 fractional digits, ``Z`` or an offset).

    ``datetime.fromisoformat`` on Python 3.10 rejects both ``Z`` and seven digits,
    which .NET writes, so the parts are taken apart here. Without a zone the
    value is naive, as ``dateutil`` (the reference's parser) returns it.

    Raises:
        ValueError: the text is not an ISO 8601 timestamp.
    """
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"Not an ISO 8601 timestamp: {text!r}")
    time_part = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    value = datetime.fromisoformat(f"{match['date']}T{time_part}")
    frac = match["frac"]
    if frac:
        value = value.replace(microsecond=int(frac[:6].ljust(6, "0")))
    zone = match["tz"]
    if zone in ("Z", "z"):
        value = value.replace(tzinfo=timezone.utc)
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or "0"))
        value = value.replace(tzinfo=timezone(sign * offset))
    return value


def _format_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.strftime(DATETIME_STRING_FORMAT)


class OrchestrationRuntimeStatus(Enum):
    """The status of an orchestration instance (values are the host's names)."""

    Running = _Wire.Running.value
    """The instance has started running."""
    Completed = _Wire.Completed.value
    """The instance completed normally."""
    ContinuedAsNew = _Wire.ContinuedAsNew.value
    """The instance restarted itself with a new history (transient)."""
    Failed = _Wire.Failed.value
    """The instance failed with an error."""
    Canceled = _Wire.Canceled.value
    """The instance was canceled gracefully."""
    Terminated = _Wire.Terminated.value
    """The instance was stopped abruptly."""
    Pending = _Wire.Pending.value
    """The instance is scheduled but has not started running yet."""
    Suspended = _Wire.Suspended.value
    """The instance is suspended and may be resumed later."""


class DurableOrchestrationStatus:
    """The status of one orchestration instance, as ``get_status`` returns it.

    A status is falsy when it has no ``created_time``: that is how "no such
    instance" (a 404) reads, so ``if not await client.get_status(id):`` works.
    """

    def __init__(
        self,
        name: str | None = None,
        instanceId: str | None = None,  # the host's JSON keys
        createdTime: str | None = None,
        lastUpdatedTime: str | None = None,
        input: Any = None,
        output: Any = None,
        runtimeStatus: OrchestrationRuntimeStatus | str | None = None,
        customStatus: Any = None,
        history: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._name = name
        self._instance_id = instanceId
        self._created_time = _to_datetime(createdTime)
        self._last_updated_time = _to_datetime(lastUpdatedTime)
        self._input = input
        self._output = output
        self._runtime_status = (
            None if runtimeStatus is None else OrchestrationRuntimeStatus(runtimeStatus)
        )
        self._custom_status = customStatus
        self._history = history
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __bool__(self) -> bool:
        return self._created_time is not None

    def __repr__(self) -> str:
        status = self._runtime_status.name if self._runtime_status else None
        return (
            f"DurableOrchestrationStatus(name={self._name!r}, instance_id={self._instance_id!r}, "
            f"runtime_status={status})"
        )

    @classmethod
    def from_json(cls, json_obj: Any) -> DurableOrchestrationStatus:
        """Build from the host's status body; a string body becomes ``message``."""
        if isinstance(json_obj, str):
            return cls(message=json_obj)
        if not isinstance(json_obj, dict):
            raise TypeError(
                f"A status must be a JSON object or a message string, got {type(json_obj).__name__}"
            )
        return cls(**json_obj)

    def to_json(self) -> dict[str, Any]:
        """The status as the wire's camelCase JSON object (datetimes as text)."""
        return {
            "name": self._name,
            "instanceId": self._instance_id,
            "createdTime": _format_datetime(self._created_time),
            "lastUpdatedTime": _format_datetime(self._last_updated_time),
            "output": self._output,
            "input": self._input,
            "runtimeStatus": self._runtime_status.name if self._runtime_status else None,
            "customStatus": self._custom_status,
            "history": self._history,
        }

    name = ReadOnly[str | None]("_name", "The orchestrator function's name.")
    instance_id = ReadOnly[str | None]("_instance_id", "The instance id.")
    created_time = ReadOnly[datetime | None](
        "_created_time", "When the instance was created (scheduled, if still Pending)."
    )
    last_updated_time = ReadOnly[datetime | None](
        "_last_updated_time", "When the instance last updated its history."
    )
    input_ = ReadOnly[Any]("_input", "The instance's input as the host reports it.")
    output = ReadOnly[Any](
        "_output", "The instance's output (or the error text of a failed instance)."
    )
    runtime_status = ReadOnly[OrchestrationRuntimeStatus | None](
        "_runtime_status", "The runtime status."
    )
    custom_status = ReadOnly[Any](
        "_custom_status", "The value last given to ``context.set_custom_status``."
    )
    history = ReadOnly[list[Any] | None](
        "_history", "Always ``None`` from a host: the host sends history as ``historyEvents``."
    )


def _to_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


class PurgeHistoryResult:
    """How many instances a purge deleted."""

    def __init__(self, instancesDeleted: int, **kwargs: Any) -> None:
        self._instances_deleted = instancesDeleted
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"PurgeHistoryResult(instances_deleted={self._instances_deleted})"

    @classmethod
    def from_json(cls, json_obj: dict[str, Any]) -> PurgeHistoryResult:
        """Build from the host's ``{"instancesDeleted": n}`` body."""
        return cls(**json_obj)

    instances_deleted = ReadOnly[int]("_instances_deleted", "The number of deleted instances.")


@dataclass(frozen=True, slots=True)
class EntityStateResponse:
    """The answer of ``read_entity_state``."""

    entity_exists: bool
    """Whether the entity exists."""
    entity_state: Any = None
    """The entity's state; ``None`` when it does not exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DurableEntityStatus:
    """One entity of ``list_entities`` (an addition: the reference has no entity query)."""

    name: str
    """The entity's name (lower-cased, as the host keys entities)."""
    key: str
    """The entity's key."""
    last_operation_time: datetime | None
    """When the entity last ran an operation (UTC)."""
    state: Any = None
    """The state as JSON data; ``None`` unless the query fetched states."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DurableEntityStatus:
        """From one item of the host's ``GET entities/`` answer."""
        ids = data.get("entityId") or {}
        when = data.get("lastOperationTime")
        return cls(
            name=str(ids.get("name", "")),
            key=str(ids.get("key", "")),
            last_operation_time=parse_datetime(when) if when else None,
            state=data.get("state"),
        )

    @property
    def entity_id(self) -> EntityId:
        """The ``EntityId`` to signal or read this entity with."""
        return EntityId(self.name, self.key)
