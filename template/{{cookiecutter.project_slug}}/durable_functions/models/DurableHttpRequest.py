"""Reference SDK import path: ``durable_functions.options``'s DurableHttpRequest."""

from __future__ import annotations

from durable_functions.options import DurableHttpRequest

__all__ = ["DurableHttpRequest"]
