"""Reference SDK import path: ``durable_functions.actions``'s CallSubOrchestratorWithRetryAction."""

from __future__ import annotations

from durable_functions.actions import CallSubOrchestratorWithRetryAction

__all__ = ["CallSubOrchestratorWithRetryAction"]
