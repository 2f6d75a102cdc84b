"""Reference SDK import path: ``durable_functions.status``'s PurgeHistoryResult."""

from __future__ import annotations

from durable_functions.status import PurgeHistoryResult

__all__ = ["PurgeHistoryResult"]
