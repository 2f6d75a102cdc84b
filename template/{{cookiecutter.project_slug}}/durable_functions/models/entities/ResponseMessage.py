"""Reference SDK import path: ``durable_functions.entity``'s ResponseMessage."""

from __future__ import annotations

from durable_functions.entity import ResponseMessage

__all__ = ["ResponseMessage"]
