"""The local host's HTTP edge: the app's HTTP functions and the Durable management API.

Routes served:

* ``/<routePrefix>/<route>``: the app's HTTP functions, with route templates
  (``{name}``, ``{id?}``, ``{n:int}``, ``{*rest}``), methods and auth levels;
* ``/runtime/webhooks/durabletask/…`` and ``/durabletask/…``: the Durable Functions
  HTTP management API (same paths, status codes, headers and bodies as the
  extension), plus ``GET …/instances/{id}/history/raw`` for an instance's full
  raw history. Start-and-wait and restart-and-wait (``?timeout=``) answer as soon
  as the dispatcher reports the instance finished (:meth:`HostServer.instance_finished`),
  not at the next ``pollingInterval``.

The server is stdlib only (asyncio streams). Every handler error becomes a 500 response
and a logged traceback; no request can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from durable_functions._protocol import EventType, RuntimeStatus, parse_utc_timestamp
from durable_functions.errors import DurableError, HostError
from durable_functions.host import engine
from durable_functions.host.engine import (
    InstanceState,
)
from durable_functions.host.functions import AppFunction, LoadedApp
from durable_functions.host.settings import HostSettings
from durable_functions.host.store import SqliteStore

log = logging.getLogger("durable_functions.host")
MAX_BODY = 64 * 1024 * 1024
PEER_CHECK = 1.0
"""Longest a waiting request goes without checking that its client is still there (s)."""
_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
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


# --------------------------------------------------------------------------------------
# App routes: ASP.NET-style templates as the Functions host understands them
# --------------------------------------------------------------------------------------

_PARAM = re.compile(
    r"\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)((?::[^}=?]+(?:\([^)]*\))?)*)(\?)?(?:=([^}]*))?\}"
)
_CONSTRAINT = re.compile(r":([a-zA-Z]+)(?:\(([^)]*)\))?")


def _check_constraint(value: str, name: str, arg: str | None) -> bool:
    try:
        if name in ("int", "long"):
            int(value)
        elif name in ("double", "float", "decimal"):
            float(value)
        elif name == "bool":
            return value.lower() in ("true", "false")
        elif name == "alpha":
            return value.isalpha()
        elif name == "guid":
            uuid.UUID(value)
        elif name == "datetime":
            datetime.fromisoformat(value)
        elif name == "min" and arg is not None:
            return int(value) >= int(arg)
        elif name == "max" and arg is not None:
            return int(value) <= int(arg)
        elif name == "minlength" and arg is not None:
            return len(value) >= int(arg)
        elif name == "maxlength" and arg is not None:
            return len(value) <= int(arg)
        elif name == "length" and arg is not None:
            bounds = [int(x) for x in arg.split(",")]
            return bounds[0] <= len(value) <= bounds[-1]
        elif name == "regex" and arg is not None:
            return re.fullmatch(arg, value) is not None
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """A compiled route template such as ``users/{id:int}/{tab?}``."""

    template: str
    regex: re.Pattern[str]
    constraints: tuple[tuple[str, str, str | None], ...]
    defaults: tuple[tuple[str, str], ...]

    @classmethod
    def compile(cls, template: str) -> RouteTemplate:
        """Compile a template; literal segments match case-insensitively."""
        pieces: list[str] = []
        constraints: list[tuple[str, str, str | None]] = []
        defaults: list[tuple[str, str]] = []
        for segment in [s for s in template.strip("/").split("/") if s]:
            whole = _PARAM.fullmatch(segment)
            if whole:
                star, name, spec, optional, default = whole.groups()
                for cname, carg in _CONSTRAINT.findall(spec or ""):
                    constraints.append((name, cname.lower(), carg or None))
                if default is not None:
                    defaults.append((name, default))
                if star:
                    pieces.append(f"(?:/(?P<{name}>.*))?")
                elif optional or default is not None:
                    pieces.append(f"(?:/(?P<{name}>[^/]+))?")
                else:
                    pieces.append(f"/(?P<{name}>[^/]+)")
                continue
            regex = ""
            position = 0
            for match in _PARAM.finditer(segment):
                regex += re.escape(segment[position : match.start()])
                _star, name, spec, _optional, _default = match.groups()
                for cname, carg in _CONSTRAINT.findall(spec or ""):
                    constraints.append((name, cname.lower(), carg or None))
                regex += f"(?P<{name}>[^/]+?)"
                position = match.end()
            regex += re.escape(segment[position:])
            pieces.append("/" + regex)
        pattern = re.compile("".join(pieces) + "/?", re.IGNORECASE)
        return cls(template, pattern, tuple(constraints), tuple(defaults))

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for ``path`` (starting with ``/``), or None if it does not match."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        for name, value in self.defaults:
            values.setdefault(name, value)
        for name, cname, carg in self.constraints:
            if name in values and not _check_constraint(values[name], cname, carg):
                return None
        return values


# --------------------------------------------------------------------------------------
# Function keys
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionKeys:
    """Keys checked when ``--require-keys`` is on (``.durable/keys.json`` in the app folder)."""

    function_keys: Mapping[str, str]
    master_key: str

    @classmethod
    def load_or_create(cls, path: Path) -> FunctionKeys:
        """Read the keys file, creating it with random keys on first use."""
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                keys = {str(k): str(v) for k, v in dict(data.get("functionKeys") or {}).items()}
                master = str(data["masterKey"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise HostError(f"cannot read {path}: {exc}") from exc
            return cls(function_keys=keys, master_key=master)
        keys = {"default": secrets.token_urlsafe(24)}
        master = secrets.token_urlsafe(32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps({"functionKeys": keys, "masterKey": master}, indent=2) + "\n",
                encoding="utf-8",
            )
        except OSError as exc:
            raise HostError(f"cannot write {path}: {exc}") from exc
        return cls(function_keys=keys, master_key=master)

    def allows(self, auth_level: str, presented: str | None) -> bool:
        """Whether the presented key opens a function of that auth level."""
        if auth_level == "anonymous":
            return True
        if not presented:
            return False
        if secrets.compare_digest(presented, self.master_key):
            return True
        if auth_level == "admin":
            return False
        return any(secrets.compare_digest(presented, k) for k in self.function_keys.values())


# --------------------------------------------------------------------------------------
# Binding payload
# --------------------------------------------------------------------------------------


def client_binding_payload(base_url: str, hub: str) -> str:
    """The ``durableClient`` binding payload (protocol §8.1) for a host at ``base_url``."""
    base = f"{base_url}/runtime/webhooks/durabletask"
    common = f"taskHub={quote(hub)}&connection=Storage"
    instance = f"{base}/instances/INSTANCEID"
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    payload = {
        "taskHubName": hub,
        "creationUrls": {
            "createNewInstancePostUri": create,
            "createAndWaitOnNewInstancePostUri": (
                f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
            ),
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{common}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{common}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{common}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{common}",
            "purgeHistoryDeleteUri": f"{instance}?{common}",
            "restartPostUri": f"{instance}/restart?{common}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{common}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": f"{base_url}/durabletask/",
        "httpBaseUrl": base,
        "connectionName": None,
    }
    return json.dumps(payload)


# --------------------------------------------------------------------------------------
# Status payloads
# --------------------------------------------------------------------------------------


def _status_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_json_text(text: str | None) -> Any:
    """A stored JSON text as a value; text that is not JSON comes back as is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _event_name(value: Any) -> Any:
    try:
        return EventType(int(value)).name
    except (ValueError, TypeError):
        return value


_STATUS_BY_DTFX = {s.dtfx_value: s.value for s in RuntimeStatus}


def simplified_history(
    events: list[dict[str, Any]], *, show_input: bool, show_output: bool
) -> list[dict[str, Any]]:
    """The ``historyEvents`` of a status query (protocol §11), newest last."""
    scheduled: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.get("EventType") in (
            EventType.TaskScheduled,
            EventType.SubOrchestrationInstanceCreated,
        ):
            scheduled[int(event.get("EventId", -1))] = event
    result: list[dict[str, Any]] = []
    for source in events:
        kind = source.get("EventType")
        if kind in (
            EventType.OrchestratorStarted,
            EventType.OrchestratorCompleted,
            EventType.TaskScheduled,
            EventType.SubOrchestrationInstanceCreated,
        ):
            continue
        event = {k: v for k, v in source.items() if k not in ("EventId", "IsPlayed")}
        event["EventType"] = _event_name(kind)
        if kind == EventType.ExecutionStarted:
            event["FunctionName"] = event.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                event.pop(key, None)
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            origin = scheduled.get(int(event.pop("TaskScheduledId", -1)))
            if origin is not None:
                event["FunctionName"] = origin.get("Name")
                event["ScheduledTime"] = origin.get("Timestamp")
                if show_input:
                    event["Input"] = origin.get("Input")
        elif kind == EventType.TimerFired:
            event.pop("TimerId", None)
        elif kind == EventType.ExecutionCompleted:
            raw_status = event.get("OrchestrationStatus")
            if isinstance(raw_status, int):
                event["OrchestrationStatus"] = _STATUS_BY_DTFX.get(raw_status, raw_status)
        if not show_input:
            event.pop("Input", None)
        if "Result" in event:
            if show_output:
                event["Result"] = parse_json_text(event["Result"])
            else:
                event.pop("Result")
        result.append(event)
    return result


def status_payload(
    inst: InstanceState,
    *,
    show_input: bool = True,
    history: list[dict[str, Any]] | None = None,
    show_output: bool = False,
) -> dict[str, Any]:
    """The extension's ``StatusResponsePayload`` for one instance."""
    output: Any = parse_json_text(inst.output)
    payload: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.runtime_status.value,
        "input": parse_json_text(inst.input) if show_input else None,
        "customStatus": parse_json_text(inst.custom_status),
        "output": output,
        "createdTime": _status_time(inst.created_time),
        "lastUpdatedTime": _status_time(inst.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = simplified_history(
            history, show_input=show_input, show_output=show_output
        )
    return payload


def _flag(query: Mapping[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def _parse_time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc_timestamp(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise _ApiError(400, f"{name} is not a valid date/time: {text!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> datetime:
    return datetime.now(timezone.utc)


_TERMINAL_FOR_EVENTS = {
    RuntimeStatus.Completed,
    RuntimeStatus.Failed,
    RuntimeStatus.Terminated,
    RuntimeStatus.Canceled,
}
_MGMT_PREFIXES = ("/runtime/webhooks/durabletask", "/durabletask")


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Route:
    fn: AppFunction
    template: RouteTemplate
    rank: tuple[int, ...] = field(default_factory=tuple)


def _route_rank(template: str) -> tuple[int, ...]:
    """ASP.NET-like precedence: literal segments beat parameters, catch-alls lose."""
    rank = []
    for segment in [s for s in template.strip("/").split("/") if s]:
        match = _PARAM.fullmatch(segment)
        if match is None:
            rank.append(0 if "{" not in segment else 1)
        elif match.group(1):
            rank.append(4)
        elif match.group(4) or match.group(5) is not None:
            rank.append(3)
        elif match.group(3):
            rank.append(1)
        else:
            rank.append(2)
    return tuple(rank)


class HostServer:
    """Serves one loaded app and one task hub over HTTP."""

    def __init__(
        self,
        app: LoadedApp,
        store: SqliteStore,
        settings: HostSettings,
        *,
        wake: Callable[..., None] = lambda **_: None,
        keys: FunctionKeys | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.settings = settings
        self.keys = keys
        self._wake = wake
        self._http = HttpServer(self.handle)
        self._stores: dict[str, SqliteStore] = {store.hub.lower(): store}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        """Requests waiting for an instance to finish, by instance id (loop thread only)."""
        self._routes = sorted(
            (
                _Route(fn, RouteTemplate.compile(fn.route), _route_rank(fn.route))
                for fn in app.http_functions()
            ),
            key=lambda r: r.rank,
        )
        app.client_payload = self.client_payload

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        """Bind the listening socket."""
        self._loop = asyncio.get_running_loop()
        try:
            await self._http.start(host, port)
        except OSError as exc:
            raise HostError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    async def close(self) -> None:
        """Stop listening."""
        await self._http.close()

    def instance_finished(self, instance_id: str) -> None:
        """The instance reached a terminal status: wake the requests waiting for it.

        Called from the dispatcher's threads after the status is committed. A waiter
        registers before it first reads the store, so when this finds nobody waiting
        (the usual case: skip the loop wake-up), any later waiter reads the new status.
        """
        loop = self._loop
        if loop is None or instance_id not in self._waiters:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(self._wake_waiters, instance_id)

    def _wake_waiters(self, instance_id: str) -> None:
        for event in self._waiters.get(instance_id, ()):
            event.set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        return self._http.base_url

    @property
    def port(self) -> int:
        """The bound port."""
        return self._http.port

    def function_url(self, fn: AppFunction) -> str:
        """The public URL of an HTTP function, as the banner shows it."""
        prefix = f"/{self.settings.route_prefix}" if self.settings.route_prefix else ""
        return f"{self.base_url}{prefix}/{fn.route}"

    # -- the durable client binding ---------------------------------------------------------
    def client_payload(self, hub: str | None = None) -> str:
        """The ``durableClient`` binding payload (protocol §8.1), pointing at this host."""
        return client_binding_payload(self.base_url, hub or self.store.hub)

    def _check_status_body(self, instance_id: str, request: Request, hub: str) -> dict[str, str]:
        quoted = quote(instance_id, safe="")
        base = f"{request.base_url}/runtime/webhooks/durabletask/instances/{quoted}"
        common = f"taskHub={quote(hub)}&connection=Storage"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{common}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{common}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{common}",
            "purgeHistoryDeleteUri": f"{base}?{common}",
            "restartPostUri": f"{base}/restart?{common}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{common}",
        }

    def _check_status_response(self, instance_id: str, request: Request, hub: str) -> Response:
        body = self._check_status_body(instance_id, request, hub)
        return json_response(
            202, body, [("Location", body["statusQueryGetUri"]), ("Retry-After", "10")]
        )

    # -- dispatch -------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Route one request."""
        path = request.path
        lowered = path.lower()
        for prefix in _MGMT_PREFIXES:
            if lowered == prefix or lowered.startswith(prefix + "/"):
                rest = path[len(prefix) :]
                try:
                    return await self._management(request, rest)
                except _ApiError as exc:
                    return error_response(exc.status, exc.message)
                except DurableError as exc:
                    log.warning("management request failed: %s", exc)
                    return error_response(500, str(exc))
        if lowered in ("", "/"):
            return Response(
                status=200,
                headers=[("Content-Type", "text/plain; charset=utf-8")],
                body=b"Durable Functions local host is running.\n",
            )
        return await self._app_route(request)

    async def _app_route(self, request: Request) -> Response:
        prefix = self.settings.route_prefix
        segments = request.segments
        if prefix:
            parts = [p for p in prefix.split("/") if p]
            if [s.lower() for s in segments[: len(parts)]] != [p.lower() for p in parts]:
                return error_response(404, f"no function at {request.path}")
            segments = segments[len(parts) :]
        rest = "/" + "/".join(segments)
        matched_path = False
        for route in self._routes:
            values = route.template.match(rest)
            if values is None:
                continue
            matched_path = True
            if route.fn.methods and request.method not in route.fn.methods:
                continue
            return await self._invoke_http(route.fn, request, values)
        if matched_path:
            return error_response(405, f"method {request.method} is not allowed for {request.path}")
        return error_response(404, f"no function at {request.path}")

    async def _invoke_http(
        self, fn: AppFunction, request: Request, route_params: dict[str, str]
    ) -> Response:
        if self.keys is not None:
            presented = request.query.get("code") or request.headers.get("x-functions-key")
            if not self.keys.allows(fn.auth_level, presented):
                return error_response(401, f"function {fn.name!r} requires a key (?code=…)")
        try:
            result = await self.app.invoke_http(
                fn,
                method=request.method,
                url=request.url,
                headers=request.headers,
                params=request.query,
                route_params=route_params,
                body=request.body,
            )
        except Exception:
            log.exception("function %r raised", fn.name)
            return Response(status=500)
        return Response(status=result.status, headers=list(result.headers), body=result.body)

    # -- management API -------------------------------------------------------------------
    def _store(self, request: Request) -> SqliteStore:
        hub = request.query.get("taskHub") or self.store.hub
        key = hub.lower()
        if key not in self._stores:
            self._stores[key] = SqliteStore(self.store.path, hub)
        return self._stores[key]

    async def _management(self, request: Request, rest: str) -> Response:
        segments = [unquote(s) for s in rest.strip("/").split("/")] if rest.strip("/") else []
        method = request.method
        if not segments:
            raise _ApiError(404, "no such management route")
        head = segments[0].lower()
        store = self._store(request)
        if head == "orchestrators" and method == "POST" and len(segments) in (2, 3):
            return await self._start(
                request, store, segments[1], segments[2] if len(segments) == 3 else None
            )
        if head == "instances":
            if len(segments) == 1:
                if method == "GET":
                    return self._list(request, store)
                if method == "DELETE":
                    return self._purge_by(request, store)
            else:
                instance_id = segments[1]
                if len(segments) == 2:
                    if method == "GET":
                        return self._status(request, store, instance_id)
                    if method == "DELETE":
                        deleted = store.purge([instance_id])
                        if not deleted:
                            raise _ApiError(404, f"No instance with ID '{instance_id}' found.")
                        return json_response(200, {"instancesDeleted": deleted})
                action = segments[2].lower() if len(segments) > 2 else ""
                if method == "GET" and action == "history" and segments[3:] == ["raw"]:
                    return self._raw_history(store, instance_id)
                if method == "POST" and action == "raiseevent" and len(segments) == 4:
                    return self._raise_event(request, store, instance_id, segments[3])
                if method == "POST" and len(segments) == 3:
                    if action in ("terminate", "suspend", "resume"):
                        return self._control(request, store, instance_id, action)
                    if action == "rewind":
                        return self._rewind(request, store, instance_id)
                    if action == "restart":
                        return await self._restart(request, store, instance_id)
        if head == "entities":
            return self._entities(request, store, segments[1:])
        raise _ApiError(404, f"no management route for {method} {request.path}")

    def _known_orchestrator(self, name: str) -> str:
        try:
            return self.app.find("orchestrator", name).durable_name
        except DurableError as exc:
            known = ", ".join(self.app.known_orchestrators()) or "none"
            raise _ApiError(
                400,
                f"The function '{name}' doesn't exist, is disabled, or is not an "
                f"orchestrator function. Known orchestrators: {known}.",
            ) from exc

    @staticmethod
    def _json_body(request: Request) -> tuple[bool, Any]:
        """``(has_body, value)``; a malformed body is a 400."""
        if not request.body.strip():
            return False, None
        try:
            return True, json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _ApiError(400, f"the request body is not valid JSON: {exc}") from exc

    async def _start(
        self, request: Request, store: SqliteStore, name: str, instance_id: str | None
    ) -> Response:
        durable_name = self._known_orchestrator(name)
        has_body, value = self._json_body(request)
        instance_id = instance_id or uuid.uuid4().hex
        input_json = json.dumps(value) if has_body else None
        version = request.query.get("version") or self.settings.default_version
        new = engine.new_instance(
            durable_name,
            instance_id,
            input_json,
            now=_now(),
            execution_id=uuid.uuid4().hex,
            version=version,
        )
        if not store.create_instance(new):
            raise _ApiError(
                400, f"An instance with ID '{instance_id}' already exists and is still running."
            )
        self._wake(activities=False, entities=False)
        return await self._maybe_wait(request, store, instance_id)

    async def _maybe_wait(self, request: Request, store: SqliteStore, instance_id: str) -> Response:
        """With ``?timeout=``: answer when the instance finishes, else at the timeout.

        The dispatcher's finish notice wakes the wait at once; the store is also read
        every ``pollingInterval``, for instances finished by anything else. A client
        that has gone away ends the wait (within ``PEER_CHECK``).
        """
        timeout_text = request.query.get("timeout")
        if not timeout_text:
            return self._check_status_response(instance_id, request, store.hub)
        try:
            timeout = float(timeout_text)
            interval = float(request.query.get("pollingInterval") or 1)
        except ValueError as exc:
            raise _ApiError(400, "timeout and pollingInterval must be numbers of seconds") from exc
        if interval <= 0 or interval > timeout:
            raise _ApiError(400, "pollingInterval must be positive and not exceed timeout")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        woken = asyncio.Event()
        # Register before the first read, so a finish between the read and the wait wakes us.
        self._waiters.setdefault(instance_id, set()).add(woken)
        try:
            next_read = loop.time()
            while True:
                now = loop.time()
                if woken.is_set() or now >= next_read or now >= deadline:
                    woken.clear()
                    inst = store.get_instance(instance_id)
                    if inst is not None and inst.runtime_status.is_terminal:
                        return self._finished_response(inst)
                    next_read = now + interval
                if now >= deadline or request.peer_gone():
                    return self._check_status_response(instance_id, request, store.hub)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        woken.wait(), min(deadline, next_read, now + PEER_CHECK) - now
                    )
        finally:
            waiting = self._waiters.get(instance_id)
            if waiting is not None:
                waiting.discard(woken)
                if not waiting:
                    del self._waiters[instance_id]

    @staticmethod
    def _finished_response(inst: InstanceState) -> Response:
        """The answer of a wait whose instance finished: the output, or its status."""
        if inst.runtime_status is RuntimeStatus.Completed:
            return json_response(200, parse_json_text(inst.output))
        status = 500 if inst.runtime_status is RuntimeStatus.Failed else 200
        return json_response(status, status_payload(inst))

    def _require(self, store: SqliteStore, instance_id: str) -> InstanceState:
        inst = store.get_instance(instance_id)
        if inst is None:
            raise _ApiError(404, f"No instance with ID '{instance_id}' found.")
        return inst

    def _require_not_ended(
        self, store: SqliteStore, instance_id: str, gone: Callable[[RuntimeStatus], str]
    ) -> None:
        """404 if the instance is missing; 410 with ``gone(status)`` if it has ended."""
        status = self._require(store, instance_id).runtime_status
        if status in _TERMINAL_FOR_EVENTS:
            raise _ApiError(410, gone(status))

    def _status(self, request: Request, store: SqliteStore, instance_id: str) -> Response:
        inst = self._require(store, instance_id)
        show_history = _flag(request.query, "showHistory", False)
        payload = status_payload(
            inst,
            show_input=_flag(request.query, "showInput", True),
            history=store.get_history(instance_id) if show_history else None,
            show_output=_flag(request.query, "showHistoryOutput", False),
        )
        status = inst.runtime_status
        if status in (
            RuntimeStatus.Running,
            RuntimeStatus.Pending,
            RuntimeStatus.ContinuedAsNew,
            RuntimeStatus.Suspended,
        ):
            return json_response(202, payload, [("Location", request.url), ("Retry-After", "5")])
        if status is RuntimeStatus.Failed and _flag(
            request.query, "returnInternalServerErrorOnFailure", False
        ):
            return json_response(500, payload)
        return json_response(200, payload)

    def _raw_history(self, store: SqliteStore, instance_id: str) -> Response:
        inst = self._require(store, instance_id)
        return json_response(
            200,
            {
                "instanceId": inst.instance_id,
                "executionId": inst.execution_id,
                "name": inst.name,
                "runtimeStatus": inst.runtime_status.value,
                "history": store.get_history(instance_id),
            },
        )

    def _list_filters(self, request: Request) -> dict[str, Any]:
        query = request.query
        statuses = [s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()]
        known = {s.value.lower(): s.value for s in RuntimeStatus}
        unknown = [s for s in statuses if s.lower() not in known]
        if unknown:
            raise _ApiError(400, f"unknown runtimeStatus value(s): {', '.join(unknown)}")
        return {
            "created_from": _parse_time(query.get("createdTimeFrom"), "createdTimeFrom"),
            "created_to": _parse_time(query.get("createdTimeTo"), "createdTimeTo"),
            "statuses": [known[s.lower()] for s in statuses],
        }

    def _list(self, request: Request, store: SqliteStore) -> Response:
        filters = self._list_filters(request)
        try:
            top = int(request.query.get("top") or 100)
        except ValueError as exc:
            raise _ApiError(400, "top must be an integer") from exc
        if top < 1:
            raise _ApiError(400, "top must be at least 1")
        token = request.headers.get("x-ms-continuation-token") or None
        try:
            page = store.list_instances(
                **filters,
                prefix=request.query.get("instanceIdPrefix") or None,
                top=top,
                continuation=token,
            )
        except HostError as exc:
            raise _ApiError(400, str(exc)) from exc
        show_input = _flag(request.query, "showInput", True)
        body = [status_payload(i, show_input=show_input) for i in page.instances]
        headers = [("x-ms-continuation-token", page.continuation)] if page.continuation else []
        return json_response(200, body, headers)

    def _purge_by(self, request: Request, store: SqliteStore) -> Response:
        if not request.query.get("createdTimeFrom"):
            raise _ApiError(400, "createdTimeFrom is required to purge instances")
        filters = self._list_filters(request)
        if filters["created_to"] is None:
            filters["created_to"] = _now()
        ids: list[str] = []
        token: str | None = None
        while True:
            page = store.list_instances(**filters, top=500, continuation=token)
            ids.extend(i.instance_id for i in page.instances)
            token = page.continuation
            if token is None:
                break
        deleted = store.purge(ids) if ids else 0
        if not deleted:
            return json_response(404, {"instancesDeleted": 0})
        return json_response(200, {"instancesDeleted": deleted})

    def _raise_event(
        self, request: Request, store: SqliteStore, instance_id: str, name: str
    ) -> Response:
        self._require_not_ended(
            store,
            instance_id,
            lambda _: f"Instance with ID '{instance_id}' is gone: either completed or failed.",
        )
        content_type = request.headers.get("content-type", "").lower()
        if not content_type.startswith("application/json"):
            raise _ApiError(400, "Only application/json request content is supported")
        has_body, value = self._json_body(request)
        input_json = json.dumps(value) if has_body else None
        store.send([engine.raise_event_message(instance_id, name, input_json, now=_now())])
        self._wake(activities=False, entities=False)
        return Response(status=202)

    def _control(
        self, request: Request, store: SqliteStore, instance_id: str, action: str
    ) -> Response:
        self._require_not_ended(
            store,
            instance_id,
            lambda status: f"Instance with ID '{instance_id}' is already {status.value}.",
        )
        reason = request.query.get("reason")
        build = {
            "terminate": engine.terminate_message,
            "suspend": engine.suspend_message,
            "resume": engine.resume_message,
        }[action]
        store.send([build(instance_id, reason, now=_now())])
        self._wake(activities=False, entities=False)
        return Response(status=202)

    def _rewind(self, request: Request, store: SqliteStore, instance_id: str) -> Response:
        inst = self._require(store, instance_id)
        if inst.runtime_status is not RuntimeStatus.Failed:
            raise _ApiError(
                410, "The rewind operation is only supported on failed orchestration instances."
            )
        self._do_rewind(store, inst, request.query.get("reason"), depth=0)
        self._wake()
        return Response(status=202)

    def _do_rewind(
        self, store: SqliteStore, inst: InstanceState, reason: str | None, *, depth: int
    ) -> None:
        result = engine.rewind(
            inst,
            tuple(store.get_history(inst.instance_id)),
            reason,
            now=_now(),
            new_id=lambda: uuid.uuid4().hex,
        )
        children = tuple(getattr(result, "children", ()))
        rewind_ids = [
            c.instance.instance_id
            for c in children
            if (existing := store.get_instance(c.instance.instance_id)) is not None
            and existing.runtime_status is RuntimeStatus.Failed
            and existing.parent is not None
            and existing.parent.instance_id == inst.instance_id
        ]
        store.replace_history(
            result.instance,
            result.history,
            messages=result.messages,
            activities=result.activities,
            new_instances=[c for c in children if c.instance.instance_id not in rewind_ids],
        )
        # A failed sub-orchestration that still exists is rewound in place; its completion
        # then resumes this instance.
        for child_id in rewind_ids:
            child = store.get_instance(child_id)
            if child is not None and depth < 32:
                self._do_rewind(store, child, reason, depth=depth + 1)

    async def _restart(self, request: Request, store: SqliteStore, instance_id: str) -> Response:
        inst = store.get_instance(instance_id)
        if inst is None:
            raise _ApiError(400, f"No instance with ID '{instance_id}' found.")
        new_id = _flag(request.query, "restartWithNewInstanceId", True)
        target = uuid.uuid4().hex if new_id else instance_id
        if not new_id and not inst.runtime_status.is_terminal:
            raise _ApiError(
                400,
                f"Instance '{instance_id}' is still {inst.runtime_status.value}; "
                "it can only be restarted with the same id once it has finished.",
            )
        new = engine.restart(
            inst, now=_now(), execution_id=uuid.uuid4().hex, new_instance_id=target
        )
        if not store.create_instance(new):
            raise _ApiError(400, f"An instance with ID '{target}' is still running.")
        self._wake(activities=False, entities=False)
        return await self._maybe_wait(request, store, target)

    # -- entities ---------------------------------------------------------------------------
    def _entities(self, request: Request, store: SqliteStore, segments: list[str]) -> Response:
        method = request.method
        if method == "GET" and len(segments) <= 1:
            return self._list_entities(request, store, segments[0] if segments else None)
        if len(segments) != 2:
            raise _ApiError(404, "entity routes are entities/{name}/{key}")
        name, key = segments
        key = "" if key == "$" else key
        entity_id = engine.entity_scheduler_id(name, key)
        if method == "GET":
            entity = store.get_entity(entity_id)
            if entity is None or not entity.exists:
                raise _ApiError(404, f"No entity with ID '{entity_id}' found.")
            return json_response(200, parse_json_text(entity.state))
        if method in ("POST", "DELETE"):
            if method == "DELETE":
                operation, input_json = "delete", None
            else:
                operation = request.query.get("op") or ""
                if not operation:
                    raise _ApiError(400, "the op query parameter (operation name) is required")
                input_json = None
                if request.body:
                    content_type = request.headers.get("content-type", "").lower()
                    if content_type.startswith("application/json"):
                        _has, value = self._json_body(request)
                    else:
                        value = request.body.decode("utf-8", "replace")
                    input_json = json.dumps(value)
            message = engine.entity_signal_message(
                entity_id, operation, input_json, now=_now(), request_id=str(uuid.uuid4())
            )
            store.send_entity([message])
            self._wake(orchestrations=False, activities=False)
            return Response(status=202)
        raise _ApiError(404, f"no entity route for {method}")

    def _list_entities(self, request: Request, store: SqliteStore, name: str | None) -> Response:
        query = request.query
        try:
            top = int(query.get("top") or 100)
        except ValueError as exc:
            raise _ApiError(400, "top must be an integer") from exc
        fetch_state = _flag(query, "fetchState", False)
        found, token = store.list_entities(
            name=name,
            modified_from=_parse_time(query.get("lastOperationTimeFrom"), "lastOperationTimeFrom"),
            modified_to=_parse_time(query.get("lastOperationTimeTo"), "lastOperationTimeTo"),
            top=max(top, 1),
            continuation=request.headers.get("x-ms-continuation-token") or None,
        )
        body = []
        for entity in found:
            item: dict[str, Any] = {
                "entityId": {"name": entity.name, "key": entity.key},
                "lastOperationTime": _status_time(entity.last_modified or _now()),
            }
            if fetch_state:
                item["state"] = parse_json_text(entity.state)
            body.append(item)
        headers = [("x-ms-continuation-token", token)] if token else []
        return json_response(200, body, headers)
