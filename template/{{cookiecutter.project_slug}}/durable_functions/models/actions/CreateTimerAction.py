"""Reference SDK import path: ``durable_functions.actions``'s CreateTimerAction."""

from __future__ import annotations

from durable_functions.actions import CreateTimerAction

__all__ = ["CreateTimerAction"]
