"""Reference SDK import path: ``durable_functions.actions``'s ReplaySchema."""

from __future__ import annotations

from durable_functions.actions import ReplaySchema

__all__ = ["ReplaySchema"]
