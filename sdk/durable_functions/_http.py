"""A small async HTTP/1.1 client on asyncio streams, for the durable client.

The durable client only talks JSON to the Functions host's local RPC endpoint
(``http://127.0.0.1:<port>/durabletask/``), so the standard library is enough and
the SDK keeps ``azure-functions`` as its only runtime dependency. Connections are
kept alive and pooled per origin and per event loop (asyncio streams belong to
the loop that opened them).

::

    client = shared_client()
    response = await client.request("GET", "http://127.0.0.1:7071/durabletask/instances/")
    response.status, response.headers["content-type"], response.json()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import weakref
from collections import deque
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from durable_functions.errors import HostError, HostTimeoutError

__all__ = [
    "HttpClient",
    "HttpResponse",
    "call_timeout",
    "close_shared_client",
    "requote",
    "shared_client",
]

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection (the reference uses the same)."""
TOTAL_TIMEOUT = 240.0
"""Seconds for a whole request (the reference's 4 minutes)."""
MAX_CONNECTIONS = 30
"""Concurrent connections per origin (the reference's aiohttp limit)."""

_CALL_TIMEOUT: ContextVar[float | None] = ContextVar("durable_call_timeout", default=None)


@contextlib.contextmanager
def call_timeout(seconds: float | None) -> Iterator[None]:
    """Give each client call made inside the block ``seconds`` instead of the 240 s total.

    The client's methods keep the reference's signatures, so the timeout of a call is
    set around it (``None`` restores the default)::

        with call_timeout(5):
            status = await client.get_status(instance_id)  # HostTimeoutError after 5 s
    """
    if seconds is not None and not seconds > 0:
        raise ValueError(f"a call timeout must be a positive number of seconds, not {seconds}")
    token = _CALL_TIMEOUT.set(seconds)
    try:
        yield
    finally:
        _CALL_TIMEOUT.reset(token)


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = "=&%/:?@!$'()*+,;~"


def requote(url: str) -> str:
    """Percent-encode what may not appear raw in a URL, keeping what is already encoded.

    The client builds URLs by inserting ids and names unescaped, as the reference
    does; like ``yarl`` under ``aiohttp``, this makes them valid on the way out
    (``i 1`` becomes ``i%201`` in a path, a query space becomes ``+``).
    """
    parts = urlsplit(url)
    path = quote(_STRAY_PERCENT.sub("%25", parts.path), safe=_PATH_SAFE)
    query = quote(_STRAY_PERCENT.sub("%25", parts.query), safe=_QUERY_SAFE + " ").replace(" ", "+")
    return f"{path or '/'}{'?' + query if query else ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse:
    """A complete response; header names are lower-cased."""

    status: int
    """The status code."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers (names lower-cased; repeated headers joined with ``, ``)."""
    body: bytes = b""
    """The raw body."""

    def json(self) -> Any:
        """The body as JSON; ``None`` when empty, the text itself when it is not JSON.

        The host answers some errors in plain text; handing that text on lets the
        caller put it in an error message instead of failing to decode it.
        """
        if not self.body.strip():
            return None
        text = self.body.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


class _Connection:
    """One open HTTP/1.1 connection."""

    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the server before answering."""


class HttpClient:
    """Keep-alive connection pools, one per origin, for one event loop."""

    def __init__(
        self,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_connections = max_connections
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._limits: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._closed = False
        self._keeper: AsyncGenerator[None, None] | None = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request and read the whole response.

        Raises:
            HostError: the host cannot be reached, times out or answers garbage.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HostError(f"Cannot send a request to {url!r}: only http(s) URLs are supported.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = (parts.scheme, parts.hostname, port)
        host_header = parts.netloc.rpartition("@")[2]
        head = [f"{method} {requote(url)} HTTP/1.1", f"Host: {host_header}"]
        head += ["Accept: application/json", "User-Agent: durable-functions-py"]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body or b'')}")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")

        limit = self._limits.get(origin)
        if limit is None:
            limit = self._limits[origin] = asyncio.Semaphore(self.max_connections)
        timeout = _CALL_TIMEOUT.get() or self.total_timeout
        try:
            # The timeout covers the wait for a pooled connection too: it is the call's.
            return await asyncio.wait_for(self._limited(limit, origin, payload, method), timeout)
        except asyncio.TimeoutError as exc:
            raise HostTimeoutError(
                f"The durable host at {_origin_text(origin)} did not answer {method} "
                f"{parts.path} within {timeout:g} s."
            ) from exc
        except (OSError, asyncio.IncompleteReadError, _StaleConnection) as exc:
            raise HostError(
                f"Cannot reach the durable host at {_origin_text(origin)} ({exc or type(exc)}). "
                "Is the Functions host (or `durable start`) running?"
            ) from exc

    async def _limited(
        self, limit: asyncio.Semaphore, origin: tuple[str, str, int], payload: bytes, method: str
    ) -> HttpResponse:
        async with limit:
            return await self._exchange(origin, payload, method)

    async def _exchange(
        self, origin: tuple[str, str, int], payload: bytes, method: str
    ) -> HttpResponse:
        idle = self._idle.setdefault(origin, deque())
        while idle:
            # A pooled connection may have been closed by the server while idle;
            # nothing was processed then, so the request is sent again on a new one.
            conn = idle.pop()
            if conn.writer.is_closing() or conn.reader.at_eof():
                conn.close()
                continue
            try:
                return await self._send(origin, conn, payload, method, reused=True)
            except _StaleConnection:
                continue
        conn = await self._connect(origin)
        return await self._send(origin, conn, payload, method, reused=False)

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        context = ssl.create_default_context() if scheme == "https" else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, limit=2**20), self.connect_timeout
        )
        return _Connection(reader, writer)

    async def _send(
        self,
        origin: tuple[str, str, int],
        conn: _Connection,
        payload: bytes,
        method: str,
        *,
        reused: bool,
    ) -> HttpResponse:
        try:
            conn.writer.write(payload)
            await conn.writer.drain()
            status_line = await conn.reader.readline()
            if not status_line:
                raise asyncio.IncompleteReadError(b"", None)
        except (OSError, asyncio.IncompleteReadError) as exc:
            conn.close()
            if reused:
                raise _StaleConnection(str(exc)) from exc
            raise
        except BaseException:  # cancelled (timeout): the connection is mid-request
            conn.close()
            raise
        try:
            response, keep_alive = await self._read_response(conn, status_line, method)
        except BaseException:
            conn.close()
            raise
        if keep_alive and not self._closed:
            self._idle.setdefault(origin, deque()).append(conn)
        else:
            conn.close()
        return response

    async def _read_response(
        self, conn: _Connection, status_line: bytes, method: str
    ) -> tuple[HttpResponse, bool]:
        reader = conn.reader
        while True:
            version, status = _parse_status_line(status_line)
            headers = await _read_headers(reader)
            if status != 100:
                break
            status_line = await reader.readline()  # skip "100 Continue"
        connection = headers.get("connection", "").lower()
        keep_alive = (version == "HTTP/1.1" and "close" not in connection) or (
            "keep-alive" in connection
        )
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError as exc:
                raise HostError(f"Bad Content-Length from the host: {exc}") from exc
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            keep_alive = False
        return HttpResponse(status=status, headers=headers, body=body), keep_alive

    async def aclose(self) -> None:
        """Close every idle connection; the client stays usable (it reconnects)."""
        for idle in self._idle.values():
            while idle:
                conn = idle.pop()
                conn.close()
                with contextlib.suppress(OSError):
                    await conn.writer.wait_closed()


def _origin_text(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


def _parse_status_line(line: bytes) -> tuple[str, int]:
    parts = line.decode("latin-1").strip().split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HostError(f"The durable host sent a malformed status line: {line[:100]!r}")
    return parts[0], int(parts[1])


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise HostError(f"The durable host sent a malformed header line: {line[:100]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readline()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise HostError(f"The durable host sent a bad chunk size: {size_line[:40]!r}") from exc
        if size == 0:
            # Skip trailers up to the blank line that ends the message.
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HttpClient] = (
    weakref.WeakKeyDictionary()
)


def shared_client() -> HttpClient:
    """The process-wide client of the running event loop (created on first use).

    Its connections are closed when the loop shuts down (``asyncio.run`` and
    pytest-asyncio finalize async generators then), so a loop per call or per
    test leaves no open socket behind.
    """
    loop = asyncio.get_running_loop()
    client = _SHARED.get(loop)
    if client is None:
        client = _SHARED[loop] = HttpClient()
        keeper = _close_at_loop_shutdown(client)
        client._keeper = keeper
        # Starting the generator registers it with the loop's async-generator hooks.
        asyncio.ensure_future(keeper.asend(None), loop=loop)
    return client


async def _close_at_loop_shutdown(client: HttpClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        client._closed = True
        await client.aclose()


async def close_shared_client() -> None:
    """Close the running loop's pooled connections (call before the loop ends)."""
    client = _SHARED.pop(asyncio.get_running_loop(), None)
    if client is not None:
        client._closed = True
        await client.aclose()
