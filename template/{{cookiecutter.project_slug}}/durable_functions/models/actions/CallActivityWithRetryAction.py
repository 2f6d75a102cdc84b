"""Reference SDK import path: ``durable_functions.actions``'s CallActivityWithRetryAction."""

from __future__ import annotations

from durable_functions.actions import CallActivityWithRetryAction

__all__ = ["CallActivityWithRetryAction"]
