"""Entity wire types at the reference SDK's import path (see ``durable_functions.entity``)."""

from __future__ import annotations

from durable_functions.entity import (
    EntityState,
    OperationResult,
    RequestMessage,
    Signal,
)

__all__ = ["EntityState", "OperationResult", "RequestMessage", "Signal"]
