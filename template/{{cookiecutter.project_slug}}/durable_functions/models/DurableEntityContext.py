"""Reference SDK import path: ``durable_functions.entity``'s DurableEntityContext."""

from __future__ import annotations

from typing import Any

from durable_functions.entity import DurableEntityContext
from durable_functions.serialization import df_loads


def from_json_util(json_str: str, expected_type: type | None = None) -> Any:
    """Decode JSON text written by the SDK (kept for code importing it from here)."""
    return df_loads(json_str, expected_type=expected_type)


__all__ = ["DurableEntityContext", "from_json_util"]
