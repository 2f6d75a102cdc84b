"""Reference SDK import path: ``durable_functions.actions``'s CallSubOrchestratorAction."""

from __future__ import annotations

from durable_functions.actions import CallSubOrchestratorAction

__all__ = ["CallSubOrchestratorAction"]
