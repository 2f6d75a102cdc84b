"""Reference SDK import path: ``durable_functions.actions``'s CallHttpAction."""

from __future__ import annotations

from durable_functions.actions import CallHttpAction

__all__ = ["CallHttpAction"]
