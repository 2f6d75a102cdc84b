"""Model classes at the reference SDK's import path (``azure.durable_functions.models``).

Each name lives in one of this package's modules; they are resolved lazily so that
importing ``durable_functions.models`` stays cheap. The reference's per-class
submodules (``models.Task``, ``models.history``, ...) are importable too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable_functions.client import DurableOrchestrationBindings, DurableOrchestrationClient
    from durable_functions.context import DurableOrchestrationContext
    from durable_functions.entity import DurableEntityContext
    from durable_functions.options import (
        DurableHttpRequest,
        ManagedIdentityTokenSource,
        RetryOptions,
    )
    from durable_functions.replay import OrchestratorState
    from durable_functions.status import OrchestrationRuntimeStatus, PurgeHistoryResult
    from durable_functions.tasks import TaskBase

_LAZY: dict[str, str] = {
    "DurableEntityContext": "durable_functions.entity",
    "DurableHttpRequest": "durable_functions.options",
    "DurableOrchestrationBindings": "durable_functions.client",
    "DurableOrchestrationClient": "durable_functions.client",
    "DurableOrchestrationContext": "durable_functions.context",
    "ManagedIdentityTokenSource": "durable_functions.options",
    "OrchestrationRuntimeStatus": "durable_functions.status",
    "OrchestratorState": "durable_functions.replay",
    "PurgeHistoryResult": "durable_functions.status",
    "RetryOptions": "durable_functions.options",
    "TaskBase": "durable_functions.tasks",
}

_SUBMODULES = frozenset(
    {
        "DurableEntityContext",
        "DurableHttpRequest",
        "DurableOrchestrationBindings",
        "DurableOrchestrationClient",
        "DurableOrchestrationContext",
        "DurableOrchestrationStatus",
        "EntityStateResponse",
        "FunctionContext",
        "OrchestrationRuntimeStatus",
        "OrchestratorState",
        "PurgeHistoryResult",
        "ReplaySchema",
        "RetryOptions",
        "RpcManagementOptions",
        "Task",
        "TokenSource",
        "actions",
        "entities",
        "history",
        "utils",
    }
)

__all__ = [
    "DurableEntityContext",
    "DurableHttpRequest",
    "DurableOrchestrationBindings",
    "DurableOrchestrationClient",
    "DurableOrchestrationContext",
    "ManagedIdentityTokenSource",
    "OrchestrationRuntimeStatus",
    "OrchestratorState",
    "PurgeHistoryResult",
    "RetryOptions",
    "TaskBase",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        # Only reached for names without a class of the same name above
        # (``Task``, ``history``, ...): the reference imports them eagerly.
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
