"""Reference SDK import path: ``durable_functions.status``'s EntityStateResponse."""

from __future__ import annotations

from durable_functions.status import EntityStateResponse

__all__ = ["EntityStateResponse"]
