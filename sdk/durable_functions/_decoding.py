"""Decoding the JSON payloads orchestrations receive: their input and task results.

Most payloads are plain JSON without a custom-object envelope and without a requested
type; those skip :func:`~durable_functions.serialization.df_loads`'s machinery.
"""

from __future__ import annotations

import json
from typing import Any

from durable_functions.errors import SerializationError, TaskFailedError
from durable_functions.serialization import df_loads

__all__ = ["decode_entity_response", "decode_result", "loads"]

_RAW_DECODE = json.JSONDecoder().raw_decode


def loads(text: Any, expected_type: Any) -> Any:
    """``df_loads`` with a fast path for plain JSON (no custom-object envelope, no type)."""
    if expected_type is None and type(text) is str and "__class__" not in text:
        try:
            value, end = _RAW_DECODE(text)
        except ValueError:
            pass  # df_loads raises the proper error
        else:
            if end == len(text):
                return value
    return df_loads(text, expected_type)


def decode_result(text: Any, expected_type: Any) -> Any:
    """The value of a completion event's payload (``None`` when there is none)."""
    return None if text is None else loads(text, expected_type)


def decode_entity_response(text: Any, expected_type: Any) -> tuple[bool, Any]:
    """(is_error, value) of an entity call's response event."""
    response = json.loads(text)
    if not isinstance(response, dict) or "result" not in response:
        raise SerializationError(f"Malformed entity response {text!r}: expected a 'result'")
    result = response["result"]
    is_error = "exceptionType" in response
    if result is None:
        return (True, TaskFailedError("None")) if is_error else (False, None)
    if isinstance(result, str) and result.strip().startswith("Timeout value of"):
        is_error = True
        result = json.dumps(result)
    value = loads(result, expected_type)
    if is_error:
        return True, TaskFailedError(str(value))
    return False, value


def trigger_body(context: Any) -> Any:
    """What a handler was given: the worker's trigger context carries it in ``.body``."""
    body = getattr(context, "body", None)
    return context if body is None else body
