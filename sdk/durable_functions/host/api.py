"""The Durable management HTTP API as a route table, independent of any transport.

``ManagementApi.handle`` maps a request (an ``http.Request``: method, path, query,
headers, body; the test client builds one without a socket) to a management
operation (``management.py``) and answers with a status, a JSON body and headers,
as the extension does (protocol §11). The local host's HTTP server and the
in-memory test client both answer through it, so a test sees the host's status
codes, bodies and refusal texts.

Waiting (``?timeout=`` on start and restart) is the transport's business: the
answer carries a ``Wait`` and the host holds the request until the instance ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from durable_functions._protocol import RuntimeStatus, parse_utc_timestamp
from durable_functions.errors import DurableError, HostError, ManagementError, StoreBusyError
from durable_functions.host import engine, management
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock
from durable_functions.host.engine import InstanceState
from durable_functions.host.http import Request
from durable_functions.host.payloads import (
    check_status_payload,
    parse_json_text,
    status_payload,
    status_time,
)

log = logging.getLogger("durable_functions.host")

PREFIXES = ("/runtime/webhooks/durabletask", "/durabletask")
"""Paths the management API answers under (any case)."""

_RUNNING = (
    RuntimeStatus.Running,
    RuntimeStatus.Pending,
    RuntimeStatus.ContinuedAsNew,
    RuntimeStatus.Suspended,
)


def management_rest(path: str) -> str | None:
    """The part of a raw request path after the management prefix, or None if it has none."""
    lowered = path.lower()
    for prefix in PREFIXES:
        if lowered == prefix or lowered.startswith(prefix + "/"):
            return path[len(prefix) :]
    return None


@dataclass(frozen=True, slots=True)
class Wait:
    """Hold the answer until ``instance_id`` ends or ``timeout`` seconds pass."""

    instance_id: str
    timeout: float
    interval: float
    """Seconds between store reads while waiting (``pollingInterval``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiResponse:
    """A management answer: ``body`` is a JSON value unless ``has_body`` is false."""

    status: int
    body: Any = None
    has_body: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    wait: Wait | None = None
    """Set by start and restart with ``?timeout=``: the answer to give if the wait times out."""

    def wire_headers(self) -> list[tuple[str, str]]:
        """The headers to send, the JSON content type first."""
        if not self.has_body:
            return list(self.headers)
        return [("Content-Type", "application/json; charset=utf-8"), *self.headers]

    def wire_body(self) -> bytes:
        """The body to send (empty when there is none)."""
        return json.dumps(self.body).encode("utf-8") if self.has_body else b""


def error_answer(status: int, message: str) -> ApiResponse:
    """An error in the extension's JSON shape (``Message`` + ``ExceptionMessage``)."""
    return ApiResponse(status=status, body={"Message": message, "ExceptionMessage": message})


def finished_answer(instance: InstanceState) -> ApiResponse:
    """The answer of a wait whose instance ended: the output, or its status."""
    if instance.runtime_status is RuntimeStatus.Completed:
        return ApiResponse(status=200, body=parse_json_text(instance.output))
    status = 500 if instance.runtime_status is RuntimeStatus.Failed else 200
    return ApiResponse(status=status, body=status_payload(instance))


BUSY_RETRY = 1
"""``Retry-After`` (seconds) of a 503 answered while another writer holds the store."""


def busy_answer(error: StoreBusyError) -> ApiResponse:
    """503 with ``Retry-After``: the store stayed locked longer than a request may wait."""
    answer = error_answer(503, str(error))
    return ApiResponse(status=503, body=answer.body, headers=(("Retry-After", str(BUSY_RETRY)),))


def _accepted() -> ApiResponse:
    return ApiResponse(status=202, has_body=False)


MAX_WAIT = 3600.0
"""Longest ``?timeout=`` a start-and-wait request may hold its connection (seconds)."""
MIN_POLL = 0.01
"""Shortest ``pollingInterval``: a shorter one would only spin (seconds)."""


def _bad_request(message: str) -> ManagementError:
    return ManagementError(message, status=400)


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
            raise _bad_request(f"{name} is not a valid date/time: {text!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


MAX_TOP = 10_000
"""Most instances or entities one page may ask for (``top``)."""


def _top(query: Mapping[str, str]) -> int:
    try:
        top = int(query.get("top") or 100)
    except ValueError as exc:
        raise _bad_request("top must be an integer") from exc
    if top > MAX_TOP:
        raise _bad_request(f"top must be at most {MAX_TOP}; page with the continuation token")
    return top


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _json_body(request: Request) -> tuple[bool, Any]:
    """``(has_body, value)``; a malformed body (``NaN``, nesting too deep, …) is a 400."""
    if not request.body.strip():
        return False, None
    try:
        return True, json.loads(request.body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else exc
        raise _bad_request(f"the request body is not valid JSON: {reason}") from None


def _wait(request: Request, instance_id: str) -> Wait | None:
    timeout_text = request.query.get("timeout")
    if not timeout_text:
        return None
    try:
        timeout = float(timeout_text)
        interval = float(request.query.get("pollingInterval") or 1)
    except ValueError as exc:
        raise _bad_request("timeout and pollingInterval must be numbers of seconds") from exc
    if not (0 < timeout <= MAX_WAIT):
        raise _bad_request(f"timeout must be a number of seconds from 0 to {MAX_WAIT:.0f}")
    if not (MIN_POLL <= interval <= timeout):
        raise _bad_request(f"pollingInterval must be at least {MIN_POLL} s and not exceed timeout")
    return Wait(instance_id, timeout, interval)


@dataclass(frozen=True, slots=True)
class _Call:
    """A matched route: the request, the task hub's backend and the path parameters."""

    request: Request
    backend: Backend
    hub: str
    params: dict[str, str]

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query


Handler = Callable[["ManagementApi", _Call], ApiResponse]


def _wake_nobody(**_: bool) -> None:
    pass


@dataclass(kw_only=True, eq=False, repr=False)
class ManagementApi:
    """The management routes over one or more task hubs.

    Args:
        backends: ``taskHub`` query value (``None`` when absent) → that hub's backend
            and its name as the check-status links spell it.
        clock: where ``now`` comes from.
        resolve_orchestrator: a requested orchestrator name → its durable name;
            raises ``DurableError`` for an unknown one.
        known_orchestrators: the names listed when a name is unknown.
        new_id: execution and request ids.
        new_instance_id: the id of an instance started without one (default ``new_id``).
        default_version: the version of instances started without ``?version=``.
        wake: told which kinds of work a request queued
            (``orchestrations=``, ``activities=``, ``entities=``; all when omitted).
        system_key: the task hub's system key, put in the check-status links as
            ``code=`` when the host requires keys (as the Functions host does).
    """

    backends: Callable[[str | None], tuple[Backend, str]]
    clock: Clock
    resolve_orchestrator: Callable[[str], str]
    known_orchestrators: Callable[[], Collection[str]]
    new_id: Callable[[], str] = management.random_id
    new_instance_id: Callable[[], str] | None = None
    default_version: str | None = ""
    wake: Callable[..., None] = _wake_nobody
    system_key: str | None = None

    def handle(self, request: Request) -> ApiResponse:
        """Answer one request; refusals become error answers, never exceptions."""
        try:
            return self._route(request)
        except ManagementError as exc:
            return error_answer(exc.status, str(exc))
        except StoreBusyError as exc:
            return busy_answer(exc)
        except DurableError as exc:
            log.warning("management request failed: %s", exc)
            return error_answer(500, str(exc))

    def _route(self, request: Request) -> ApiResponse:
        rest = management_rest(request.path)
        if rest is None:
            raise ManagementError(
                f"no management route for {request.method} {request.path}", status=404
            )
        rest = rest.strip("/")
        segments = [unquote(s) for s in rest.split("/")] if rest else []
        if not segments:
            raise ManagementError("no such management route", status=404)
        backend, hub = self.backends(request.query.get("taskHub") or None)
        for method, pattern, handler in _ROUTES:
            if method != request.method or len(pattern) != len(segments):
                continue
            params = _match(pattern, segments)
            if params is not None:
                return handler(self, _Call(request, backend, hub, params))
        if segments[0].lower() == "entities":
            if len(segments) == 3:
                raise ManagementError(f"no entity route for {request.method}", status=404)
            raise ManagementError("entity routes are entities/{name}/{key}", status=404)
        raise ManagementError(
            f"no management route for {request.method} {request.path}", status=404
        )

    # -- orchestrations -------------------------------------------------------------------

    def _check_status(self, call: _Call, instance_id: str) -> ApiResponse:
        body = check_status_payload(
            call.request.base_url, call.hub, instance_id, code=self.system_key
        )
        return ApiResponse(
            status=202,
            body=body,
            headers=(("Location", body["statusQueryGetUri"]), ("Retry-After", "10")),
            wait=_wait(call.request, instance_id),
        )

    def _start(self, call: _Call) -> ApiResponse:
        name = call.params["name"]
        try:
            durable_name = self.resolve_orchestrator(name)
        except DurableError as exc:
            known = ", ".join(self.known_orchestrators()) or "none"
            raise _bad_request(
                f"The function '{name}' doesn't exist, is disabled, or is not an "
                f"orchestrator function. Known orchestrators: {known}."
            ) from exc
        has_body, value = _json_body(call.request)
        instance_id = management.start(
            call.backend,
            durable_name,
            now=self.clock.now(),
            instance_id=call.params.get("id") or (self.new_instance_id or self.new_id)(),
            input_json=json.dumps(value) if has_body else None,
            version=call.query.get("version") or self.default_version,
            new_id=self.new_id,
        )
        self.wake(activities=False, entities=False)
        return self._check_status(call, instance_id)

    def _status(self, call: _Call) -> ApiResponse:
        instance_id = call.params["id"]
        inst = management.get_instance(call.backend, instance_id)
        show_history = _flag(call.query, "showHistory", False)
        payload = status_payload(
            inst,
            show_input=_flag(call.query, "showInput", True),
            history=call.backend.get_history(instance_id) if show_history else None,
            show_output=_flag(call.query, "showHistoryOutput", False),
        )
        status = inst.runtime_status
        if status in _RUNNING:
            return ApiResponse(
                status=202,
                body=payload,
                headers=(("Location", call.request.url), ("Retry-After", "5")),
            )
        if status is RuntimeStatus.Failed and _flag(
            call.query, "returnInternalServerErrorOnFailure", False
        ):
            return ApiResponse(status=500, body=payload)
        return ApiResponse(status=200, body=payload)

    def _raw_history(self, call: _Call) -> ApiResponse:
        inst, events = management.history(call.backend, call.params["id"])
        return ApiResponse(
            status=200,
            body={
                "instanceId": inst.instance_id,
                "executionId": inst.execution_id,
                "name": inst.name,
                "runtimeStatus": inst.runtime_status.value,
                "history": events,
            },
        )

    def _list_filters(self, call: _Call) -> dict[str, Any]:
        query = call.query
        statuses = [s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()]
        known = {s.value.lower(): s.value for s in RuntimeStatus}
        unknown = [s for s in statuses if s.lower() not in known]
        if unknown:
            raise _bad_request(f"unknown runtimeStatus value(s): {', '.join(unknown)}")
        return {
            "created_from": _parse_time(query.get("createdTimeFrom"), "createdTimeFrom"),
            "created_to": _parse_time(query.get("createdTimeTo"), "createdTimeTo"),
            "statuses": [known[s.lower()] for s in statuses],
        }

    def _list(self, call: _Call) -> ApiResponse:
        filters = self._list_filters(call)
        top = _top(call.query)
        if top < 1:
            raise _bad_request("top must be at least 1")
        try:
            page = call.backend.list_instances(
                **filters,
                prefix=call.query.get("instanceIdPrefix") or None,
                top=top,
                continuation=call.request.headers.get("x-ms-continuation-token") or None,
                name=call.query.get("name") or None,
                newest_first=_flag(call.query, "newestFirst", False),
            )
        except HostError as exc:
            raise _bad_request(str(exc)) from exc
        show_input = _flag(call.query, "showInput", True)
        body = [status_payload(i, show_input=show_input) for i in page.instances]
        headers = (("x-ms-continuation-token", page.continuation),) if page.continuation else ()
        return ApiResponse(status=200, body=body, headers=headers)

    def _purge(self, call: _Call) -> ApiResponse:
        instance_id = call.params["id"]
        deleted = management.purge(call.backend, instance_id)
        if not deleted:
            raise ManagementError(f"No instance with ID '{instance_id}' found.", status=404)
        return ApiResponse(status=200, body={"instancesDeleted": deleted})

    def _purge_by(self, call: _Call) -> ApiResponse:
        if not call.query.get("createdTimeFrom"):
            raise _bad_request("createdTimeFrom is required to purge instances")
        deleted = management.purge_by(
            call.backend, **self._list_filters(call), now=self.clock.now()
        )
        return ApiResponse(status=200 if deleted else 404, body={"instancesDeleted": deleted})

    def _raise_event(self, call: _Call) -> ApiResponse:
        instance_id = call.params["id"]
        management.require_event_target(call.backend, instance_id)
        content_type = call.request.headers.get("content-type", "").lower()
        if not content_type.startswith("application/json"):
            raise _bad_request("Only application/json request content is supported")
        has_body, value = _json_body(call.request)
        management.raise_event(
            call.backend,
            instance_id,
            call.params["event"],
            json.dumps(value) if has_body else None,
            now=self.clock.now(),
        )
        self.wake(activities=False, entities=False)
        return _accepted()

    def _control(self, call: _Call, operation: Callable[..., None]) -> ApiResponse:
        operation(call.backend, call.params["id"], call.query.get("reason"), now=self.clock.now())
        self.wake(activities=False, entities=False)
        return _accepted()

    def _terminate(self, call: _Call) -> ApiResponse:
        return self._control(call, management.terminate)

    def _suspend(self, call: _Call) -> ApiResponse:
        return self._control(call, management.suspend)

    def _resume(self, call: _Call) -> ApiResponse:
        return self._control(call, management.resume)

    def _rewind(self, call: _Call) -> ApiResponse:
        management.rewind(
            call.backend,
            call.params["id"],
            call.query.get("reason"),
            now=self.clock.now(),
            new_id=self.new_id,
        )
        self.wake()
        return _accepted()

    def _restart(self, call: _Call) -> ApiResponse:
        target = management.restart(
            call.backend,
            call.params["id"],
            now=self.clock.now(),
            new_instance_id=_flag(call.query, "restartWithNewInstanceId", True),
            new_id=self.new_id,
        )
        self.wake(activities=False, entities=False)
        return self._check_status(call, target)

    # -- entities ---------------------------------------------------------------------------

    @staticmethod
    def _entity_id(call: _Call) -> str:
        key = call.params["key"]
        return engine.entity_scheduler_id(call.params["name"], "" if key == "$" else key)

    def _list_entities(self, call: _Call) -> ApiResponse:
        query = call.query
        top = _top(query)
        fetch_state = _flag(query, "fetchState", False)
        found, token = call.backend.list_entities(
            name=call.params.get("name"),
            modified_from=_parse_time(query.get("lastOperationTimeFrom"), "lastOperationTimeFrom"),
            modified_to=_parse_time(query.get("lastOperationTimeTo"), "lastOperationTimeTo"),
            top=max(top, 1),
            continuation=call.request.headers.get("x-ms-continuation-token") or None,
        )
        body = []
        for entity in found:
            item: dict[str, Any] = {
                "entityId": {"name": entity.name, "key": entity.key},
                "lastOperationTime": status_time(entity.last_modified or self.clock.now()),
            }
            if fetch_state:
                item["state"] = parse_json_text(entity.state)
            body.append(item)
        headers = (("x-ms-continuation-token", token),) if token else ()
        return ApiResponse(status=200, body=body, headers=headers)

    def _get_entity(self, call: _Call) -> ApiResponse:
        entity = management.get_entity(call.backend, self._entity_id(call))
        return ApiResponse(status=200, body=parse_json_text(entity.state))

    def _signal_entity(self, call: _Call) -> ApiResponse:
        request = call.request
        entity_id = self._entity_id(call)
        if request.method == "DELETE":
            operation, input_json = "delete", None
        else:
            operation = call.query.get("op") or ""
            if not operation:
                raise _bad_request("the op query parameter (operation name) is required")
            input_json = None
            if request.body:
                content_type = request.headers.get("content-type", "").lower()
                if content_type.startswith("application/json"):
                    _has, value = _json_body(request)
                else:
                    value = request.body.decode("utf-8", "replace")
                input_json = json.dumps(value)
        management.signal_entity(
            call.backend, entity_id, operation, input_json, now=self.clock.now(), new_id=self.new_id
        )
        self.wake(orchestrations=False, activities=False)
        return _accepted()


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    """Path parameters if ``segments`` fit ``pattern`` (literals match in any case)."""
    params: dict[str, str] = {}
    for part, segment in zip(pattern, segments, strict=True):
        if part.startswith("{"):
            params[part[1:-1]] = segment
        elif part.lower() != segment.lower():
            return None
    return params


_I = "{id}"
_ROUTES: tuple[tuple[str, tuple[str, ...], Handler], ...] = (
    ("POST", ("orchestrators", "{name}"), ManagementApi._start),
    ("POST", ("orchestrators", "{name}", _I), ManagementApi._start),
    ("GET", ("instances",), ManagementApi._list),
    ("DELETE", ("instances",), ManagementApi._purge_by),
    ("GET", ("instances", _I), ManagementApi._status),
    ("DELETE", ("instances", _I), ManagementApi._purge),
    ("GET", ("instances", _I, "history", "raw"), ManagementApi._raw_history),
    ("POST", ("instances", _I, "raiseEvent", "{event}"), ManagementApi._raise_event),
    ("POST", ("instances", _I, "terminate"), ManagementApi._terminate),
    ("POST", ("instances", _I, "suspend"), ManagementApi._suspend),
    ("POST", ("instances", _I, "resume"), ManagementApi._resume),
    ("POST", ("instances", _I, "rewind"), ManagementApi._rewind),
    ("POST", ("instances", _I, "restart"), ManagementApi._restart),
    ("GET", ("entities",), ManagementApi._list_entities),
    ("GET", ("entities", "{name}"), ManagementApi._list_entities),
    ("GET", ("entities", "{name}", "{key}"), ManagementApi._get_entity),
    ("POST", ("entities", "{name}", "{key}"), ManagementApi._signal_entity),
    ("DELETE", ("entities", "{name}", "{key}"), ManagementApi._signal_entity),
)
"""(method, path pattern after the prefix, handler): the whole management API."""
