"""Reference SDK import path: ``durable_functions.actions``'s WhenAllAction."""

from __future__ import annotations

from durable_functions.actions import WhenAllAction

__all__ = ["WhenAllAction"]
