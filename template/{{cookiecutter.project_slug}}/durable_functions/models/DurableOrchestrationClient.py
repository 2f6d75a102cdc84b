"""Reference SDK import path: ``durable_functions.client``'s DurableOrchestrationClient."""

from __future__ import annotations

from durable_functions.client import DurableOrchestrationClient

__all__ = ["DurableOrchestrationClient"]
