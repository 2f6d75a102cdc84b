"""Reference SDK import path: ``durable_functions.actions``'s ContinueAsNewAction."""

from __future__ import annotations

from durable_functions.actions import ContinueAsNewAction

__all__ = ["ContinueAsNewAction"]
