"""Reference SDK import path: ``durable_functions.context``'s DurableOrchestrationContext."""

from __future__ import annotations

from durable_functions.context import DurableOrchestrationContext

__all__ = ["DurableOrchestrationContext"]
