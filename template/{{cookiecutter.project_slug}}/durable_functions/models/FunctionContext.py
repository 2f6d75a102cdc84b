"""Reference SDK import path: ``durable_functions.context``'s FunctionContext."""

from __future__ import annotations

from durable_functions.context import FunctionContext

__all__ = ["FunctionContext"]
