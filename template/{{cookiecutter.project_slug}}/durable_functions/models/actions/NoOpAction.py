"""Reference SDK import path: ``durable_functions.actions``'s NoOpAction."""

from __future__ import annotations

from durable_functions.actions import NoOpAction

__all__ = ["NoOpAction"]
