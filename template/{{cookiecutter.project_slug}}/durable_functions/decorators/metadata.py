"""Reference SDK import path: ``durable_functions.app``'s binding classes."""

from __future__ import annotations

from durable_functions.app import (
    ActivityTrigger,
    DurableClient,
    EntityTrigger,
    OrchestrationTrigger,
)

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
ENTITY_TRIGGER = "entityTrigger"
DURABLE_CLIENT = "durableClient"

__all__ = [
    "ACTIVITY_TRIGGER",
    "DURABLE_CLIENT",
    "ENTITY_TRIGGER",
    "ORCHESTRATION_TRIGGER",
    "ActivityTrigger",
    "DurableClient",
    "EntityTrigger",
    "OrchestrationTrigger",
]
