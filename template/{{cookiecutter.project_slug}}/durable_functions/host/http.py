"""The local host's HTTP/1.1 edge: a small server on asyncio streams, standard library only.

It parses requests by the rules of RFC 9112 that matter for a local server: one
``Content-Length`` (or ``Transfer-Encoding: chunked``, never both), header names
that are tokens (no obsolete folding), HTTP/1.0 closed after its answer unless
it asks for keep-alive, ``Expect: 100-continue`` answered. Around that: timeouts
for idle, slow-head and slow-body clients (one timer per connection), a write
timeout, a cap on open connections, size limits, a lingering close after a
refusal, and closing that does not wait for idle clients. Every handler error
becomes a 500 and a logged traceback; no request can stop the server. The
handler (``server.HostServer.handle``) sees a plain ``Request`` with every
header, and answers a ``Response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from durable_functions.errors import HostError

log = logging.getLogger("durable_functions.host")
MAX_BODY = 64 * 1024 * 1024
MAX_HEAD = 64 * 1024
"""Largest request line plus headers (bytes); more is a 431."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """How long the edge waits for a client, and how many it serves at once."""

    idle: float = 30.0
    """Seconds a keep-alive connection may sit between requests before it is closed."""
    head: float = 10.0
    """Seconds from a request's first byte to the end of its headers (a slow client: 408)."""
    read: float = 30.0
    """Seconds the body may pause between two reads (408 after that)."""
    write: float = 30.0
    """Seconds a client may take to take in an answer before the connection is dropped."""
    connections: int = 512
    """Open connections at most; one more is answered 503 and closed."""
    lock: float = 5.0
    """Seconds a management request waits for another writer's store lock (then 503)."""

    @classmethod
    def parse(cls, text: str) -> Limits:
        """Limits from ``name=value`` pairs such as ``idle=5,head=2`` (the environment's
        ``DURABLE_HTTP_LIMITS``); names not given keep their defaults.

        Raises:
            HostError: an unknown name or a value that is not a positive number.
        """
        values: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            name = name.strip()
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if name not in cls.__dataclass_fields__ or not number > 0:
                raise HostError(
                    f"DURABLE_HTTP_LIMITS: {item!r} is not name=positive number with a name "
                    f"among {', '.join(cls.__dataclass_fields__)}"
                )
            values[name] = number
        merged: dict[str, Any] = {**asdict(cls()), **values}
        merged["connections"] = max(1, int(merged["connections"]))
        return cls(**merged)


def _never() -> bool:
    return False


@dataclass(slots=True, kw_only=True)
class Request:
    """A parsed request; header names are lower-cased (repeated ones joined with ``, ``)."""

    method: str
    target: str
    path: str
    """The raw (still percent-encoded) path."""
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    peer: str = ""
    """The client's address (empty when unknown)."""
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

    @property
    def from_loopback(self) -> bool:
        """Whether the client is on this machine (a loopback address)."""
        return is_loopback(self.peer)


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


def error_response(
    status: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """An error in the extension's JSON shape (``Message`` + ``ExceptionMessage``)."""
    return json_response(status, {"Message": message, "ExceptionMessage": message}, headers)


Handler = Callable[[Request], Awaitable[Response]]


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP or ``localhost``) is this machine only."""
    if address.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack bind
    return bool((mapped or ip).is_loopback)


class _Closed(Exception):
    """The client went away, or broke the protocol past answering."""


class _Refused(Exception):
    """Answer ``status`` with ``message`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection:
    """One client connection: parses requests by the rules of RFC 9112, writes answers."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self._timer: asyncio.TimerHandle | None = None
        self.timed_out = False
        self.keep_alive = True
        self.answering = False
        """A response has begun: a refusal can no longer be sent."""

    def _arm(self, seconds: float, *, writing: bool = False) -> None:
        """End what the connection waits for after ``seconds``: one timer, no task per read.

        A read then sees the end of the stream (``TimeoutError``); a write is aborted.
        """
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire, writing)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, writing: bool) -> None:
        self.timed_out = True
        if writing:
            self.writer.transport.abort()
        else:
            self.reader.feed_eof()

    async def _head(self) -> str | None:
        """The request line and headers; ``None`` when the client is done (or idle too long)."""
        reader = self.reader
        self._arm(self.limits.idle)
        try:
            first = await reader.readexactly(1)
        except asyncio.IncompleteReadError:
            return None  # closed, or idle past the timeout: close quietly
        # From the first byte on, the whole head gets ``head`` seconds (a client that
        # drips bytes cannot hold the connection).
        self._arm(self.limits.head)
        try:
            rest = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            if self.timed_out:
                raise _Refused(408, "the request head did not arrive in time") from None
            raise _Closed from None
        except asyncio.LimitOverrunError:
            raise _Refused(431, f"the request head is larger than {MAX_HEAD} bytes") from None
        return (first + rest).decode("latin-1")

    async def _read(self, size: int) -> bytes:
        """Exactly ``size`` body bytes; each read may pause ``read`` seconds at most."""
        chunks = []
        while size:
            self._arm(self.limits.read)
            data = await self.reader.read(min(size, 1 << 16))
            if not data:
                if self.timed_out:
                    raise _Refused(408, "the request body stalled")
                raise _Closed
            chunks.append(data)
            size -= len(data)
        return b"".join(chunks)

    async def _line(self) -> bytes:
        self._arm(self.limits.read)
        try:
            return await self.reader.readuntil(b"\r\n")
        except asyncio.IncompleteReadError:
            if self.timed_out:
                raise _Refused(408, "the request body stalled") from None
            raise _Closed from None
        except asyncio.LimitOverrunError:
            raise _Refused(400, "malformed chunk size (line too long)") from None

    async def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_text = (await self._line())[:-2].split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise _Refused(400, f"malformed chunk size ({size_text[:20]!r})")
            size = int(size_text, 16)
            if size == 0:
                while await self._line() != b"\r\n":  # trailers: read and dropped
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
            chunks.append(await self._read(size))
            if await self._read(2) != b"\r\n":
                raise _Refused(400, "malformed chunk (no CRLF after its data)")

    async def next_request(self, base_url: str) -> Request | None:
        """The next request with its whole body; ``None`` once the client is done."""
        head = await self._head()
        if head is None:
            return None
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
            raise _Refused(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            status = 505 if _VERSION.fullmatch(version) else 400
            raise _Refused(status, f"unsupported protocol version {version[:20]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not _TOKEN.fullmatch(name):  # also refuses obsolete line folding
                raise _Refused(400, "malformed header line")
            name = name.lower()
            value = value.strip(" \t")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        if version == "HTTP/1.1":
            self.keep_alive = "close" not in tokens
        else:
            self.keep_alive = "keep-alive" in tokens
        coding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        length = 0
        if coding is not None:
            if length_text is not None:  # a request smuggling pattern: refuse it
                raise _Refused(400, "both Content-Length and Transfer-Encoding")
            if coding.strip().lower() != "chunked":
                raise _Refused(501, "only the chunked transfer coding is supported")
        elif length_text is not None:
            values = {v.strip() for v in length_text.split(",")}
            text = values.pop()
            if values or not text.isdigit() or not text.isascii():
                raise _Refused(400, "malformed Content-Length")
            length = int(text)
            if length > MAX_BODY:
                raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
        expects = headers.get("expect", "").lower() == "100-continue"
        if expects and (coding is not None or length) and version == "HTTP/1.1":
            # curl and others wait for this before sending a large body.
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self._chunked() if coding is not None else await self._read(length)
        self._disarm()
        split = urlsplit(target)
        reader, writer = self.reader, self.writer
        return Request(
            method=method.upper(),
            target=target,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            base_url=base_url,
            peer=self.peer,
            # End of stream with nothing buffered: the client closed (or half-closed)
            # the connection, so nobody may read a late answer.
            peer_gone=lambda: reader.at_eof() or writer.is_closing(),
        )

    async def _drain(self) -> None:
        """Wait until the client takes the answer in (``write`` seconds, then abort)."""
        if self.writer.transport.get_write_buffer_size():
            self._arm(self.limits.write, writing=True)
            try:
                await self.writer.drain()
            finally:
                self._disarm()

    async def answer(self, response: Response, *, head_only: bool) -> bool:
        """Send ``response``; True when the connection can serve another request."""
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        for name, value in response.headers:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
                log.error("not sending the header %r: it would break the response", name)
                return await self.answer(Response(status=500), head_only=head_only)
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(response.body)}")
        lines.append("Connection: keep-alive" if self.keep_alive else "Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.answering = True
        self.writer.write(head if head_only or not response.body else head + response.body)
        await self._drain()
        self.answering = False
        return self.keep_alive

    async def refuse(self, status: int, message: str) -> None:
        """Answer an error and close (unless an answer has begun already)."""
        if self.answering:
            return
        body = json.dumps({"Message": message, "ExceptionMessage": message}).encode()
        head = (
            f"HTTP/1.1 {status} {_reason(status)}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self._drain()
        await self._linger()

    async def _linger(self) -> None:
        """Half-close, then drop what the client still sends (for at most a second).

        Closing with unread input makes the kernel reset the connection, which can
        discard the answer before the client reads it.
        """
        with contextlib.suppress(OSError, RuntimeError):
            if self.writer.can_write_eof():
                self.writer.write_eof()
        self._arm(1.0)
        try:
            for _ in range(64):
                if not await self.reader.read(65536):
                    break
        except (OSError, TimeoutError):
            pass
        finally:
            self._disarm()


class HttpServer:
    """Serve one handler on ``host:port`` until closed."""

    def __init__(self, handler: Handler, limits: Limits | None = None) -> None:
        self._handler = handler
        self.limits = limits or Limits()
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task[Any], bool] = {}
        """Each open connection's task, and whether it is serving a request right now."""
        self.base_url = ""
        """Where this machine reaches the server (``127.0.0.1`` for a wildcard bind)."""
        self.public_url = ""
        """Where other machines reach it (the same as ``base_url`` unless a wildcard bind)."""
        self.exposed = False
        """Whether other machines can connect (bound to a non-loopback address)."""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections (port 0 picks a free port)."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        wildcard = host in ("0.0.0.0", "", "::")
        shown = "127.0.0.1" if wildcard else host
        self.base_url = f"http://{_url_host(shown)}:{self.port}"
        self.exposed = not is_loopback(host)
        self.public_url = self.base_url
        if wildcard:
            self.public_url = f"http://{_url_host(_this_machine())}:{self.port}"

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
        connection = _Connection(reader, writer, self.limits)
        full = len(self._connections) >= self.limits.connections
        if not full:
            self._connections[task] = False
        try:
            try:
                if full:
                    raise _Refused(503, "too many open connections; retry later")
                await self._requests(connection)
            except _Refused as exc:
                await connection.refuse(exc.status, str(exc))
        except (_Closed, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # close() ends this connection. Ending normally, not cancelled: asyncio's
            # stream callback would log the CancelledError as an error (3.11).
            pass
        except Exception:  # never let one connection take the server down
            log.exception("connection error")
        finally:
            connection._disarm()
            self._connections.pop(task, None)
            with contextlib.suppress(Exception):
                writer.close()

    async def _requests(self, connection: _Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        while True:
            self._connections[task] = False
            request = await connection.next_request(self.base_url)
            if request is None:
                return
            self._connections[task] = True
            try:
                response = await self._handler(request)
            except Exception:
                log.exception("unhandled error serving %s %s", request.method, request.path)
                response = error_response(500, "internal error while serving the request")
            if not await connection.answer(response, head_only=request.method == "HEAD"):
                return


_REASONS = {s.value: s.phrase for s in HTTPStatus}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""RFC 9110 ``token``: methods and header names."""
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_VERSION = re.compile(r"HTTP/\d\.\d")


def _reason(status: int) -> str:
    return _REASONS.get(status, "Status")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _this_machine() -> str:
    """This machine's address on its main network (no packet is sent), else its name."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        address = str(probe.getsockname()[0])
        if not is_loopback(address) and address != "0.0.0.0":
            return address
    return socket.gethostname()
