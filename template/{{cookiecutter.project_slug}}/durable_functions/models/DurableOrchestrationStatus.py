"""Reference SDK import path: ``durable_functions.status``'s DurableOrchestrationStatus."""

from __future__ import annotations

from durable_functions.status import DurableOrchestrationStatus

__all__ = ["DurableOrchestrationStatus"]
