"""Constants of the reference SDK, kept at the same import path and with the same values."""

from __future__ import annotations

from durable_functions._protocol import HTTP_ACTIVITY_NAME

__all__ = [
    "ACTIVITY_TRIGGER",
    "DATETIME_STRING_FORMAT",
    "DEFAULT_LOCAL_HOST",
    "DEFAULT_LOCAL_ORIGIN",
    "DURABLE_CLIENT",
    "ENTITY_TRIGGER",
    "HTTP_ACTION_NAME",
    "ORCHESTRATION_TRIGGER",
]

DEFAULT_LOCAL_HOST: str = "localhost:7071"
DEFAULT_LOCAL_ORIGIN: str = f"http://{DEFAULT_LOCAL_HOST}"
DATETIME_STRING_FORMAT: str = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How the SDK writes datetimes on the wire (timer ``fireAt``, ``new_uuid`` names)."""
HTTP_ACTION_NAME: str = HTTP_ACTIVITY_NAME
"""The activity name the host records for a durable HTTP call."""
ORCHESTRATION_TRIGGER: str = "orchestrationTrigger"
ACTIVITY_TRIGGER: str = "activityTrigger"
ENTITY_TRIGGER: str = "entityTrigger"
DURABLE_CLIENT: str = "durableClient"
