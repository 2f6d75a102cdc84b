"""The local host's HTTP/1.1 edge: ``h11`` parses and frames, our asyncio loop serves.

``h11`` (the ``host`` extra; never needed by a deployed app) does the protocol:
request framing, chunked bodies, keep-alive rules (an HTTP/1.0 request without
``keep-alive`` gets its answer and a close). This module adds what a server needs
around it: timeouts for idle, slow-head and slow-body clients, a cap on open
connections, a body size limit, and closing that does not wait for idle clients.
Every handler error becomes a 500 and a logged traceback; no request can stop
the server. The handler (``server.HostServer.handle``) sees a plain ``Request``
with every header, and answers a ``Response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from types import ModuleType
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


def _require_h11() -> ModuleType:
    try:
        import h11
    except ImportError as exc:
        raise HostError(
            "the local host needs the h11 package: pip install 'durable-functions-py[host]' "
            "(a generated app has it in requirements-dev.txt)"
        ) from exc
    return h11


class _Closed(Exception):
    """The client went away, or broke the protocol past answering."""


class _Refused(Exception):
    """Answer ``status`` with ``message`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Connection:
    """One client connection: reads requests through ``h11``, writes answers."""

    def __init__(
        self,
        h11: ModuleType,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: Limits,
    ) -> None:
        self.h11 = h11
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.reader = reader
        self.writer = writer
        self.limits = limits
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self._timer: asyncio.TimerHandle | None = None
        self.timed_out = False

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

    async def _read(self) -> None:
        data = await self.reader.read(65536)
        if not data and self.timed_out:
            raise TimeoutError
        self.conn.receive_data(data)

    async def _event(self, per_read: float | None = None) -> Any:
        """The next ``h11`` event, reading as needed (each read armed with ``per_read``)."""
        h11 = self.h11
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise _Refused(*_refusal(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            if per_read is not None:
                self._arm(per_read)
            await self._read()

    async def next_request(self, base_url: str) -> Request | None:
        """The next request with its whole body; ``None`` once the client is done."""
        h11 = self.h11
        try:
            # Idle between requests: the first byte may take ``idle`` seconds; from
            # then on the whole head gets ``head`` seconds (a client dripping bytes
            # cannot hold the connection).
            if not self.conn.trailing_data[0]:
                self._arm(self.limits.idle)
                await self._read()
            self._arm(self.limits.head)
            event = await self._event()
        except TimeoutError:
            if self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]:
                return None  # idle: close quietly
            raise _Refused(408, "the request head did not arrive in time") from None
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise _Closed
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        length = headers.get("content-length")
        if length is not None and int(length.split(",")[0]) > MAX_BODY:
            raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
        if self.conn.they_are_waiting_for_100_continue:
            await self._send(
                h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                part = await self._event(per_read=self.limits.read)
            except TimeoutError:
                raise _Refused(408, "the request body stalled") from None
            if isinstance(part, h11.Data):
                total += len(part.data)
                if total > MAX_BODY:
                    raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
                chunks.append(bytes(part.data))
            elif isinstance(part, h11.EndOfMessage):
                break
            else:  # ConnectionClosed mid-body
                raise _Closed
        self._disarm()
        target = event.target.decode("latin-1")
        split = urlsplit(target)
        reader, writer = self.reader, self.writer
        return Request(
            method=event.method.decode("latin-1").upper(),
            target=target,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=b"".join(chunks),
            base_url=base_url,
            peer=self.peer,
            # End of stream with nothing buffered: the client closed (or half-closed)
            # the connection, so nobody may read a late answer.
            peer_gone=lambda: reader.at_eof() or writer.is_closing(),
        )

    async def _send(self, *events: Any) -> None:
        # One write: the head and body leave in one segment, not one per event.
        self.writer.write(b"".join(self.conn.send(event) or b"" for event in events))
        await self._drain()

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
        h11 = self.h11
        headers = [
            (name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
            for name, value in response.headers
            if name.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        headers.append((b"Content-Length", str(len(response.body)).encode()))
        try:
            start = h11.Response(
                status_code=response.status, headers=headers, reason=_reason(response.status)
            )
        except h11.LocalProtocolError as exc:  # a header the app set is not sendable
            log.error("cannot send the response's headers: %s", exc)
            start = h11.Response(
                status_code=500, headers=[(b"Content-Length", b"0")], reason=_reason(500)
            )
            response = Response(status=500)
        body = [] if head_only or not response.body else [h11.Data(data=response.body)]
        await self._send(start, *body, h11.EndOfMessage())
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
            return True
        return False

    async def refuse(self, status: int, message: str) -> None:
        """Answer an error and close (when the protocol state still allows an answer)."""
        h11 = self.h11
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = json.dumps({"Message": message, "ExceptionMessage": message}).encode()
        headers = [
            (b"Content-Type", b"application/json; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode()),
            (b"Connection", b"close"),
        ]
        # h11 refuses to send on a connection whose client broke the protocol: write raw.
        head = (
            f"HTTP/1.1 {status} ".encode()
            + _reason(status)
            + b"\r\n"
            + b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        )
        self.writer.write(head + b"\r\n" + body)
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
        self._h11: ModuleType | None = None
        self.base_url = ""
        """Where this machine reaches the server (``127.0.0.1`` for a wildcard bind)."""
        self.public_url = ""
        """Where other machines reach it (the same as ``base_url`` unless a wildcard bind)."""
        self.exposed = False
        """Whether other machines can connect (bound to a non-loopback address)."""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections (port 0 picks a free port)."""
        self._h11 = _require_h11()
        self._server = await asyncio.start_server(self._serve, host, port, limit=1 << 20)
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
        assert task is not None and self._h11 is not None
        connection = _Connection(self._h11, reader, writer, self.limits)
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


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def _reason(status: int) -> bytes:
    return _REASONS.get(status, b"Status")


def _refusal(exc: Exception) -> tuple[int, str]:
    """The status and message for a request ``h11`` cannot parse."""
    text = str(exc)
    status = int(getattr(exc, "error_status_hint", 400))
    if "exceeded" in text.lower():
        return 431, f"the request head is larger than {MAX_HEAD} bytes"
    if "chunk" in text.lower():
        return 400, f"malformed chunk size ({text})"
    return status, f"malformed request: {text}"


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
