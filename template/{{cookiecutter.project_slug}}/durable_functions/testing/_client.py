"""A real ``DurableOrchestrationClient`` whose HTTP calls are answered in process.

The client's own code runs unchanged (URLs, bodies, status-code handling); only
its three transport functions are swapped for a router that answers the
management API (protocol §8.3, §11) from the test environment's backend, with
the local host's status codes and bodies. Nothing touches the network.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from durable_functions._protocol import RuntimeStatus, parse_utc_timestamp
from durable_functions.client import DurableOrchestrationClient, HttpResult, RawJson
from durable_functions.errors import DurableError
from durable_functions.host import runner
from durable_functions.host.engine import (
    entity_scheduler_id,
)
from durable_functions.host.server import client_binding_payload, status_payload

if TYPE_CHECKING:
    import azure.functions as func

    from durable_functions.testing.harness import OrchestrationTestEnv

BASE_URL = "http://localhost:7071"
TASK_HUB = "TestHub"
_ENDED = {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated}
_RUNNING = {
    RuntimeStatus.Running,
    RuntimeStatus.Pending,
    RuntimeStatus.ContinuedAsNew,
    RuntimeStatus.Suspended,
}


def binding_payload() -> str:
    """The ``durableClient`` binding JSON the host would pass in (protocol §8.1)."""
    return client_binding_payload(BASE_URL, TASK_HUB)


class TestDurableClient(DurableOrchestrationClient):
    """The SDK's client, answered by an ``OrchestrationTestEnv`` instead of a host."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, env: OrchestrationTestEnv, *, auto_run: bool = True) -> None:
        super().__init__(binding_payload())
        self.env = env
        self.auto_run = auto_run
        self._post_async_request = self._post
        self._get_async_request = self._get
        self._delete_async_request = self._delete

    # -- transport replacements ------------------------------------------------------------

    async def _post(
        self,
        url: str,
        data: Any = None,
        trace_parent: str | None = None,
        trace_state: str | None = None,
        function_invocation_id: str | None = None,
    ) -> HttpResult:
        return self._answer("POST", url, data)

    async def _get(
        self, url: str, function_invocation_id: str | None = None, **_: Any
    ) -> HttpResult:
        result = self._answer("GET", url, None)
        if result[1] is None:
            return HttpResult(result[0], "", result.headers)
        return result

    async def _delete(self, url: str, function_invocation_id: str | None = None) -> HttpResult:
        return self._answer("DELETE", url, None)

    def _answer(self, method: str, url: str, data: Any) -> HttpResult:
        if self.auto_run:
            self.env.run_until_idle()
        try:
            result = _Router(self.env).handle(method, url, data)
        except _ApiError as exc:
            result = HttpResult(
                exc.status, {"Message": exc.message, "ExceptionMessage": exc.message}
            )
        if self.auto_run and method != "GET":
            self.env.run_until_idle()
        return result

    # -- waiting happens in virtual time ---------------------------------------------------

    async def wait_for_completion_or_create_check_status_response(
        self,
        request: func.HttpRequest,
        instance_id: str,
        timeout_in_milliseconds: int = 10000,
        retry_interval_in_milliseconds: int = 1000,
    ) -> func.HttpResponse:
        """As the SDK's, but the timeout passes in virtual time (timers fire meanwhile)."""
        self._check_wait_intervals(timeout_in_milliseconds, retry_interval_in_milliseconds)
        deadline = self.env.now + timedelta(milliseconds=timeout_in_milliseconds)
        interval = timedelta(milliseconds=retry_interval_in_milliseconds)
        while True:
            ended = self._ended_response(await self.get_status(instance_id))
            if ended is not None:
                return ended
            if self.env.now >= deadline:
                return self.create_check_status_response(request, instance_id)
            self.env.advance(min(interval, deadline - self.env.now))


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _received(data: Any) -> tuple[bool, Any]:
    """``(has_body, value)`` as the host sees the body after parsing it once."""
    if data is None:
        return False, None
    if isinstance(data, RawJson):
        return True, json.loads(str(data))
    # The client's transport would JSON-encode ``data``; the host parses it back.
    return True, data


def _statuses(query: dict[str, str]) -> list[str]:
    """The ``runtimeStatus`` filter: a comma-separated list, blanks ignored."""
    return [s.strip() for s in query.get("runtimeStatus", "").split(",") if s.strip()]


def _flag(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if not value:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc_timestamp(text)
    except ValueError as exc:
        raise _ApiError(400, f"not a valid date/time: {text!r}") from exc


class _Router:
    """The management API routes the client calls, over the environment's backend."""

    def __init__(self, env: OrchestrationTestEnv) -> None:
        self.env = env
        self.backend = env.backend

    def handle(self, method: str, url: str, data: Any) -> HttpResult:
        parts = urlsplit(url)
        path = parts.path
        for prefix in ("/runtime/webhooks/durabletask/", "/durabletask/"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
                break
        else:
            raise _ApiError(404, f"no management route for {url}")
        segments = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        head = segments[0].lower() if segments else ""
        if head == "orchestrators" and method == "POST" and len(segments) in (2, 3):
            return self._start(segments[1], segments[2] if len(segments) == 3 else None, data)
        if head == "instances" and len(segments) == 1:
            if method == "GET":
                return self._list(query)
            if method == "DELETE":
                return self._purge_by(query)
        if head == "instances" and len(segments) >= 2:
            instance_id = segments[1]
            action = segments[2].lower() if len(segments) > 2 else ""
            if len(segments) == 2 and method == "GET":
                return self._status(instance_id, query)
            if len(segments) == 2 and method == "DELETE":
                deleted = runner.purge(self.backend, instance_id)
                if not deleted:
                    raise _ApiError(404, f"No instance with ID '{instance_id}' found.")
                return HttpResult(200, {"instancesDeleted": deleted})
            if method == "POST" and action == "raiseevent" and len(segments) == 4:
                return self._raise_event(instance_id, segments[3], data)
            if method == "POST" and action in ("terminate", "suspend", "resume"):
                return self._control(instance_id, action, query.get("reason"))
            if method == "POST" and action == "rewind":
                return self._rewind(instance_id, query.get("reason"))
            if method == "POST" and action == "restart":
                return self._restart(instance_id, query)
        if head == "entities" and len(segments) == 3:
            return self._entity(method, segments[1], segments[2], query, data)
        raise _ApiError(404, f"no management route for {method} {url}")

    def _check_status(self, instance_id: str) -> HttpResult:
        links = json.loads(binding_payload())["managementUrls"]
        body = {k: str(v).replace("INSTANCEID", instance_id) for k, v in links.items()}
        body.pop("rewindPostUri", None)
        headers = {"Location": body["statusQueryGetUri"], "Retry-After": "10"}
        return HttpResult(202, body, headers)

    def _start(self, name: str, instance_id: str | None, data: Any) -> HttpResult:
        try:
            durable_name = self.env.orchestrator_name(name)
        except DurableError as exc:
            raise _ApiError(400, str(exc)) from exc
        has_body, value = _received(data)
        instance_id = instance_id or self.env._new_instance_id()
        try:
            runner.start_orchestration(
                self.backend,
                durable_name,
                now=self.env.now,
                instance_id=instance_id,
                input_json=json.dumps(value) if has_body else None,
                new_id=self.env._new_id,
            )
        except runner.InstanceExistsError as exc:
            raise _ApiError(400, str(exc)) from exc
        return self._check_status(instance_id)

    def _status(self, instance_id: str, query: dict[str, str]) -> HttpResult:
        instance = self.backend.get_instance(instance_id)
        if instance is None:
            return HttpResult(404, f"No instance with ID '{instance_id}' found.")
        show_history = _flag(query, "showHistory", False)
        payload = status_payload(
            instance,
            show_input=_flag(query, "showInput", True),
            history=self.backend.get_history(instance_id) if show_history else None,
            show_output=_flag(query, "showHistoryOutput", False),
        )
        return HttpResult(202 if instance.runtime_status in _RUNNING else 200, payload)

    def _list(self, query: dict[str, str]) -> HttpResult:
        page = self.backend.list_instances(
            created_from=_time(query.get("createdTimeFrom")),
            created_to=_time(query.get("createdTimeTo")),
            statuses=_statuses(query),
            prefix=query.get("instanceIdPrefix") or None,
            top=1_000_000,
        )
        show_input = _flag(query, "showInput", True)
        return HttpResult(200, [status_payload(i, show_input=show_input) for i in page.instances])

    def _purge_by(self, query: dict[str, str]) -> HttpResult:
        if not query.get("createdTimeFrom"):
            raise _ApiError(400, "createdTimeFrom is required to purge instances")
        page = self.backend.list_instances(
            created_from=_time(query.get("createdTimeFrom")),
            created_to=_time(query.get("createdTimeTo")) or datetime.now(timezone.utc),
            statuses=_statuses(query),
            top=1_000_000,
        )
        deleted = self.backend.purge([i.instance_id for i in page.instances])
        return HttpResult(200 if deleted else 404, {"instancesDeleted": deleted})

    def _require(self, instance_id: str) -> Any:
        instance = self.backend.get_instance(instance_id)
        if instance is None:
            raise _ApiError(404, f"No instance with ID '{instance_id}' found.")
        return instance

    def _raise_event(self, instance_id: str, name: str, data: Any) -> HttpResult:
        instance = self._require(instance_id)
        if instance.runtime_status in _ENDED:
            raise _ApiError(
                410, f"Instance with ID '{instance_id}' is gone: either completed or failed."
            )
        has_body, value = _received(data)
        input_json = json.dumps(value) if has_body else None
        runner.raise_event(self.backend, instance_id, name, input_json, now=self.env.now)
        return HttpResult(202, None)

    def _control(self, instance_id: str, action: str, reason: str | None) -> HttpResult:
        instance = self._require(instance_id)
        if instance.runtime_status in _ENDED:
            raise _ApiError(410, f"Instance with ID '{instance_id}' is already finished.")
        operation = {"terminate": runner.terminate, "suspend": runner.suspend}.get(
            action, runner.resume
        )
        operation(self.backend, instance_id, reason, now=self.env.now)
        return HttpResult(202, None)

    def _rewind(self, instance_id: str, reason: str | None) -> HttpResult:
        self._require(instance_id)
        try:
            runner.rewind(
                self.backend, instance_id, reason, now=self.env.now, new_id=self.env._new_id
            )
        except runner.InstanceStateError as exc:
            raise _ApiError(410, str(exc)) from exc
        return HttpResult(202, None)

    def _restart(self, instance_id: str, query: dict[str, str]) -> HttpResult:
        self._require(instance_id)
        try:
            target = runner.restart(
                self.backend,
                instance_id,
                now=self.env.now,
                new_instance_id=_flag(query, "restartWithNewInstanceId", True),
                new_id=self.env._new_id,
            )
        except runner.InstanceExistsError as exc:
            raise _ApiError(400, str(exc)) from exc
        return self._check_status(target)

    def _entity(
        self, method: str, name: str, key: str, query: dict[str, str], data: Any
    ) -> HttpResult:
        entity_id = entity_scheduler_id(name, "" if key == "$" else key)
        if method == "GET":
            entity = self.backend.get_entity(entity_id)
            if entity is None or not entity.exists:
                return HttpResult(404, None)
            return HttpResult(200, json.loads(entity.state) if entity.state else None)
        if method in ("POST", "DELETE"):
            operation = "delete" if method == "DELETE" else query.get("op") or ""
            if not operation:
                raise _ApiError(400, "the op query parameter (operation name) is required")
            has_body, value = _received(data)
            runner.signal_entity(
                self.backend,
                entity_id,
                operation,
                json.dumps(value) if has_body else None,
                now=self.env.now,
                new_id=self.env._new_id,
            )
            return HttpResult(202, None)
        raise _ApiError(404, f"no entity route for {method}")
