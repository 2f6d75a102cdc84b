"""Action types at the reference SDK's import path (defined in ``durable_functions.actions``)."""

from __future__ import annotations

# Imported from the per-class submodules, as the reference does, so that the
# package attribute stays the class even after ``import <package>.<Class>``.
from durable_functions.models.actions.Action import Action
from durable_functions.models.actions.ActionType import ActionType
from durable_functions.models.actions.CallActivityAction import CallActivityAction
from durable_functions.models.actions.CallActivityWithRetryAction import CallActivityWithRetryAction
from durable_functions.models.actions.CallHttpAction import CallHttpAction
from durable_functions.models.actions.CallSubOrchestratorAction import CallSubOrchestratorAction
from durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from durable_functions.models.actions.WaitForExternalEventAction import WaitForExternalEventAction
from durable_functions.models.actions.WhenAllAction import WhenAllAction
from durable_functions.models.actions.WhenAnyAction import WhenAnyAction

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
