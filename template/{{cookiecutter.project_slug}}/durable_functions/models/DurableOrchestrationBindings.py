"""Reference SDK import path: ``durable_functions.client``'s DurableOrchestrationBindings."""

from __future__ import annotations

from durable_functions.client import DurableOrchestrationBindings

__all__ = ["DurableOrchestrationBindings"]
