"""Durable Functions for Python.

A drop-in replacement for ``azure.durable_functions`` 1.7: change
``import azure.durable_functions as df`` to ``import durable_functions as df``.

Names are resolved lazily (PEP 562) so that ``import durable_functions`` stays
cheap: ``azure.functions`` and the client are only imported when first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable_functions.app import Blueprint, DFApp
    from durable_functions.client import DurableOrchestrationClient
    from durable_functions.context import DurableOrchestrationContext
    from durable_functions.entity import DurableEntityContext, Entity, EntityId
    from durable_functions.errors import (
        DurableError,
        DurableFunctionsCompatibilityWarning,
        FailureDetails,
        NonDeterminismError,
        TaskFailedError,
    )
    from durable_functions.options import ManagedIdentityTokenSource, RetryOptions
    from durable_functions.replay import Orchestrator
    from durable_functions.status import OrchestrationRuntimeStatus

    # Importable at top level but, as in the reference, not part of ``__all__``.
    from durable_functions.validation import (
        validate_extension_bundles as validate_extension_bundles,
    )
    from durable_functions.validation import (
        validate_v1_programming_model as validate_v1_programming_model,
    )

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "Blueprint": "durable_functions.app",
    "DFApp": "durable_functions.app",
    "DurableEntityContext": "durable_functions.entity",
    "DurableError": "durable_functions.errors",
    "DurableFunctionsCompatibilityWarning": "durable_functions.errors",
    "DurableOrchestrationClient": "durable_functions.client",
    "DurableOrchestrationContext": "durable_functions.context",
    "Entity": "durable_functions.entity",
    "EntityId": "durable_functions.entity",
    "FailureDetails": "durable_functions.errors",
    "ManagedIdentityTokenSource": "durable_functions.options",
    "NonDeterminismError": "durable_functions.errors",
    "OrchestrationRuntimeStatus": "durable_functions.status",
    "Orchestrator": "durable_functions.replay",
    "RetryOptions": "durable_functions.options",
    "TaskFailedError": "durable_functions.errors",
    "validate_extension_bundles": "durable_functions.validation",
    "validate_v1_programming_model": "durable_functions.validation",
}

__all__ = [
    "Blueprint",
    "DFApp",
    "DurableEntityContext",
    "DurableError",
    "DurableFunctionsCompatibilityWarning",
    "DurableOrchestrationClient",
    "DurableOrchestrationContext",
    "Entity",
    "EntityId",
    "FailureDetails",
    "ManagedIdentityTokenSource",
    "NonDeterminismError",
    "OrchestrationRuntimeStatus",
    "Orchestrator",
    "RetryOptions",
    "TaskFailedError",
]


# Subpackages the reference makes reachable as attributes (``df.models.Task``, ...).
_SUBMODULES = frozenset(
    {"constants", "decorators", "entity", "models", "openai_agents", "orchestrator"}
)

# As in the reference, ``openai_agents`` is listed only where its optional packages are
# installed; looked up without importing them (it imports on first use).
if all(importlib.util.find_spec(name) is not None for name in ("agents", "openai")):
    __all__.append("openai_agents")


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'durable_functions' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
