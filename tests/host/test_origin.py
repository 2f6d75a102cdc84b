"""Origin and Host checks: a web page on another site cannot drive or read the host."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from apps.harness import Host, running_host

from durable_functions._http import close_shared_client
from durable_functions.client import DurableOrchestrationClient
from durable_functions.host.origin import OriginGuard

LOCAL = OriginGuard.for_address("127.0.0.1")


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl without a Host header, a raw socket client
        {"host": "127.0.0.1:7071"},  # curl, the SDK client, the Functions runtime
        {"host": "localhost:7071", "origin": "http://localhost:7071"},
        {"host": "[::1]:7071", "origin": "http://[::1]:7071", "sec-fetch-site": "same-origin"},
        {"host": "127.0.0.1:7071", "sec-fetch-site": "none"},  # typed into the address bar
    ],
)
def test_same_origin_and_non_browser_requests_may_change_things(headers: dict[str, str]) -> None:
    assert LOCAL.refusal("POST", headers) is None


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"host": "127.0.0.1:7071", "origin": "http://evil.example"}, "another origin"),
        ({"host": "127.0.0.1:7071", "origin": "null"}, "another origin"),
        ({"host": "127.0.0.1:7071", "origin": "http://127.0.0.1:8080"}, "another origin"),
        ({"host": "127.0.0.1:7071", "sec-fetch-site": "cross-site"}, "another site"),
        ({"host": "127.0.0.1:7071", "sec-fetch-site": "same-site"}, "another site"),
        ({"host": "evil.example:7071"}, "DNS-rebinding"),
    ],
)
def test_cross_site_requests_are_refused_with_the_reason(headers: dict[str, str], why: str) -> None:
    refusal = LOCAL.refusal("DELETE", headers)
    assert refusal is not None and why in refusal


def test_reads_are_refused_only_under_a_foreign_host_name() -> None:
    assert LOCAL.refusal("GET", {"host": "127.0.0.1:7071", "origin": "http://evil.example"}) is None
    assert LOCAL.refusal("GET", {"host": "rebound.evil.example:7071"}) is not None


def test_a_host_bound_to_every_interface_accepts_addresses_and_allowed_names() -> None:
    guard = OriginGuard.for_address("0.0.0.0", ["devbox.lan"])

    assert guard.host_allowed("192.168.1.20:7071")
    assert guard.host_allowed("DevBox.lan:7071")
    assert not guard.host_allowed("evil.example:7071")
    assert not OriginGuard.for_address("127.0.0.1").host_allowed("192.168.1.20:7071")


# -- against a running host -------------------------------------------------------------


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with running_host(tmp_path_factory.mktemp("origin")) as running:  # one host for the module
        yield running


MANAGEMENT = "/runtime/webhooks/durabletask"


@pytest.mark.e2e
def test_a_cross_origin_post_is_refused_and_changes_nothing(host: Host) -> None:
    instance_id = host.start("wait_event")
    host.wait(instance_id, until={"Running"})
    path = f"{MANAGEMENT}/instances/{instance_id}/terminate?reason=evil"

    refused = host.request("POST", path, headers={"Origin": "http://evil.example"})
    fetched = host.request("POST", path, headers={"Sec-Fetch-Site": "cross-site"})

    assert refused.status == fetched.status == 403
    assert "another origin" in refused.json()["Message"]
    assert host.status(instance_id).json()["runtimeStatus"] == "Running"
    same = host.request("POST", path, headers={"Origin": host.base})
    assert same.status == 202
    assert host.wait(instance_id)["runtimeStatus"] == "Terminated"


@pytest.mark.e2e
def test_a_rebinding_host_name_is_refused_even_for_reads(host: Host) -> None:
    port = host.base.rsplit(":", 1)[1]

    reply = host.request("GET", f"{MANAGEMENT}/instances/", headers={"Host": f"evil.ex:{port}"})
    page = host.request("GET", "/dashboard/", headers={"Host": f"evil.ex:{port}"})
    local = host.request("GET", f"{MANAGEMENT}/instances/", headers={"Host": f"localhost:{port}"})

    assert (reply.status, page.status, local.status) == (403, 403, 200)
    assert "DNS-rebinding" in reply.json()["Message"]


@pytest.mark.e2e
def test_the_app_functions_are_not_subject_to_the_check(host: Host) -> None:
    reply = host.request("POST", "/api/echo", body="hi", headers={"Origin": "http://other.app"})
    assert reply.status == 200


@pytest.mark.e2e
def test_the_sdk_client_still_drives_the_host(host: Host) -> None:
    binding = host.request("GET", "/api/binding").body.decode()

    async def run() -> tuple[str, object]:
        client = DurableOrchestrationClient(binding)
        try:
            instance_id = await client.start_new("wait_event")
            await client.terminate(instance_id, "done")
            for _ in range(200):
                status = await client.get_status(instance_id)
                if status.runtime_status and status.runtime_status.value == "Terminated":
                    break
                await asyncio.sleep(0.05)
            return instance_id, status.runtime_status.value if status.runtime_status else None
        finally:
            await close_shared_client()

    _instance_id, final = asyncio.run(run())
    assert final == "Terminated"
    assert json.loads(binding)["rpcBaseUrl"].startswith(host.base)


@pytest.mark.e2e
def test_the_dashboard_serves_its_pages_and_files_only(host: Host) -> None:
    page = host.request("GET", "/dashboard/instances/some%2Fid")
    script = host.request("GET", "/dashboard/static/app.js")
    meta = host.request("GET", "/dashboard/meta.json").json()

    assert page.status == 200 and b'<script src="/dashboard/static/app.js"' in page.body
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert meta["eventTypes"]["4"] == "TaskScheduled" and "Suspended" in meta["runtimeStatuses"]
    assert {"name": "counter", "kind": "entity"}.items() <= next(
        f for f in meta["functions"] if f["name"] == "counter"
    ).items()
    assert host.request("GET", "/dashboard/static/../cli.py").status == 404
    assert host.request("GET", "/dashboard/nothing/here").status == 404
    assert host.request("GET", "/dashboard").body == page.body  # redirected to /dashboard/
    assert host.request("POST", "/dashboard/", headers={"Origin": host.base}).status == 405
