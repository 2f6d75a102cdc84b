"""History event types at the reference SDK's import path (see ``durable_functions.history``)."""

from __future__ import annotations

# Imported from the per-class submodules, as the reference does, so that the
# package attribute stays the class even after ``import <package>.<Class>``.
from durable_functions.models.history.HistoryEvent import HistoryEvent
from durable_functions.models.history.HistoryEventType import HistoryEventType

__all__ = ["HistoryEvent", "HistoryEventType"]
