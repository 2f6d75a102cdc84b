"""A real ``DurableOrchestrationClient`` whose HTTP calls are answered in process.

The client's own code runs unchanged (URLs, bodies, status-code handling); only
its three transport functions are swapped for ones that hand the request, as the
SDK's transport would put it on the wire, to the local host's management route
table (``durable_functions.host.api``) over the test environment's backend. So
the answers are the host's: same status codes, bodies, headers and refusal texts.
Nothing touches the network.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from durable_functions._http import HttpResponse, requote
from durable_functions.client import (
    DurableOrchestrationClient,
    HttpResult,
    _encode_body,
)
from durable_functions.host.api import ApiRequest, ManagementApi, error_answer, management_rest
from durable_functions.host.payloads import client_binding_payload

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BASE_URL = "http://localhost:7071"
TASK_HUB = "TestHub"


def binding_payload() -> str:
    """The ``durableClient`` binding JSON the host would pass in (protocol §8.1)."""
    return client_binding_payload(BASE_URL, TASK_HUB)


class ClientEnvironment(Protocol):
    """What the client needs from a test environment (``OrchestrationTestEnv`` is one)."""

    @property
    def now(self) -> datetime:
        """The current virtual time."""
        ...

    def management_api(self) -> ManagementApi:
        """The management routes over the environment's backend."""
        ...

    def run_until_idle(self) -> int:
        """Do the work that is due now."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Let virtual time pass."""
        ...


class TestDurableClient(DurableOrchestrationClient):
    """The SDK's client, answered by an ``OrchestrationTestEnv`` instead of a host."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, env: ClientEnvironment, *, auto_run: bool = True) -> None:
        super().__init__(binding_payload())
        self.env = env
        self.auto_run = auto_run
        self._api = env.management_api()
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
        body = _encode_body(data)
        headers = {"content-type": "application/json; charset=utf-8"} if body is not None else {}
        return self._answer("POST", url, body or b"", headers)

    async def _get(
        self, url: str, function_invocation_id: str | None = None, **options: Any
    ) -> HttpResult:
        headers = {k.lower(): v for k, v in dict(options.get("headers") or {}).items()}
        result = self._answer("GET", url, b"", headers)
        if result[1] is None:
            return HttpResult(result[0], "", result.headers)
        return result

    async def _delete(self, url: str, function_invocation_id: str | None = None) -> HttpResult:
        return self._answer("DELETE", url, b"", {})

    def _answer(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
        if self.auto_run:
            self.env.run_until_idle()
        parts = urlsplit(url)
        target = requote(url)  # what the SDK's transport sends as the request target
        path = urlsplit(target).path
        rest = management_rest(path)
        if rest is None:
            answer = error_answer(404, f"no management route for {method} {path}")
        else:
            answer = self._api.handle(
                ApiRequest(
                    method=method,
                    path=path,
                    rest=rest,
                    query=dict(parse_qsl(urlsplit(target).query, keep_blank_values=True)),
                    headers=headers,
                    body=body,
                    base_url=f"{parts.scheme}://{parts.netloc}",
                    url=f"{parts.scheme}://{parts.netloc}{target}",
                )
            )
        if self.auto_run and method != "GET":
            self.env.run_until_idle()
        # Read the answer as the SDK's transport reads one off the wire.
        response = HttpResponse(
            status=answer.status,
            headers={name.lower(): value for name, value in answer.wire_headers()},
            body=answer.wire_body(),
        )
        return HttpResult(response.status, response.json(), response.headers)

    # -- waiting happens in virtual time (timers fire meanwhile) ---------------------------

    def _wait_clock(self) -> timedelta:
        return self.env.now - _EPOCH

    async def _wait_pause(self, delay: timedelta) -> None:
        self.env.advance(delay)
