"""The durable client: start, query and manage instances over the host's HTTP API.

A client function receives the ``durableClient`` binding (a JSON text naming the
task hub, the public management URLs and ``rpcBaseUrl``, the host's local RPC
endpoint). Every async method is one HTTP call to ``rpcBaseUrl`` with the paths,
queries and bodies of ``azure-functions-durable`` 1.7, so an app moved from it
keeps its wire behaviour. Differences are deliberate fixes, listed in
``docs/compatibility.md`` ("Client").

Only the standard library is used for HTTP (:mod:`durable_functions._http`);
``azure.functions`` is imported by the few methods that build an ``HttpResponse``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from durable_functions._client_calls import (
    RawJson,
    delete_async_request,
    get_async_request,
    post_async_request,
)
from durable_functions._http import call_timeout
from durable_functions._paging import entities_url, format_query_datetime, read_all_pages
from durable_functions._readonly import ReadOnly
from durable_functions.errors import (
    HostError,
    HostResponseError,
    HostTimeoutError,
    OrchestrationNotFoundError,
)
from durable_functions.serialization import df_dumps
from durable_functions.status import (
    DurableEntityStatus,
    DurableOrchestrationStatus,
    EntityStateResponse,
    OrchestrationRuntimeStatus,
    PurgeHistoryResult,
)

if TYPE_CHECKING:
    import azure.functions as func

__all__ = [
    "DurableOrchestrationBindings",
    "DurableOrchestrationClient",
    "RawJson",
    "RpcManagementOptions",
    "call_timeout",
    "delete_async_request",
    "get_async_request",
    "post_async_request",
]


class _EntityIdLike(Protocol):
    """What the client needs of an ``EntityId``."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str: ...


# ---------------------------------------------------------------------------
# Binding and URL options
# ---------------------------------------------------------------------------


class DurableOrchestrationBindings:
    """The ``durableClient`` binding: task hub, management URLs and the RPC base URL."""

    def __init__(
        self,
        taskHubName: str,  # the binding's JSON keys
        creationUrls: dict[str, str] | None,
        managementUrls: dict[str, str] | None,
        rpcBaseUrl: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._task_hub_name = taskHubName
        self._creation_urls = dict(creationUrls or {})
        self._management_urls = dict(managementUrls or {})
        self._rpc_base_url = rpcBaseUrl
        self._client_data = SimpleNamespace(**kwargs)

    task_hub_name = ReadOnly[str]("_task_hub_name", "The task hub the client works on.")
    creation_urls = ReadOnly[dict[str, str]](
        "_creation_urls", "Public URL templates for starting instances."
    )
    management_urls = ReadOnly[dict[str, str]](
        "_management_urls",
        "Public URL templates for managing an instance (``INSTANCEID`` placeholder).",
    )
    rpc_base_url = ReadOnly[str | None](
        "_rpc_base_url",
        "Base of every client call (ends with ``/``); ``None`` if the host disabled it.",
    )
    client_data = ReadOnly[SimpleNamespace](
        "_client_data", "Any other key of the binding, as attributes."
    )

    @classmethod
    def from_json(
        cls, json_string: str | bytes | Mapping[str, Any]
    ) -> DurableOrchestrationBindings:
        """Parse the binding text the host passes to a client function.

        Raises:
            HostError: the text is not a JSON object with a ``taskHubName``.
        """
        if isinstance(json_string, Mapping):
            data: Any = dict(json_string)
        else:
            try:
                data = json.loads(json_string)
            except (TypeError, ValueError) as exc:
                raise HostError(
                    f"The durableClient binding is not valid JSON ({exc}); the Functions host "
                    "passes it to a parameter declared with `durable_client_input`."
                ) from exc
        if not isinstance(data, dict) or "taskHubName" not in data:
            raise HostError(
                "The durableClient binding must be a JSON object with at least 'taskHubName', "
                f"got {str(data)[:200]!r}."
            )
        # gRPC-mode and minimal bindings leave the URL maps out or null.
        data.setdefault("creationUrls", None)
        data.setdefault("managementUrls", None)
        return cls(**data)


class RpcManagementOptions:
    """Builds the ``instances/`` and ``entities/`` URLs of the management calls.

    Values are inserted unescaped, in the reference's order; the HTTP layer
    percent-encodes on the way out.
    """

    def __init__(
        self,
        instance_id: str | None = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
        show_history: bool | None = None,
        show_history_output: bool | None = None,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
        show_input: bool | None = None,
        operation_name: str | None = None,
        entity_Id: _EntityIdLike | None = None,  # the reference's spelling
        instance_id_prefix: str | None = None,
    ) -> None:
        self._instance_id = instance_id
        self._task_hub_name = task_hub_name
        self._connection_name = connection_name
        self._show_history = show_history
        self._show_history_output = show_history_output
        self._created_time_from = created_time_from
        self._created_time_to = created_time_to
        self._runtime_status = runtime_status
        self._show_input = show_input
        self.operation_name = operation_name
        self.entity_Id = entity_Id
        self._instance_id_prefix = instance_id_prefix

    def to_url(self, base_url: str | None) -> str:
        """The full URL under ``base_url``.

        Raises:
            ValueError: ``base_url`` is ``None`` (the binding has no ``rpcBaseUrl``).
        """
        if base_url is None:
            raise ValueError("orchestration bindings has not RPC base url")
        if self.entity_Id is not None:
            url = f"{base_url}entities/{self.entity_Id.name}/{self.entity_Id.key}"
        else:
            url = f"{base_url}instances/{self._instance_id or ''}"
        pairs: list[tuple[str, Any]] = [
            ("taskHub", self._task_hub_name),
            ("connectionName", self._connection_name),
            ("showInput", self._show_input),
            ("showHistory", self._show_history),
            ("showHistoryOutput", self._show_history_output),
            (
                "createdTimeFrom",
                self._created_time_from and format_query_datetime(self._created_time_from),
            ),
            (
                "createdTimeTo",
                self._created_time_to and format_query_datetime(self._created_time_to),
            ),
            ("op", self.operation_name),
        ]
        if self.entity_Id is None and not self._instance_id:
            pairs.append(("instanceIdPrefix", self._instance_id_prefix))
        if self._runtime_status:
            pairs.append(("runtimeStatus", ",".join(_status_name(s) for s in self._runtime_status)))
        query = [f"{name}={value}" for name, value in pairs if value]
        return f"{url}?{'&'.join(query)}" if query else url


def _status_name(status: OrchestrationRuntimeStatus | str) -> str:
    return status.value if isinstance(status, OrchestrationRuntimeStatus) else str(status)


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------

_PostRequest = Callable[..., Awaitable[list[Any]]]
_GetRequest = Callable[..., Awaitable[list[Any]]]


BODY_SHOWN = 200
"""Most characters of an answer's body an error message quotes."""
_TAG = re.compile(r"<[^>]*>")


def _short_body(payload: Any) -> str:
    """The start of an answer's body for a message: the host's text, HTML tags dropped."""
    text = _host_message(payload)
    if text.lstrip().startswith("<"):
        text = _TAG.sub(" ", text)
    text = " ".join(text.split())
    return text if len(text) <= BODY_SHOWN else text[: BODY_SHOWN - 1] + "…"


def _refused(status: int, message: str, payload: Any = None) -> HostResponseError:
    """A ``HostResponseError`` for an answer the host gave with ``status``."""
    return HostResponseError(message, status=status, body=_short_body(payload))


def _unexpected_status(response: list[Any]) -> HostResponseError:
    status, body = response[0], _short_body(response[1])
    message = f"The operation failed with an unexpected status code {status}"
    error = _refused(status, f"{message}: {body}" if body else message, response[1])
    error.status_code = status  # type: ignore[attr-defined]  # the name earlier versions used
    return error


def _host_message(payload: Any) -> str:
    """The error text of a host answer (the extension's ``ExceptionMessage``, else ``Message``)."""
    if isinstance(payload, dict):
        for key in ("ExceptionMessage", "Message", "message", "error"):
            if payload.get(key):
                return str(payload[key])
        return json.dumps(payload) if payload else ""
    return str(payload) if payload else ""


def _not_found(instance_id: str, *, quoted: bool) -> OrchestrationNotFoundError:
    shown = f"'{instance_id}'" if quoted else instance_id
    return OrchestrationNotFoundError(f"No instance with ID {shown} found.")


class DurableOrchestrationClient:
    """Starts, queries, signals and manages orchestration instances and entities.

    Args:
        context: the ``durableClient`` binding JSON text the host passes in.
        function_invocation_id: the calling function's invocation id, sent as
            ``X-Azure-Functions-InvocationId`` on every POST for log correlation.
    """

    def __init__(self, context: str, function_invocation_id: str | None = None) -> None:
        self._orchestration_bindings = DurableOrchestrationBindings.from_json(context)
        self._function_invocation_id = function_invocation_id
        self.task_hub_name: str = self._orchestration_bindings.task_hub_name
        self._post_async_request: _PostRequest = post_async_request
        self._get_async_request: _GetRequest = get_async_request
        self._delete_async_request: _GetRequest = delete_async_request

    def __repr__(self) -> str:
        return (
            f"DurableOrchestrationClient(task_hub_name={self.task_hub_name!r}, "
            f"rpc_base_url={self._orchestration_bindings.rpc_base_url!r})"
        )

    @property
    def _rpc_base_url(self) -> str:
        base = self._orchestration_bindings.rpc_base_url
        if not base:
            raise ValueError("orchestration bindings has not RPC base url")
        return base

    # -- orchestrations ----------------------------------------------------

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
        version: str | None = None,
    ) -> str:
        """Start an orchestrator and return the new instance's id.

        An existing instance with the same ``instance_id`` is replaced, as the host decides.

        Raises:
            HostError: the host refused (for example, no orchestrator of that name).
        """
        url = f"{self._rpc_base_url}orchestrators/{orchestration_function_name}"
        if instance_id is not None:
            url += f"/{instance_id}"
        if version is not None:
            url += f"?version={quote(version)}"
        body = df_dumps(client_input) if client_input is not None else None
        trace_parent, trace_state = self._get_current_activity_context()
        response = await self._post_async_request(
            url, body, trace_parent, trace_state, self._function_invocation_id
        )
        status, payload = response[0], response[1]
        if status <= 202 and payload:
            if isinstance(payload, dict) and "id" in payload:
                return str(payload["id"])
            raise _unexpected_status(response)
        if status == 400:
            message = _host_message(payload) or "The host refused to start the orchestration."
            raise _refused(status, message, payload)
        raise _unexpected_status(response)

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> DurableOrchestrationStatus:
        """The instance's status; falsy (no ``created_time``) when it does not exist.

        As in the reference, ``show_input=False`` sends no ``showInput`` flag, so the
        host's default applies and the input is included either way.
        """
        options = RpcManagementOptions(
            instance_id=instance_id,
            show_history=show_history,
            show_history_output=show_history_output,
            show_input=show_input,
        )
        response = await self._get_async_request(options.to_url(self._rpc_base_url))
        if response[0] not in (200, 202, 400, 404, 500):
            raise _unexpected_status(response)
        return DurableOrchestrationStatus.from_json(response[1])

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        """Every instance's status, following the host's pages to the end."""
        return await self._list_statuses(RpcManagementOptions())

    async def get_status_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[DurableOrchestrationStatus]:
        """The statuses of the instances matching every given condition (all pages)."""
        options = RpcManagementOptions(
            created_time_from=created_time_from,
            created_time_to=created_time_to,
            runtime_status=runtime_status,
            instance_id_prefix=instance_id_prefix,
        )
        return await self._list_statuses(options)

    async def _list_statuses(
        self, options: RpcManagementOptions
    ) -> list[DurableOrchestrationStatus]:
        url = options.to_url(self._rpc_base_url)
        items = await read_all_pages(self._get_async_request, url, _unexpected_status)
        return [DurableOrchestrationStatus.from_json(o) for o in items]

    async def purge_instance_history(self, instance_id: str) -> PurgeHistoryResult:
        """Delete one instance's history and state."""
        url = f"{self._rpc_base_url}instances/{instance_id}"
        return self._parse_purge_response(await self._delete_async_request(url))

    async def purge_instance_history_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
    ) -> PurgeHistoryResult:
        """Delete the instances matching the conditions.

        Raises:
            ValueError: ``created_time_from`` is missing (the host requires it).
        """
        if created_time_from is None:
            raise ValueError("created_time_from is required when purging instance history")
        options = RpcManagementOptions(
            created_time_from=created_time_from,
            created_time_to=created_time_to,
            runtime_status=runtime_status,
        )
        response = await self._delete_async_request(options.to_url(self._rpc_base_url))
        return self._parse_purge_response(response)

    @staticmethod
    def _parse_purge_response(response: list[Any]) -> PurgeHistoryResult:
        if response[0] == 200 and isinstance(response[1], dict):
            return PurgeHistoryResult.from_json(response[1])
        if response[0] == 404:
            return PurgeHistoryResult(instancesDeleted=0)
        raise _unexpected_status(response)

    async def raise_event(
        self,
        instance_id: str,
        event_name: str,
        event_data: Any = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        """Send an event to an instance waiting in ``wait_for_external_event``.

        The data is sent as JSON once, so the orchestrator receives the value
        itself (the reference sent its JSON text, upstream issue #295).

        Raises:
            ValueError: ``event_name`` is empty.
            OrchestrationNotFoundError: no such instance.
            HostError: the instance has ended, or the host refused the event.
        """
        if event_name == "":
            raise ValueError("event_name must be a non-empty string.")
        url = f"{self._rpc_base_url}instances/{instance_id}/raiseEvent/{event_name}"
        query = [f"taskHub={task_hub_name}"] if task_hub_name else []
        if connection_name:
            query.append(f"connection={connection_name}")
        if query:
            url += "?" + "&".join(query)
        response = await self._post_async_request(
            url,
            RawJson(df_dumps(event_data)),
            function_invocation_id=self._function_invocation_id,
        )
        status = response[0]
        if status == 202:
            return
        if status == 404:
            raise _not_found(instance_id, quoted=False)
        if status == 410:
            message = f"Instance with ID {instance_id} is gone: either completed or failed"
            raise _refused(status, message, response[1])
        if status == 400:
            message = "Only application/json request content is supported"
            raise _refused(status, message, response[1])
        raise _unexpected_status(response)

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Stop a running instance; an already finished one is left as is."""
        await self._change_state(instance_id, "terminate", reason)

    async def suspend(self, instance_id: str, reason: str) -> None:
        """Suspend a running instance until ``resume``."""
        await self._change_state(instance_id, "suspend", reason)

    async def resume(self, instance_id: str, reason: str) -> None:
        """Resume a suspended instance."""
        await self._change_state(instance_id, "resume", reason)

    async def _change_state(self, instance_id: str, operation: str, reason: str) -> None:
        url = f"{self._rpc_base_url}instances/{instance_id}/{operation}?reason={quote(reason)}"
        response = await self._post_async_request(
            url, None, function_invocation_id=self._function_invocation_id
        )
        if response[0] in (202, 410):
            return
        if response[0] == 404:
            raise _not_found(instance_id, quoted=True)
        raise _unexpected_status(response)

    async def rewind(
        self,
        instance_id: str,
        reason: str,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        """Rerun a failed instance from its last good state."""
        base = self._orchestration_bindings.rpc_base_url
        if not base:
            raise HostError(
                "The Python SDK only supports RPC endpoints."
                "Please remove the `localRpcEnabled` setting from host.json"
            )
        url = f"{base}instances/{instance_id}/rewind?reason={reason}"
        if task_hub_name is not None:
            url += f"&taskHub={task_hub_name}"
        if connection_name is not None:
            url += f"&connection={connection_name}"
        response = await self._post_async_request(
            url, None, function_invocation_id=self._function_invocation_id
        )
        status, payload = response[0], response[1]
        if status in (200, 202):
            return
        if status == 404:
            raise _not_found(instance_id, quoted=False)
        if status == 410:
            message = "The rewind operation is only supported on failed orchestration instances."
            raise _refused(status, message, payload)
        raise _unexpected_status(response)

    async def restart(self, instance_id: str, restart_with_new_instance_id: bool = True) -> str:
        """Start the instance again with its original input; returns the id it runs under.

        The host answers with a check-status object; its ``id`` is returned (the
        reference returned the whole object).
        """
        flag = str(restart_with_new_instance_id).lower()
        url = f"{self._rpc_base_url}instances/{instance_id}/restart?restartWithNewInstanceId={flag}"
        response = await self._post_async_request(
            url, None, function_invocation_id=self._function_invocation_id
        )
        status, payload = response[0], response[1]
        if status == 404:
            raise _not_found(instance_id, quoted=True)
        if status == 400:
            # The extension answers 400 both for an unknown id and for a refused restart.
            if not await self.get_status(instance_id):
                raise _not_found(instance_id, quoted=True)
            message = _host_message(payload) or f"The host refused to restart {instance_id}."
            raise _refused(status, message, payload)
        if status not in (202, 410):
            raise _unexpected_status(response)
        if isinstance(payload, dict) and payload.get("id"):
            return str(payload["id"])
        if isinstance(payload, str) and payload:
            return payload
        return instance_id

    # -- entities ------------------------------------------------------------

    async def signal_entity(
        self,
        entityId: _EntityIdLike,  # the reference's spelling
        operation_name: str,
        operation_input: Any | None = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        """Send a one-way operation to an entity.

        Every input except ``None`` is sent (the reference dropped falsy inputs
        such as ``0``, ``""`` or ``False``).
        """
        options = RpcManagementOptions(
            operation_name=operation_name,
            connection_name=connection_name,
            task_hub_name=task_hub_name,
            entity_Id=entityId,
        )
        url = options.to_url(self._rpc_base_url)
        body = df_dumps(operation_input) if operation_input is not None else None
        trace_parent, trace_state = self._get_current_activity_context()
        response = await self._post_async_request(
            url, body, trace_parent, trace_state, self._function_invocation_id
        )
        if response[0] != 202:
            raise _unexpected_status(response)

    async def read_entity_state(
        self,
        entityId: _EntityIdLike,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> EntityStateResponse:
        """Read an entity's current state."""
        options = RpcManagementOptions(
            connection_name=connection_name, task_hub_name=task_hub_name, entity_Id=entityId
        )
        response = await self._get_async_request(options.to_url(self._rpc_base_url))
        if response[0] == 200:
            return EntityStateResponse(True, response[1])
        if response[0] == 404:
            return EntityStateResponse(False)
        raise _unexpected_status(response)

    async def list_entities(
        self,
        entity_name: str | None = None,
        last_operation_time_from: datetime | None = None,
        last_operation_time_to: datetime | None = None,
        fetch_state: bool = False,
        page_size: int = 100,
        task_hub_name: str | None = None,
    ) -> list[DurableEntityStatus]:
        """Every entity (of ``entity_name``), all pages; an addition (reference issue #297)."""
        url = entities_url(
            self._rpc_base_url,
            entity_name,
            (last_operation_time_from, last_operation_time_to),
            fetch_state=fetch_state,
            page_size=page_size,
            task_hub_name=task_hub_name,
        )
        items = await read_all_pages(self._get_async_request, url, _unexpected_status)
        return [DurableEntityStatus.from_json(item) for item in items]

    # -- HTTP responses for client functions -------------------------------

    def get_client_response_links(
        self, request: func.HttpRequest | None, instance_id: str
    ) -> dict[str, str]:
        """The instance's management URLs, on the request's origin when one is given."""
        urls = self._orchestration_bindings.management_urls
        placeholder = urls.get("id", "INSTANCEID")
        request_url = getattr(request, "url", None) if request is not None else None
        links: dict[str, str] = {}
        for key, value in urls.items():
            if request_url and isinstance(value, str):
                value = _replace_origin(request_url, value)
            links[key] = (
                value.replace(placeholder, instance_id) if isinstance(value, str) else value
            )
        return links

    def create_http_management_payload(self, instance_id: str) -> dict[str, str]:
        """The instance's management URLs as the host published them."""
        return self.get_client_response_links(None, instance_id)

    def create_check_status_response(
        self, request: func.HttpRequest, instance_id: str
    ) -> func.HttpResponse:
        """A 202 response with a ``Location`` header and the management URLs as body."""
        import azure.functions as func

        payload = self.get_client_response_links(request, instance_id)
        return func.HttpResponse(
            status_code=202,
            body=json.dumps(payload),
            headers={
                "Content-Type": "application/json",
                "Location": payload.get("statusQueryGetUri", ""),
                "Retry-After": "10",
            },
        )

    async def wait_for_completion_or_create_check_status_response(
        self,
        request: func.HttpRequest,
        instance_id: str,
        timeout_in_milliseconds: int = 10000,
        retry_interval_in_milliseconds: int = 1000,
    ) -> func.HttpResponse:
        """Wait up to the timeout for the instance to end, else answer as check-status.

        Completed → 200 with the output; Terminated or Canceled → 200 and Failed → 500,
        both with the status as JSON.
        """
        self._check_wait_intervals(timeout_in_milliseconds, retry_interval_in_milliseconds)
        deadline = self._wait_clock() + timedelta(milliseconds=timeout_in_milliseconds)
        interval = timedelta(milliseconds=retry_interval_in_milliseconds)
        while True:
            # A status call gets the time left (at least a second): a silent host does
            # not hold this wait past its timeout.
            left = max((deadline - self._wait_clock()).total_seconds(), 1.0)
            try:
                with call_timeout(left):
                    ended = self._ended_response(await self.get_status(instance_id))
            except HostTimeoutError:
                if self._wait_clock() < deadline:
                    raise
                ended = None  # the host did not answer in time: answer with the links
            if ended is not None:
                return ended
            now = self._wait_clock()
            if now >= deadline:
                return self.create_check_status_response(request, instance_id)
            await self._wait_pause(min(interval, deadline - now))

    def _wait_clock(self) -> timedelta:
        """The clock of ``wait_for_completion_or_create_check_status_response`` (monotonic)."""
        return timedelta(seconds=time.monotonic())

    async def _wait_pause(self, delay: timedelta) -> None:
        """Let ``delay`` pass between two status checks of that wait."""
        await asyncio.sleep(delay.total_seconds())

    @staticmethod
    def _check_wait_intervals(
        timeout_in_milliseconds: int, retry_interval_in_milliseconds: int
    ) -> None:
        """The reference's argument check for the wait-or-check-status helpers."""
        if retry_interval_in_milliseconds > timeout_in_milliseconds:
            raise ValueError(
                f"Total timeout {timeout_in_milliseconds} (ms) should be bigger than "
                f"retry timeout {retry_interval_in_milliseconds} (ms)"
            )

    def _ended_response(self, status: DurableOrchestrationStatus) -> func.HttpResponse | None:
        """The answer for an instance that has ended, or None while it still runs."""
        if not status:
            return None
        runtime = status.runtime_status
        if runtime is OrchestrationRuntimeStatus.Completed:
            return self._create_http_response(200, status.output)
        if runtime in (OrchestrationRuntimeStatus.Canceled, OrchestrationRuntimeStatus.Terminated):
            return self._create_http_response(200, status.to_json())
        if runtime is OrchestrationRuntimeStatus.Failed:
            return self._create_http_response(500, status.to_json())
        return None

    @staticmethod
    def _create_http_response(status_code: int, body: Any) -> func.HttpResponse:
        import azure.functions as func

        # As in the reference, a str output goes out as is (not as a JSON string).
        text = body if isinstance(body, str) else json.dumps(body)
        return func.HttpResponse(
            status_code=status_code,
            body=text,
            mimetype="application/json",
            headers={"Content-Type": "application/json"},
        )

    @staticmethod
    def _get_current_activity_context() -> tuple[str | None, str | None]:
        """W3C trace headers of the current OpenTelemetry span, if the app uses OpenTelemetry."""
        if "opentelemetry.trace" not in sys.modules:
            return None, None
        try:
            from opentelemetry.trace.propagation.tracecontext import (  # type: ignore[import-not-found]
                TraceContextTextMapPropagator,
            )
        except ImportError:
            return None, None
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        return carrier.get("traceparent"), carrier.get("tracestate")


def _replace_origin(request_url: str, value_url: str) -> str:
    request_parts = urlsplit(request_url)
    value_parts = urlsplit(value_url)
    request_origin = f"{request_parts.scheme}://{request_parts.netloc}/"
    value_origin = f"{value_parts.scheme}://{value_parts.netloc}/"
    return value_url.replace(value_origin, request_origin)
