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

The transport is ``http.py``; the wire payloads are ``payloads.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from durable_functions.errors import HostError, ManagementError
from durable_functions.host.api import (
    ApiRequest,
    ApiResponse,
    ManagementApi,
    Wait,
    finished_answer,
    management_rest,
)
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock, SystemClock
from durable_functions.host.dashboard import Dashboard, is_dashboard
from durable_functions.host.functions import AppFunction, LoadedApp
from durable_functions.host.http import (
    HttpServer,
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

    def __post_init__(self) -> None:
        self.guard = OriginGuard.for_address("127.0.0.1", self.allowed_hosts)
        self.dashboard = Dashboard(self.store.hub, self.function_rows)
        self._http = HttpServer(self.handle)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        """Requests waiting for an instance to finish, by instance id (loop thread only)."""
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
        return client_binding_payload(self.base_url, hub or self.store.hub)

    # -- dispatch -------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Route one request."""
        rest = management_rest(request.path)
        dashboard = is_dashboard(request.path)
        if rest is not None or dashboard:
            refusal = self.guard.refusal(request.method, request.headers)
            if refusal is not None:
                return error_response(403, refusal)
        if dashboard:
            return self.dashboard.handle(request)
        if rest is not None:
            return await self._management(request, rest)
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

    async def _management(self, request: Request, rest: str) -> Response:
        answer = self.api.handle(
            ApiRequest(
                method=request.method,
                path=request.path,
                rest=rest,
                query=request.query,
                headers=request.headers,
                body=request.body,
                base_url=request.base_url,
                url=request.url,
            )
        )
        if answer.wait is not None:
            answer = await self._wait(request, answer.wait, answer)
        return Response(
            status=answer.status, headers=answer.wire_headers(), body=answer.wire_body()
        )

    async def _wait(self, request: Request, wait: Wait, timed_out: ApiResponse) -> ApiResponse:
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
        # Register before the first read, so a finish between the read and the wait wakes us.
        self._waiters.setdefault(instance_id, set()).add(woken)
        try:
            next_read = loop.time()
            while True:
                now = loop.time()
                if woken.is_set() or now >= next_read or now >= deadline:
                    woken.clear()
                    inst = backend.get_instance(instance_id)
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
