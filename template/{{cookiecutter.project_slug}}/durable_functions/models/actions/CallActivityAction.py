"""Reference SDK import path: ``durable_functions.actions``'s CallActivityAction."""

from __future__ import annotations

from durable_functions.actions import CallActivityAction

__all__ = ["CallActivityAction"]
