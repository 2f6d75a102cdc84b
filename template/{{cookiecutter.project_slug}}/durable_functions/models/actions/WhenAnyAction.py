"""Reference SDK import path: ``durable_functions.actions``'s WhenAnyAction."""

from __future__ import annotations

from durable_functions.actions import WhenAnyAction

__all__ = ["WhenAnyAction"]
