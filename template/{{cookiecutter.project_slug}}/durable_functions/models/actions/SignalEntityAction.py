"""Reference SDK import path: ``durable_functions.actions``'s SignalEntityAction."""

from __future__ import annotations

from durable_functions.actions import SignalEntityAction

__all__ = ["SignalEntityAction"]
