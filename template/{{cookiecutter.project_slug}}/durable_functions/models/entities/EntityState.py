"""Reference SDK import path: ``durable_functions.entity``'s EntityState."""

from __future__ import annotations

from durable_functions.entity import EntityState

__all__ = ["EntityState"]
