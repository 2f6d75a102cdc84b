"""The reference's module-level HTTP calls of the durable client (``post_async_request``, …).

They are also set as client attributes, so tests can swap them; they answer
``[status, parsed body]`` as the reference does, with the headers beside.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from durable_functions._http import HttpResponse, shared_client

INVOCATION_ID_HEADER = "X-Azure-Functions-InvocationId"
"""Correlates a client call with the calling function's invocation in host logs."""


class RawJson(str):
    """A request body that is already JSON text and must be sent as is, not encoded again."""

    __slots__ = ()


class HttpResult(list[Any]):
    """``[status_code, parsed_body]`` as the reference returns it, plus the response headers."""

    headers: dict[str, str]

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__([status, body])
        self.headers = headers or {}


def _encode_body(data: Any) -> bytes | None:
    # The reference hands `data` to aiohttp's `json=`, so text is encoded once more;
    # that double encoding is the wire format of start_new and signal_entity.
    if data is None:
        return None
    if isinstance(data, RawJson):
        return str(data).encode("utf-8")
    return json.dumps(data).encode("utf-8")


_Send = Callable[..., Awaitable[HttpResponse]]
"""Sends as ``HttpClient.request(method, url, *, body=, headers=)``; default: the shared client."""


async def post_async_request(
    url: str,
    data: Any = None,
    trace_parent: str | None = None,
    trace_state: str | None = None,
    function_invocation_id: str | None = None,
    *,
    send: _Send | None = None,
) -> HttpResult:
    """POST ``data`` (JSON-encoded; :class:`RawJson` as is; nothing for ``None``)."""
    headers: dict[str, str] = {}
    body = _encode_body(data)
    if body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    if trace_parent:
        headers["traceparent"] = trace_parent
    if trace_state:
        headers["tracestate"] = trace_state
    if function_invocation_id:
        headers[INVOCATION_ID_HEADER] = function_invocation_id
    response = await (send or shared_client().request)("POST", url, body=body, headers=headers)
    return HttpResult(response.status, response.json(), response.headers)


async def get_async_request(
    url: str,
    function_invocation_id: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    send: _Send | None = None,
) -> HttpResult:
    """GET ``url``; an empty body reads as ``""`` (as in the reference)."""
    sent = dict(headers or {})
    if function_invocation_id:
        sent[INVOCATION_ID_HEADER] = function_invocation_id
    response = await (send or shared_client().request)("GET", url, body=None, headers=sent)
    body = response.json()
    return HttpResult(response.status, "" if body is None else body, response.headers)


async def delete_async_request(
    url: str, function_invocation_id: str | None = None, *, send: _Send | None = None
) -> HttpResult:
    """DELETE ``url``."""
    sent = {INVOCATION_ID_HEADER: function_invocation_id} if function_invocation_id else {}
    response = await (send or shared_client().request)("DELETE", url, body=None, headers=sent)
    return HttpResult(response.status, response.json(), response.headers)
