"""Action types at the reference SDK's import path (defined in ``durable_functions.actions``)."""

from __future__ import annotations

from durable_functions.actions import (
    Action,
    ActionType,
    CallActivityAction,
    CallActivityWithRetryAction,
    CallHttpAction,
    CallSubOrchestratorAction,
    CreateTimerAction,
    WaitForExternalEventAction,
    WhenAllAction,
    WhenAnyAction,
)

__all__ = [
    "Action",
    "ActionType",
    "CallActivityAction",
    "CallActivityWithRetryAction",
    "CallHttpAction",
    "CallSubOrchestratorAction",
    "CreateTimerAction",
    "WaitForExternalEventAction",
    "WhenAllAction",
    "WhenAnyAction",
]
