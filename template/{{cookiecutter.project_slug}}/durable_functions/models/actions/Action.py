"""Reference SDK import path: ``durable_functions.actions``'s Action."""

from __future__ import annotations

from durable_functions.actions import Action

__all__ = ["Action"]
