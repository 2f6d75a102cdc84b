"""History event types at the reference SDK's import path (see ``durable_functions.history``)."""

from __future__ import annotations

from durable_functions.history import (
    HistoryEvent,
    HistoryEventType,
)

__all__ = ["HistoryEvent", "HistoryEventType"]
