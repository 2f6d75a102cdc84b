"""Reference SDK import path: ``durable_functions.actions``'s CompoundAction."""

from __future__ import annotations

from durable_functions.actions import CompoundAction

__all__ = ["CompoundAction"]
