"""Reference SDK import path: ``durable_functions.actions``'s WaitForExternalEventAction."""

from __future__ import annotations

from durable_functions.actions import WaitForExternalEventAction

__all__ = ["WaitForExternalEventAction"]
