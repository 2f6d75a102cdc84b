"""Reference SDK import path: ``durable_functions.replay``'s Orchestrator."""

from __future__ import annotations

from durable_functions.replay import Orchestrator

__all__ = ["Orchestrator"]
