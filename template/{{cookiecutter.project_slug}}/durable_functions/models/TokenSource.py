"""Reference SDK import path: ``durable_functions.options``'s token sources."""

from __future__ import annotations

from durable_functions.options import (
    ManagedIdentityTokenSource,
    TokenSource,
)

__all__ = ["ManagedIdentityTokenSource", "TokenSource"]
