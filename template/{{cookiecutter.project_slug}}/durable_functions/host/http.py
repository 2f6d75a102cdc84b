"""A small HTTP/1.1 server on asyncio streams: the local host's transport.

Stdlib only. Every handler error becomes a 500 response and a logged traceback;
no request can stop the server. Idle keep-alive connections do not keep it from
stopping (see ``HttpServer.close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("durable_functions.host")
MAX_BODY = 64 * 1024 * 1024
_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


def _never() -> bool:
    return False


@dataclass(slots=True, kw_only=True)
class Request:
    """A parsed request; header names are lower-cased."""

    method: str
    target: str
    path: str
    """The raw (still percent-encoded) path."""
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    peer_gone: Callable[[], bool] = _never
    """True once the client has closed its side of the connection (checked by long waits)."""

    @property
    def url(self) -> str:
        """The absolute request URL."""
        return self.base_url.rstrip("/") + self.target

    @property
    def segments(self) -> list[str]:
        """Percent-decoded path segments (an encoded ``/`` stays inside its segment)."""
        return [unquote(s) for s in self.path.split("/") if s]


@dataclass(slots=True, kw_only=True)
class Response:
    """A response to send; ``body`` is bytes already."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(
    status: int, value: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response with the right content type."""
    return Response(
        status=status,
        headers=[("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
        body=json.dumps(value).encode("utf-8"),
    )


def error_response(status: int, message: str) -> Response:
    """An error in the extension's JSON shape (``Message`` + ``ExceptionMessage``)."""
    return json_response(status, {"Message": message, "ExceptionMessage": message})


Handler = Callable[[Request], Awaitable[Response]]


class _BadRequest(Exception):
    pass


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, base_url: str
) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest("malformed request line")
    method, target, _version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("expect", "").lower() == "100-continue":
        # curl and others wait for this before sending a large body.
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequest("malformed chunk size") from exc
            if size < 0:
                raise _BadRequest("malformed chunk size")
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            total += size
            if total > MAX_BODY:
                raise _BadRequest("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise _BadRequest("malformed Content-Length") from exc
        if length < 0 or length > MAX_BODY:
            raise _BadRequest("bad Content-Length")
        body = await reader.readexactly(length)
    split = urlsplit(target)
    query = {k: v for k, v in parse_qsl(split.query, keep_blank_values=True)}
    return Request(
        method=method.upper(),
        target=target,
        path=split.path,
        query=query,
        headers=headers,
        body=body,
        base_url=base_url,
        # End of stream with nothing buffered: the client closed (or half-closed) the
        # connection, so nobody may read a late answer.
        peer_gone=lambda: reader.at_eof() or writer.is_closing(),
    )


def _encode(response: Response, *, keep_alive: bool, head_only: bool) -> bytes:
    reason = _REASONS.get(response.status, "Status")
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    names = set()
    for name, value in response.headers:
        if name.lower() in ("content-length", "connection", "transfer-encoding"):
            continue
        names.add(name.lower())
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + response.body


class HttpServer:
    """Serve one handler on ``host:port`` until closed."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task[Any], bool] = {}
        """Each open connection's task, and whether it is serving a request right now."""
        self.base_url = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections (port 0 picks a free port)."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=1 << 20)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.base_url = f"http://{shown}:{self.port}"

    async def close(self, grace: float = 2.0) -> None:
        """Stop accepting connections, then close the open ones.

        Idle keep-alive connections (the SDK's own client keeps one) are closed at
        once; requests being served get ``grace`` seconds to answer. Python 3.12+
        ``wait_closed`` waits for every connection, so without this a single idle
        client would keep the host from stopping.
        """
        if self._server is None:
            return
        self._server.close()
        for task, busy in list(self._connections.items()):
            if not busy:
                task.cancel()
        for timeout in (grace, 1.0):
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=timeout)
            for task in list(self._connections):
                task.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = False
        try:
            while True:
                try:
                    self._connections[task] = False
                    request = await _read_request(reader, writer, self.base_url)
                    self._connections[task] = True
                except _BadRequest as exc:
                    writer.write(
                        _encode(error_response(400, str(exc)), keep_alive=False, head_only=False)
                    )
                    await writer.drain()
                    return
                if request is None:
                    return
                try:
                    response = await self._handler(request)
                except Exception:
                    log.exception("unhandled error serving %s %s", request.method, request.path)
                    response = error_response(500, "internal error while serving the request")
                keep_alive = request.headers.get("connection", "").lower() != "close"
                writer.write(
                    _encode(response, keep_alive=keep_alive, head_only=request.method == "HEAD")
                )
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            # close() ends this connection. Ending normally, not cancelled: asyncio's
            # stream callback would log the CancelledError as an error (3.11).
            return
        except Exception:  # never let one connection take the server down
            log.exception("connection error")
        finally:
            self._connections.pop(task, None)
            with contextlib.suppress(Exception):
                writer.close()
