"""List queries of the durable client: their URLs, and reading every page of one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

CONTINUATION_HEADER = "x-ms-continuation-token"
"""Request/response header the host pages list queries with."""


async def read_all_pages(
    get: Callable[..., Awaitable[list[Any]]],
    url: str,
    unexpected: Callable[[list[Any]], Exception],
) -> list[Any]:
    """The items of every page of ``GET url``, following the continuation tokens.

    ``get`` is the client's GET (its answer is ``[status, body]`` with ``headers``);
    an answer other than 200 raises ``unexpected(answer)``.
    """
    items: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        if token:
            response = await get(url, headers={CONTINUATION_HEADER: token})
        else:
            response = await get(url)
        if response[0] != 200:
            raise unexpected(response)
        items.extend(response[1] or [])
        headers: Mapping[str, str] = getattr(response, "headers", None) or {}
        token = headers.get(CONTINUATION_HEADER)
        # An empty, "null" or repeated token means the last page was read.
        if not token or token == "null" or token in seen:
            return items
        seen.add(token)


def format_query_datetime(value: datetime) -> str:
    """A datetime as the client writes it in a query (UTC, microseconds, ``Z``)."""
    if value.tzinfo is not None:  # the wire text ends in "Z": convert to UTC first
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entities_url(
    base_url: str,
    entity_name: str | None,
    last_operation: tuple[datetime | None, datetime | None],
    *,
    fetch_state: bool,
    page_size: int,
    task_hub_name: str | None,
) -> str:
    """The ``GET entities/[name]`` query of ``list_entities`` below the RPC base URL."""
    query = [("top", str(page_size)), ("fetchState", str(fetch_state).lower())]
    for name, when in zip(("lastOperationTimeFrom", "lastOperationTimeTo"), last_operation):
        if when is not None:
            query.append((name, format_query_datetime(when)))
    if task_hub_name:
        query.append(("taskHub", task_hub_name))
    path = f"entities/{quote(entity_name, safe='')}" if entity_name else "entities/"
    return f"{base_url}{path}?{urlencode(query)}"
