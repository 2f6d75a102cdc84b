"""Reference SDK import path: ``durable_functions.actions``'s ActionType."""

from __future__ import annotations

from durable_functions.actions import ActionType

__all__ = ["ActionType"]
