"""Reference SDK import path: ``durable_functions.entity``'s EntityId."""

from __future__ import annotations

from durable_functions.entity import EntityId

__all__ = ["EntityId"]
