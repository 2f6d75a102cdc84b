"""Reference SDK import path: ``durable_functions.entity``'s Signal."""

from __future__ import annotations

from durable_functions.entity import Signal

__all__ = ["Signal"]
