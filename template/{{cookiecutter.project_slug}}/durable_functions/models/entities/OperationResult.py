"""Reference SDK import path: ``durable_functions.entity``'s OperationResult."""

from __future__ import annotations

from durable_functions.entity import OperationResult

__all__ = ["OperationResult"]
