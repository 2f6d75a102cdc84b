"""Reference SDK import path: ``durable_functions.status``'s OrchestrationRuntimeStatus."""

from __future__ import annotations

from durable_functions.status import OrchestrationRuntimeStatus

__all__ = ["OrchestrationRuntimeStatus"]
