"""A real ``DurableOrchestrationClient`` whose HTTP calls are answered in process.

The client's own code runs unchanged (URLs, bodies, headers, status-code handling,
its three transport functions); only the sending is swapped: the request, as the
SDK's transport would put it on the wire, goes to the local host's management
route table (``durable_functions.host.api``) over the test environment's backend.
So the answers are the host's: same status codes, bodies, headers and refusal
texts. Nothing touches the network."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from durable_functions._http import HttpResponse, requote
from durable_functions.client import (
    DurableOrchestrationClient,
    delete_async_request,
    get_async_request,
    post_async_request,
)
from durable_functions.host.api import ManagementApi
from durable_functions.host.http import Request
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
        self._post_async_request = partial(post_async_request, send=self._send)
        self._get_async_request = partial(get_async_request, send=self._send)
        self._delete_async_request = partial(delete_async_request, send=self._send)

    # -- the transport: requests go to the management routes, not the network --------------

    async def _send(
        self, method: str, url: str, *, body: bytes | None, headers: Mapping[str, str]
    ) -> HttpResponse:
        """Answer a request as the host would (in place of the shared HTTP client's)."""
        # Header names arrive lower-cased, as the host's HTTP server hands them on.
        lowered = {name.lower(): value for name, value in headers.items()}
        if self.auto_run:
            self.env.run_until_idle()
        parts = urlsplit(url)
        target = requote(url)  # what the SDK's transport sends as the request target
        answer = self._api.handle(
            Request(
                method=method,
                target=target,
                path=urlsplit(target).path,
                query=dict(parse_qsl(urlsplit(target).query, keep_blank_values=True)),
                headers=lowered,
                body=body or b"",
                base_url=f"{parts.scheme}://{parts.netloc}",
            )
        )
        if self.auto_run and method != "GET":
            self.env.run_until_idle()
        # The answer as the SDK's transport reads one off the wire.
        return HttpResponse(
            status=answer.status,
            headers={name.lower(): value for name, value in answer.wire_headers()},
            body=answer.wire_body(),
        )

    # -- waiting happens in virtual time (timers fire meanwhile) ---------------------------

    def _wait_clock(self) -> timedelta:
        return self.env.now - _EPOCH

    async def _wait_pause(self, delay: timedelta) -> None:
        self.env.advance(delay)
