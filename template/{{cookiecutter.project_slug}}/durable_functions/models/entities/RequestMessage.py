"""Reference SDK import path: ``durable_functions.entity``'s RequestMessage."""

from __future__ import annotations

from durable_functions.entity import RequestMessage

__all__ = ["RequestMessage"]
