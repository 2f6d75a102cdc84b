"""The local host's HTTP edge: the app's HTTP functions and the Durable management API.

Routes served:

* ``/<routePrefix>/<route>``: the app's HTTP functions, with route templates
  (``{name}``, ``{id?}``, ``{n:int}``, ``{*rest}``), methods and auth levels
  (``routes.py``);
* ``/runtime/webhooks/durabletask/…`` and ``/durabletask/…``: the Durable Functions
  HTTP management API (``api.py``: same paths, status codes, headers and bodies as
  the extension), plus ``GET …/instances/{id}/history/raw`` for an instance's full
  raw history. Start-and-wait and restart-and-wait (``?timeout=``) answer as soon
  as the dispatcher reports the instance finished (:meth:`HostServer.instance_finished`),
  not at the next ``pollingInterval``.

The transport is ``http.py``; the wire payloads are ``payloads.py``. Store work never
runs on the event loop: management requests run on two small thread pools (reads for
``GET``, writes for the rest), whose store calls wait at most ``Limits.lock`` (5 s) for another
writer's lock and then answer 503 with ``Retry-After``. So ``GET /`` and status queries
answer while another process holds the SQLite file's write lock.

With function keys required (``--require-keys``) the management API needs the task
hub's system key or the master key (``?code=`` or ``x-functions-key``), as in Azure;
the RPC prefix ``/durabletask/`` stays open to clients on this machine, like the
Functions host's local RPC endpoint that the durable client calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from durable_functions._readonly import ReadOnly
from durable_functions.errors import HostError, ManagementError
from durable_functions.host.api import (
    ApiResponse,
    ManagementApi,
    Wait,
    finished_answer,
    management_rest,
)
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock, SystemClock
from durable_functions.host.dashboard import Dashboard, is_dashboard
from durable_functions.host.engine import InstanceState
from durable_functions.host.functions import AppFunction, LoadedApp
from durable_functions.host.http import (
    HttpServer,
    Limits,
    Request,
    Response,
    error_response,
    json_response,
)
from durable_functions.host.origin import OriginGuard
from durable_functions.host.payloads import (
    client_binding_payload,
    parse_json_text,
    simplified_history,
    status_payload,
)
from durable_functions.host.routes import FunctionKeys, RouteTemplate, route_rank
from durable_functions.host.settings import HostSettings
from durable_functions.host.store import SqliteStore

__all__ = [
    "FunctionKeys",
    "HostServer",
    "HttpServer",
    "Limits",
    "Request",
    "Response",
    "RouteTemplate",
    "client_binding_payload",
    "error_response",
    "json_response",
    "parse_json_text",
    "simplified_history",
    "status_payload",
]

log = logging.getLogger("durable_functions.host")
PEER_CHECK = 1.0
"""Longest a waiting request goes without checking that its client is still there (s)."""
EDGE_THREADS = 4
"""Threads per pool (reads, writes) that run the management API's store work."""
_First = tuple[InstanceState | None, int]
"""A wait's first read of its instance, and the finish-notice count taken before it."""
_HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


@dataclass(slots=True)
class _Route:
    fn: AppFunction
    template: RouteTemplate
    rank: tuple[int, ...] = field(default_factory=tuple)


@dataclass(eq=False, repr=False)
class HostServer:
    """Serves one loaded app and one task hub over HTTP."""

    app: LoadedApp
    store: SqliteStore
    settings: HostSettings
    _: KW_ONLY
    wake: Callable[..., None] = lambda **_: None
    keys: FunctionKeys | None = None
    clock: Clock = field(default_factory=SystemClock)
    allowed_hosts: tuple[str, ...] = ()
    """More ``Host`` names the management API and the dashboard accept (see ``origin.py``)."""
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self.guard = OriginGuard.for_address("127.0.0.1", self.allowed_hosts)
        self.dashboard = Dashboard(self.store.hub, self.function_rows)
        self._http = HttpServer(self.handle, self.limits)
        bound, wait = self.store.bound_waits, (self.limits.lock,)
        self._reads = ThreadPoolExecutor(
            EDGE_THREADS, "durable-edge-read", initializer=bound, initargs=wait
        )
        self._writes = ThreadPoolExecutor(
            EDGE_THREADS, "durable-edge-write", initializer=bound, initargs=wait
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        """Requests waiting for an instance to finish, by instance id (loop thread only)."""
        self._finishes = 0
        """How many finish notices arrived: a waiter that saw it change since its first
        read of the store reads again (its instance may have finished in between)."""
        self._routes = sorted(
            (
                _Route(fn, RouteTemplate.compile(fn.route), route_rank(fn.route))
                for fn in self.app.http_functions()
            ),
            key=lambda r: r.rank,
        )
        self.app.client_payload = self.client_payload
        self.api = ManagementApi(
            backends=self._hub,
            clock=self.clock,
            resolve_orchestrator=lambda name: self.app.find("orchestrator", name).durable_name,
            known_orchestrators=self.app.known_orchestrators,
            default_version=self.settings.default_version,
            wake=lambda **kinds: self.wake(**kinds),
            system_key=self.keys.system_key if self.keys is not None else None,
        )

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        """Bind the listening socket."""
        self._loop = asyncio.get_running_loop()
        self.guard = OriginGuard.for_address(host, self.allowed_hosts)
        try:
            await self._http.start(host, port)
        except OSError as exc:
            raise HostError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    async def close(self) -> None:
        """Stop listening; store work still running finishes on its threads."""
        await self._http.close()
        for pool in (self._reads, self._writes):
            pool.shutdown(wait=False, cancel_futures=True)

    def instance_finished(self, instance_id: str) -> None:
        """The instance reached a terminal status: wake the requests waiting for it.

        Called from the dispatcher's threads after the status is committed. A waiter
        registers before it first reads the store, so when this finds nobody waiting
        (the usual case: skip the loop wake-up), any later waiter reads the new status.
        """
        self._finishes += 1
        loop = self._loop
        if loop is None or instance_id not in self._waiters:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(self._wake_waiters, instance_id)

    def _wake_waiters(self, instance_id: str) -> None:
        for event in self._waiters.get(instance_id, ()):
            event.set()

    base_url = ReadOnly[str]("_http.base_url", "``http://127.0.0.1:<port>`` once started.")
    public_url = ReadOnly[str](
        "_http.public_url",
        "Where other machines reach the host (``base_url`` unless bound to every address).",
    )
    exposed = ReadOnly[bool](
        "_http.exposed", "Whether the host is bound to a non-loopback address."
    )
    port = ReadOnly[int]("_http.port", "The bound port.")

    def function_url(self, fn: AppFunction) -> str:
        """The public URL of an HTTP function, as the banner shows it."""
        prefix = f"/{self.settings.route_prefix}" if self.settings.route_prefix else ""
        return f"{self.public_url}{prefix}/{fn.route}"

    def function_rows(self) -> list[dict[str, Any]]:
        """The app's functions as the banner lists them (the dashboard's Functions page)."""
        return [
            {
                "name": fn.name,
                "durableName": fn.durable_name,
                "kind": fn.kind,
                "trigger": fn.trigger_type,
                "methods": list(fn.methods or ()),
                "authLevel": fn.auth_level if fn.kind == "http" else None,
                "url": self.function_url(fn) if fn.kind == "http" else None,
            }
            for fn in self.app.functions
        ]

    # -- the durable client binding ---------------------------------------------------------
    def client_payload(self, hub: str | None = None) -> str:
        """The ``durableClient`` binding payload (protocol §8.1), pointing at this host."""
        code = self.keys.system_key if self.keys is not None else None
        return client_binding_payload(self.base_url, hub or self.store.hub, code=code)

    # -- dispatch -------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Route one request."""
        if self._http.exposed:
            # Links in answers point where the client came from, not at 127.0.0.1.
            host = request.headers.get("host", "")
            if _HOST_HEADER.fullmatch(host):
                request.base_url = f"http://{host}"
        rest = management_rest(request.path)
        dashboard = is_dashboard(request.path)
        if rest is not None or dashboard:
            refusal = self.guard.refusal(request.method, request.headers)
            if refusal is not None:
                return error_response(403, refusal)
        if dashboard:
            return self.dashboard.handle(request)
        if rest is not None:
            return await self._management(request)
        lowered = request.path.lower()
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
            result = await self.app.invoke_http(fn, request, route_params)
        except Exception:
            log.exception("function %r raised", fn.name)
            return Response(status=500)
        return Response(status=result.status, headers=list(result.headers), body=result.body)

    # -- management API -------------------------------------------------------------------
    def _hub(self, hub: str | None) -> tuple[Backend, str]:
        """The store of task hub ``hub`` (this host's own when ``None``).

        This host runs one task hub: an instance started in another would stay Pending
        forever, so any other name is refused (hub names match in any case, as in Azure).

        Raises:
            ManagementError: ``hub`` names another task hub (a 400).
        """
        if hub is not None and hub.lower() != self.store.hub.lower():
            raise ManagementError(
                f"This host serves the task hub '{self.store.hub}' only, not '{hub}'.",
                status=400,
            )
        return self.store, self.store.hub

    def _management_allowed(self, request: Request) -> bool:
        """With keys required: the system or master key, or the RPC prefix from this machine."""
        if self.keys is None:
            return True
        presented = request.query.get("code") or request.headers.get("x-functions-key")
        if self.keys.opens_management(presented):
            return True
        return request.from_loopback and request.path.lower().startswith("/durabletask")

    async def _management(self, request: Request) -> Response:
        if not self._management_allowed(request):
            return error_response(
                401,
                "the management API requires the task hub's system key "
                "(?code=… or the x-functions-key header; see .durable/keys.json)",
            )
        pool = self._reads if request.method in ("GET", "HEAD") else self._writes
        try:
            answer, first = await asyncio.get_running_loop().run_in_executor(
                pool, self._answer, request
            )
        except RuntimeError:  # the pools have shut down: the host is stopping
            return error_response(503, "the host is stopping", [("Retry-After", "1")])
        if answer.wait is not None:
            answer = await self._wait(request, answer.wait, answer, first)
        return Response(
            status=answer.status, headers=answer.wire_headers(), body=answer.wire_body()
        )

    def _answer(self, request: Request) -> tuple[ApiResponse, _First | None]:
        """On a pool thread: the API's answer and, for a wait, its instance's first read.

        Reading here saves the wait a second trip to a pool thread. The notice count is
        taken before the read (see ``_wait``).
        """
        answer = self.api.handle(request)
        if answer.wait is None:
            return answer, None
        finishes = self._finishes
        backend, _hub = self._hub(request.query.get("taskHub") or None)
        try:
            return answer, (backend.get_instance(answer.wait.instance_id), finishes)
        except HostError:
            return answer, None  # the wait reads again

    async def _wait(
        self, request: Request, wait: Wait, timed_out: ApiResponse, first: _First | None
    ) -> ApiResponse:
        """Answer when the instance finishes, else ``timed_out`` at the timeout.

        The dispatcher's finish notice wakes the wait at once; the store is also read
        every ``pollingInterval``, for instances finished by anything else. A client
        that has gone away ends the wait (within ``PEER_CHECK``).
        """
        backend, _hub = self._hub(request.query.get("taskHub") or None)
        instance_id = wait.instance_id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait.timeout
        woken = asyncio.Event()
        # Register, then trust the first read only if no instance finished since it was
        # taken: a finish between that read and this registration would wake nobody.
        self._waiters.setdefault(instance_id, set()).add(woken)
        try:
            next_read = loop.time()
            if first is not None:
                inst, finishes = first
                if inst is not None and inst.runtime_status.is_terminal:
                    return finished_answer(inst)
                if finishes == self._finishes:
                    next_read += wait.interval
            while True:
                now = loop.time()
                if woken.is_set() or now >= next_read or now >= deadline:
                    woken.clear()
                    inst = await loop.run_in_executor(
                        self._reads, backend.get_instance, instance_id
                    )
                    if inst is not None and inst.runtime_status.is_terminal:
                        return finished_answer(inst)
                    next_read = now + wait.interval
                if now >= deadline or request.peer_gone():
                    return timed_out
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
