"""Reference SDK import path: ``durable_functions.actions``'s CallEntityAction."""

from __future__ import annotations

from durable_functions.actions import CallEntityAction

__all__ = ["CallEntityAction"]
