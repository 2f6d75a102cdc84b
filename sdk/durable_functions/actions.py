"""Actions: what an orchestrator asks the host to do, in the wire shape the host replays.

Every action turns into a dict with ``actionType`` first and the reference SDK's field
names in the reference SDK's order (the host matches them by name, but byte-identical
output keeps recorded payloads comparable). Inputs are serialized once, when the action
is created, so a value that cannot cross the wire fails at the call site.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from enum import Enum, IntEnum
from typing import Any

from durable_functions._protocol import ActionType as _Wire
from durable_functions.constants import DATETIME_STRING_FORMAT
from durable_functions.entity import EntityId
from durable_functions.options import DurableHttpRequest, RetryOptions
from durable_functions.serialization import df_dumps

_ENCODE = json.JSONEncoder().encode
_ENCODE_STR = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str


def _dumps(value: Any) -> str:
    """``df_dumps``, with a fast path for plain JSON values (same text either way)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _ENCODE_STR(value)
    if kind is int:
        return int.__repr__(value)
    try:
        return _ENCODE(value)
    except (TypeError, ValueError):
        return df_dumps(value)


__all__ = [
    "Action",
    "ActionType",
    "CallActivityAction",
    "CallActivityWithRetryAction",
    "CallEntityAction",
    "CallHttpAction",
    "CallSubOrchestratorAction",
    "CallSubOrchestratorWithRetryAction",
    "CompoundAction",
    "ContinueAsNewAction",
    "CreateTimerAction",
    "NoOpAction",
    "ReplaySchema",
    "SignalEntityAction",
    "WaitForExternalEventAction",
    "WhenAllAction",
    "WhenAnyAction",
]


class ReplaySchema(Enum):
    """The action protocol version negotiated with the host (``schemaVersion``)."""

    V1 = 0
    V2 = 1
    V3 = 2


class ActionType(IntEnum):
    """The host's ``actionType`` values."""

    CALL_ACTIVITY = _Wire.CallActivity
    CALL_ACTIVITY_WITH_RETRY = _Wire.CallActivityWithRetry
    CALL_SUB_ORCHESTRATOR = _Wire.CallSubOrchestrator
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = _Wire.CallSubOrchestratorWithRetry
    CONTINUE_AS_NEW = _Wire.ContinueAsNew
    CREATE_TIMER = _Wire.CreateTimer
    WAIT_FOR_EXTERNAL_EVENT = _Wire.WaitForExternalEvent
    CALL_ENTITY = _Wire.CallEntity
    CALL_HTTP = _Wire.CallHttp
    SIGNAL_ENTITY = _Wire.SignalEntity
    WHEN_ANY = _Wire.WhenAny
    WHEN_ALL = _Wire.WhenAll


class Action(ABC):
    """One action of the orchestrator's reply."""

    @property
    @abstractmethod
    def action_type(self) -> int:
        """The action's ``actionType``."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The wire dict of this action."""


class _TypedAction(Action):
    """An action whose ``actionType`` is fixed by its class (``_ACTION_TYPE``)."""

    _ACTION_TYPE: ActionType

    @property
    def action_type(self) -> int:
        return self._ACTION_TYPE


def _require_name(value: str, field: str) -> None:
    if not value:
        raise ValueError(f"{field} cannot be empty")


def _call_json(
    action_type: int, function_name: str, input_: str, retry_options: RetryOptions | None
) -> dict[str, Any]:
    """The wire dict's common head of an activity or sub-orchestration call."""
    json_dict: dict[str, Any] = {
        "actionType": action_type,
        "functionName": function_name,
        "input": input_,
    }
    if retry_options:
        json_dict["retryOptions"] = retry_options.to_json()
    return json_dict


class _ActivityCall(_TypedAction):
    """What both activity actions hold and send; only the type and retry options differ."""

    def __init__(self, function_name: str, input_: Any = None) -> None:
        self.function_name = function_name
        self.input_ = _dumps(input_)
        _require_name(function_name, "function_name")

    def _retry(self) -> RetryOptions | None:
        """The ``retryOptions`` to send: none here, the retry variant's own."""
        return None

    def to_json(self) -> dict[str, Any]:
        return _call_json(self._ACTION_TYPE._value_, self.function_name, self.input_, self._retry())


class CallActivityAction(_ActivityCall):
    """Run an activity function once."""

    _ACTION_TYPE = ActionType.CALL_ACTIVITY


class CallActivityWithRetryAction(_ActivityCall):
    """Run an activity function; the host retries it per ``retry_options``."""

    _ACTION_TYPE = ActionType.CALL_ACTIVITY_WITH_RETRY

    def __init__(self, function_name: str, retry_options: RetryOptions, input_: Any = None) -> None:
        self.retry_options = retry_options
        super().__init__(function_name, input_)

    def _retry(self) -> RetryOptions | None:
        return self.retry_options


class _SubOrchestratorCall(_TypedAction):
    """What both sub-orchestration actions hold and send; only the type and retry options differ."""

    def __init__(
        self,
        function_name: str,
        _input: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
    ) -> None:
        self.function_name = function_name
        self._input = _dumps(_input)
        self.instance_id = instance_id
        self.version = version
        _require_name(function_name, "function_name")

    def _retry(self) -> RetryOptions | None:
        """The ``retryOptions`` to send: none here, the retry variant's own."""
        return None

    def to_json(self) -> dict[str, Any]:
        json_dict = _call_json(
            self._ACTION_TYPE._value_, self.function_name, self._input, self._retry()
        )
        json_dict["instanceId"] = self.instance_id
        json_dict["version"] = self.version
        return json_dict


class CallSubOrchestratorAction(_SubOrchestratorCall):
    """Start a sub-orchestration and wait for it."""

    _ACTION_TYPE = ActionType.CALL_SUB_ORCHESTRATOR


class CallSubOrchestratorWithRetryAction(_SubOrchestratorCall):
    """Start a sub-orchestration; the host retries it per ``retry_options``."""

    _ACTION_TYPE = ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY

    def __init__(
        self,
        function_name: str,
        retry_options: RetryOptions,
        _input: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
    ) -> None:
        self.retry_options = retry_options
        super().__init__(function_name, _input, instance_id, version)

    def _retry(self) -> RetryOptions | None:
        return self.retry_options


class ContinueAsNewAction(_TypedAction):
    """Restart the orchestration with a new input (history is truncated)."""

    _ACTION_TYPE = ActionType.CONTINUE_AS_NEW

    def __init__(self, input_: Any = None) -> None:
        self.input_ = _dumps(input_)

    def to_json(self) -> dict[str, Any]:
        return {"actionType": self._ACTION_TYPE._value_, "input": self.input_}


_UTC = timezone.utc


def _as_utc(fire_at: Any) -> datetime:
    """Normalize a timer deadline: naive means UTC, aware values are converted to UTC."""
    if isinstance(fire_at, datetime):
        if fire_at.tzinfo is None or fire_at.utcoffset() is None:
            return fire_at.replace(tzinfo=_UTC)
        return fire_at.astimezone(_UTC)
    if isinstance(fire_at, date):
        return datetime.combine(fire_at, time(), tzinfo=_UTC)
    raise ValueError(
        f"fireAt: expected a datetime, got {type(fire_at).__name__} {fire_at!r}; pass e.g. "
        "context.current_utc_datetime + timedelta(minutes=5)"
    )


class CreateTimerAction(_TypedAction):
    """A durable timer that fires at ``fire_at`` (always held as an aware UTC datetime)."""

    _ACTION_TYPE = ActionType.CREATE_TIMER

    def __init__(self, fire_at: datetime, is_cancelled: bool = False) -> None:
        self.fire_at: datetime = _as_utc(fire_at)
        self.is_cancelled = is_cancelled

    def to_json(self) -> dict[str, Any]:
        return {
            "actionType": self._ACTION_TYPE._value_,
            "fireAt": self.fire_at.strftime(DATETIME_STRING_FORMAT),
            "isCanceled": self.is_cancelled,
        }


class WaitForExternalEventAction(_TypedAction):
    """Wait for an event raised to this instance under ``external_event_name``."""

    _ACTION_TYPE = ActionType.WAIT_FOR_EXTERNAL_EVENT

    def __init__(self, external_event_name: str) -> None:
        self.external_event_name = external_event_name
        self.reason = "ExternalEvent"
        _require_name(external_event_name, "external_event_name")

    def to_json(self) -> dict[str, Any]:
        return {
            "actionType": self._ACTION_TYPE._value_,
            "externalEventName": self.external_event_name,
            "reason": self.reason,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WaitForExternalEventAction):
            return False
        return self.external_event_name == other.external_event_name and self.reason == other.reason

    __hash__ = Action.__hash__


def _entity_instance_id(entity_id: EntityId) -> str:
    if not entity_id:
        raise ValueError("entity_id cannot be empty")
    if not isinstance(entity_id, EntityId):
        raise TypeError(
            f"entityId must be an EntityId, got {type(entity_id).__name__}; "
            "use durable_functions.EntityId(name, key)"
        )
    return EntityId.get_scheduler_id(entity_id)


class _EntityOperationAction(_TypedAction):
    """An operation on an entity; the subclasses differ only in ``actionType``."""

    def __init__(self, entity_id: EntityId, operation: str, input_: Any = None) -> None:
        self.entity_id = entity_id
        self.instance_id = _entity_instance_id(entity_id)
        self.operation = operation
        self.input_ = _dumps(input_)

    def to_json(self) -> dict[str, Any]:
        return {
            "actionType": self._ACTION_TYPE._value_,
            "instanceId": self.instance_id,
            "operation": self.operation,
            "input": self.input_,
        }


class CallEntityAction(_EntityOperationAction):
    """Call an entity operation and wait for its result."""

    _ACTION_TYPE = ActionType.CALL_ENTITY


class SignalEntityAction(_EntityOperationAction):
    """Send an entity operation without waiting for a result."""

    _ACTION_TYPE = ActionType.SIGNAL_ENTITY


class CallHttpAction(_TypedAction):
    """A durable HTTP request performed by the host."""

    _ACTION_TYPE = ActionType.CALL_HTTP

    def __init__(self, http_request: DurableHttpRequest) -> None:
        self.http_request = http_request

    def to_json(self) -> dict[str, Any]:
        return {"actionType": self._ACTION_TYPE._value_, "httpRequest": self.http_request.to_json()}


class CompoundAction(Action):
    """A group of actions the host schedules together (schemas V2 and V3)."""

    def __init__(self, compound_tasks: Sequence[Action]) -> None:
        self.compound_tasks = list(compound_tasks)

    def to_json(self) -> dict[str, Any]:
        return {
            "actionType": int(self.action_type),
            "compoundActions": [action.to_json() for action in self.compound_tasks],
        }


class WhenAllAction(CompoundAction):
    """Children of ``task_all`` (also wraps retries and long timers)."""

    @property
    def action_type(self) -> int:
        return ActionType.WHEN_ALL


class WhenAnyAction(CompoundAction):
    """Children of ``task_any``."""

    @property
    def action_type(self) -> int:
        return ActionType.WHEN_ANY


class NoOpAction(Action):
    """Internal bookkeeping (retry timers and re-attempts); never sent to the host."""

    def __init__(self, metadata: str | None = None) -> None:
        self.metadata = metadata

    def action_type(self) -> int:  # type: ignore[override]  # a method, as in the reference
        raise TypeError("A NoOpAction has no action type: it is never sent to the host")

    def to_json(self) -> dict[str, Any]:
        raise TypeError("A NoOpAction cannot be serialized: it is never sent to the host")
