"""Reference SDK import path: ``durable_functions.serialization``'s JSON codec."""

from __future__ import annotations

from durable_functions.serialization import (
    df_dumps,
    df_loads,
)

__all__ = ["df_dumps", "df_loads"]
