"""Reference SDK import path: ``durable_functions.replay``'s OrchestratorState."""

from __future__ import annotations

from durable_functions.replay import OrchestratorState

__all__ = ["OrchestratorState"]
