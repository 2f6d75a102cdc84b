"""Model classes at the reference SDK's import path (``azure.durable_functions.models``).

Each class lives in one of this package's modules; the per-class submodules
(``models.Task``, ``models.DurableOrchestrationContext``, ...) mirror the
reference's files. As in the reference, the names below are imported from those
submodules, so ``models.RetryOptions`` stays the class even after
``import durable_functions.models.RetryOptions``. This package is not imported by
``import durable_functions``.
"""

from __future__ import annotations

import importlib
from typing import Any

from durable_functions.models.DurableEntityContext import DurableEntityContext
from durable_functions.models.DurableHttpRequest import DurableHttpRequest
from durable_functions.models.DurableOrchestrationBindings import DurableOrchestrationBindings
from durable_functions.models.DurableOrchestrationClient import DurableOrchestrationClient
from durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from durable_functions.models.OrchestratorState import OrchestratorState
from durable_functions.models.PurgeHistoryResult import PurgeHistoryResult
from durable_functions.models.RetryOptions import RetryOptions
from durable_functions.models.Task import TaskBase
from durable_functions.models.TokenSource import ManagedIdentityTokenSource

# Further submodules the reference loads as a side effect of the imports above.
_SUBMODULES = frozenset(
    {
        "DurableOrchestrationStatus",
        "EntityStateResponse",
        "FunctionContext",
        "ReplaySchema",
        "RpcManagementOptions",
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
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
