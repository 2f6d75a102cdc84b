"""Reference SDK import path: ``durable_functions.app``'s v2 decorators."""

from __future__ import annotations

from durable_functions.app import (
    Blueprint,
    DFApp,
)

__all__ = ["Blueprint", "DFApp"]
