"""Reference SDK import path: ``durable_functions.history``'s HistoryEvent."""

from __future__ import annotations

from durable_functions.history import HistoryEvent

__all__ = ["HistoryEvent"]
