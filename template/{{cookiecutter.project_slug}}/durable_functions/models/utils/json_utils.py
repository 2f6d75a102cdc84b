"""Functions for building wire dicts (kept at the reference SDK's import path)."""

from __future__ import annotations

import datetime
from typing import Any

from durable_functions._protocol import parse_timespan
from durable_functions.errors import DurableError, PayloadError

__all__ = [
    "DATETIME_STRING_FORMAT",
    "TimeSpanFormatError",
    "add_attrib",
    "add_datetime_attrib",
    "add_json_attrib",
    "parse_timespan_attrib",
]

DATETIME_STRING_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class TimeSpanFormatError(DurableError, ValueError):
    """A text is not a .NET ``TimeSpan`` in constant (``"c"``) format."""


def add_attrib(
    json_dict: dict[str, Any], object_: Any, attribute_name: str, alt_name: str | None = None
) -> None:
    """Copy ``object_.<attribute_name>`` into ``json_dict`` if the object has it."""
    if hasattr(object_, attribute_name):
        json_dict[alt_name or attribute_name] = getattr(object_, attribute_name)


def add_datetime_attrib(
    json_dict: dict[str, Any], object_: Any, attribute_name: str, alt_name: str | None = None
) -> None:
    """Copy a datetime attribute as wire text (``%Y-%m-%dT%H:%M:%S.%fZ``) if present."""
    if hasattr(object_, attribute_name):
        value = getattr(object_, attribute_name)
        json_dict[alt_name or attribute_name] = value.strftime(DATETIME_STRING_FORMAT)


def add_json_attrib(
    json_dict: dict[str, Any], object_: Any, attribute_name: str, alt_name: str | None = None
) -> None:
    """Copy ``attribute.to_json()`` if the attribute is present and truthy."""
    if hasattr(object_, attribute_name):
        value = getattr(object_, attribute_name)
        if value:
            json_dict[alt_name or attribute_name] = value.to_json()


def parse_timespan_attrib(from_str: str) -> datetime.timedelta:
    """Parse a .NET ``TimeSpan`` (``"1.02:03:04.5000000"``) into a ``timedelta``.

    Raises:
        TimeSpanFormatError: the text is not in that format.
    """
    try:
        return parse_timespan(from_str)
    except PayloadError:
        raise TimeSpanFormatError(
            f"Format of TimeSpan failed attempted conversion to timedelta: {from_str}"
        ) from None
