"""Functions for building wire dicts (kept at the reference SDK's import path)."""

from __future__ import annotations

import datetime
import re
from typing import Any

from durable_functions.errors import DurableError

__all__ = [
    "DATETIME_STRING_FORMAT",
    "TimeSpanFormatError",
    "add_attrib",
    "add_datetime_attrib",
    "add_json_attrib",
    "parse_timespan_attrib",
]

DATETIME_STRING_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# .NET ``TimeSpan.ToString("c")``: ``[-][d.]hh:mm:ss[.fffffff]``.
_TIMESPAN = re.compile(
    r"^(?P<negative>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})"
    r"(?:\.(?P<ticks>\d{7}))?$"
)


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
    match = _TIMESPAN.match(from_str)
    if match is None:
        raise TimeSpanFormatError(
            f"Format of TimeSpan failed attempted conversion to timedelta: {from_str}"
        )
    span = datetime.timedelta(
        days=int(match["days"] or 0),
        hours=int(match["hours"]),
        minutes=int(match["minutes"]),
        seconds=int(match["seconds"]),
        microseconds=int(match["ticks"] or 0) // 10,
    )
    return -span if match["negative"] else span
