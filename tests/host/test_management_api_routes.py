"""The management route table on its own: a MemoryBackend, a virtual clock, no HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from durable_functions.errors import (
    FunctionNotFoundError,
    InstanceStateError,
    OrchestrationNotFoundError,
)
from durable_functions.host import management
from durable_functions.host.api import ApiResponse, ManagementApi
from durable_functions.host.clock import VirtualClock
from durable_functions.host.http import Request
from durable_functions.host.memory import MemoryBackend

START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:7071"


def _resolve(name: str) -> str:
    if name.lower() != "hello":
        raise FunctionNotFoundError(name)
    return "hello"


@pytest.fixture
def api() -> ManagementApi:
    backend = MemoryBackend()
    ids = iter(f"id-{n}" for n in range(1000))
    return ManagementApi(
        backends=lambda _hub: (backend, "Hub"),
        clock=VirtualClock(START),
        resolve_orchestrator=_resolve,
        known_orchestrators=lambda: ["hello"],
        new_id=lambda: next(ids),
    )


def call(
    api: ManagementApi,
    method: str,
    target: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> ApiResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    sent = dict(headers or ({"content-type": "application/json"} if body is not None else {}))
    return api.handle(_request(method, target, sent, raw))


def _request(method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
    path, _, query = target.partition("?")
    return Request(
        method=method,
        target=target,
        path=path,
        query=dict(p.split("=", 1) for p in query.split("&") if p),
        headers=headers,
        body=body,
        base_url=BASE,
    )


def test_start_answers_the_check_status_links_with_the_id_percent_encoded(
    api: ManagementApi,
) -> None:
    answer = call(api, "POST", "/runtime/webhooks/durabletask/orchestrators/hello/a%20b", 1)

    assert answer.status == 202
    assert answer.body["id"] == "a b"
    assert answer.body["statusQueryGetUri"] == (
        f"{BASE}/runtime/webhooks/durabletask/instances/a%20b?taskHub=Hub&connection=Storage"
    )
    assert dict(answer.headers)["Retry-After"] == "10"
    assert answer.wait is None


def test_a_second_start_of_a_live_id_is_refused_with_the_host_text(api: ManagementApi) -> None:
    call(api, "POST", "/durabletask/orchestrators/hello/same")

    answer = call(api, "POST", "/durabletask/orchestrators/hello/same")

    assert (answer.status, answer.body["Message"]) == (
        400,
        "An instance with ID 'same' already exists and is still running.",
    )


def test_an_unknown_orchestrator_is_a_400_naming_the_known_ones(api: ManagementApi) -> None:
    answer = call(api, "POST", "/durabletask/orchestrators/nope")

    assert answer.status == 400
    assert answer.body["Message"].endswith("Known orchestrators: hello.")


def test_a_start_with_a_timeout_asks_the_transport_to_wait(api: ManagementApi) -> None:
    answer = call(api, "POST", "/durabletask/orchestrators/hello/w?timeout=5&pollingInterval=1")

    assert answer.wait is not None
    assert (answer.wait.instance_id, answer.wait.timeout, answer.wait.interval) == ("w", 5, 1)


def test_raise_event_needs_json_content(api: ManagementApi) -> None:
    call(api, "POST", "/durabletask/orchestrators/hello/e")

    answer = call(
        api, "POST", "/durabletask/instances/e/raiseEvent/Go", 1, {"content-type": "text/plain"}
    )

    assert (answer.status, answer.body["Message"]) == (
        400,
        "Only application/json request content is supported",
    )


def test_unknown_routes_are_404s_with_the_host_texts(api: ManagementApi) -> None:
    assert call(api, "GET", "/durabletask/").body["Message"] == "no such management route"
    assert call(api, "PUT", "/durabletask/entities/a/b").body["Message"] == (
        "no entity route for PUT"
    )
    assert call(api, "POST", "/durabletask/entities/a").body["Message"] == (
        "entity routes are entities/{name}/{key}"
    )
    assert call(api, "GET", "/durabletask/orchestrators/x").body["Message"] == (
        "no management route for GET /durabletask/orchestrators/x"
    )


def test_listing_pages_by_top_with_a_continuation_header(api: ManagementApi) -> None:
    for n in range(3):
        call(api, "POST", f"/durabletask/orchestrators/hello/i{n}")

    first = call(api, "GET", "/durabletask/instances?top=2")

    assert [s["instanceId"] for s in first.body] == ["i0", "i1"]
    assert "x-ms-continuation-token" in dict(first.headers)


def test_control_of_a_purged_instance_is_a_404(api: ManagementApi) -> None:
    call(api, "POST", "/durabletask/orchestrators/hello/t")
    backend, _ = api.backends(None)
    management.purge(backend, "t")

    assert call(api, "POST", "/durabletask/instances/t/terminate").status == 404


def test_management_refusals_carry_their_http_status() -> None:
    backend = MemoryBackend()
    management.start(backend, "hello", now=START, instance_id="r")

    with pytest.raises(InstanceStateError) as refused:
        management.rewind(backend, "r", "why", now=START)
    with pytest.raises(OrchestrationNotFoundError) as unknown:
        management.restart(backend, "nobody", now=START)

    assert (refused.value.status, str(refused.value)) == (
        410,
        "The rewind operation is only supported on failed orchestration instances.",
    )
    assert unknown.value.status == 400  # as the extension answers a restart of an unknown id


def _raw(api: ManagementApi, target: str, raw: bytes) -> ApiResponse:
    return api.handle(_request("POST", target, {"content-type": "application/json"}, raw))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"NaN", "NaN"),
        (b'{"x": Infinity}', "Infinity"),
        (b"[-Infinity]", "-Infinity"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bodies_that_are_not_json_by_the_rfc_are_400s(
    api: ManagementApi, raw: bytes, reason: str
) -> None:
    answer = _raw(api, "/durabletask/orchestrators/hello/n", raw)

    assert answer.status == 400
    assert "not valid JSON" in answer.body["Message"] and reason in answer.body["Message"]
    assert call(api, "GET", "/durabletask/instances/n").status == 404  # nothing was stored


@pytest.mark.parametrize(
    "query",
    [
        "timeout=nan",
        "timeout=inf",
        "timeout=-1",
        "timeout=100000",
        "timeout=5&pollingInterval=1e-300",
        "timeout=5&pollingInterval=nan",
        "timeout=5&pollingInterval=6",
    ],
)
def test_waits_are_bounded(api: ManagementApi, query: str) -> None:
    answer = call(api, "POST", f"/durabletask/orchestrators/hello/w?{query}")

    assert answer.status == 400
    assert answer.wait is None


def test_a_page_larger_than_the_limit_is_a_400(api: ManagementApi) -> None:
    answer = call(api, "GET", f"/durabletask/instances?top={2**63 - 1}")

    assert answer.status == 400
    assert "top must be at most 10000" in answer.body["Message"]
    assert call(api, "GET", "/durabletask/entities/counter?top=99999999").status == 400
