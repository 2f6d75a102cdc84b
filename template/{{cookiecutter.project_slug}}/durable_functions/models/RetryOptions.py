"""Reference SDK import path: ``durable_functions.options``'s RetryOptions."""

from __future__ import annotations

from durable_functions.options import RetryOptions

__all__ = ["RetryOptions"]
