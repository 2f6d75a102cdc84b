"""Reference SDK import path: ``durable_functions.history``'s HistoryEventType."""

from __future__ import annotations

from durable_functions.history import HistoryEventType

__all__ = ["HistoryEventType"]
