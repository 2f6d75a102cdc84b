"""The host serves the app's HTTP functions as the Functions host does."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from apps.harness import Host, copy_app, launch

from durable_functions.host.routes import FunctionKeys, RouteTemplate

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("routes")
    started = launch(copy_app("sdk_app", tmp), tmp / "hub.sqlite3")
    yield started
    started.stop()


def test_a_route_parameter_reaches_the_function(host: Host) -> None:
    reply = host.request("GET", "/api/hello/ada")
    assert (reply.status, reply.body) == (200, b"hello ada")


def test_an_optional_route_parameter_may_be_left_out(host: Host) -> None:
    assert host.request("GET", "/api/hello").body == b"hello world"


def test_query_parameters_reach_the_function(host: Host) -> None:
    assert host.request("GET", "/api/hello?name=bob").body == b"hello bob"


def test_headers_set_on_the_http_response_are_sent(host: Host) -> None:
    assert host.request("GET", "/api/hello/x").headers["X-Sample"] == "yes"


def test_an_int_constraint_matches_numbers_only(host: Host) -> None:
    assert host.request("GET", "/api/items/21").body == b"42"
    assert host.request("GET", "/api/items/abc").status == 404


def test_a_method_not_declared_by_the_function_is_refused(host: Host) -> None:
    assert host.request("DELETE", "/api/hello/x").status == 405


def test_a_str_return_value_becomes_a_200_text_response(host: Host) -> None:
    reply = host.request("PUT", "/api/echo", body="ping")
    assert (reply.status, reply.body) == (200, b"ping")
    assert reply.headers["Content-Type"].startswith("text/plain")


def test_a_function_that_raises_gives_500_and_a_logged_traceback(host: Host) -> None:
    assert host.request("GET", "/api/boom").status == 500
    log = host.log.read_text()
    assert "Traceback" in log and "the HTTP function exploded" in log
    assert host.request("GET", "/api/hello").status == 200


def test_an_unknown_path_is_404(host: Host) -> None:
    assert host.request("GET", "/api/nothing-here").status == 404
    assert host.request("GET", "/elsewhere").status == 404


def test_function_keys_are_not_enforced_by_default(host: Host) -> None:
    assert host.request("GET", "/api/secret").body == b"the secret"


def test_the_banner_lists_every_function_with_its_url_or_kind(host: Host) -> None:
    log = host.log.read_text()
    assert re.search(r"hello: \[GET\] http://127\.0\.0\.1:\d+/api/hello/\{name\?\}", log)
    assert "chain: orchestrationTrigger" in log
    assert "add_one: activityTrigger" in log
    assert "counter: entityTrigger" in log
    assert "storageProvider is ignored" in log


def test_the_durable_client_payload_points_at_this_host(host: Host) -> None:
    reply = host.request("POST", "/api/orchestrators/chain", json_body=1)
    links = reply.json()
    assert links["purgeHistoryDeleteUri"].startswith(host.base)
    assert "taskHub=SampleHub" in links["statusQueryGetUri"]


def test_require_keys_enforces_function_keys(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=("--require-keys",))
    try:
        keys = json.loads((app_dir / ".durable" / "keys.json").read_text())
        key = keys["functionKeys"]["default"]
        assert host.request("GET", "/api/secret").status == 401
        assert host.request("GET", "/api/secret?code=wrong").status == 401
        assert host.request("GET", f"/api/secret?code={key}").body == b"the secret"
        assert host.request("GET", "/api/secret", headers={"x-functions-key": key}).status == 200
        assert host.request("GET", "/api/hello").status == 200  # anonymous stays open
    finally:
        host.stop()


def test_route_prefix_from_host_json_is_honoured(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    config = json.loads((app_dir / "host.json").read_text())
    config["extensions"]["http"] = {"routePrefix": "v1"}
    (app_dir / "host.json").write_text(json.dumps(config))
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        assert host.request("GET", "/v1/hello").body == b"hello world"
        assert host.request("GET", "/api/hello").status == 404
    finally:
        host.stop()


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        pytest.param("users/{id}", "/users/7", {"id": "7"}, id="parameter"),
        pytest.param("users/{id}", "/USERS/7", {"id": "7"}, id="case-insensitive-literal"),
        pytest.param("users/{id?}", "/users", {}, id="optional-missing"),
        pytest.param("users/{id:int}", "/users/x", None, id="int-rejects-text"),
        pytest.param("users/{id:int:min(5)}", "/users/3", None, id="min-constraint"),
        pytest.param("users/{id:guid}", "/users/not-a-guid", None, id="guid-constraint"),
        pytest.param("files/{*path}", "/files/a/b/c", {"path": "a/b/c"}, id="catch-all"),
        pytest.param("v{major}.{minor}", "/v1.2", {"major": "1", "minor": "2"}, id="complex"),
        pytest.param("page/{n=1}", "/page", {"n": "1"}, id="default"),
    ],
)
def test_route_templates_match_as_the_functions_host(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert RouteTemplate.compile(template).match(path) == expected


def _raw(host: Host, data: bytes) -> bytes:
    address = urlsplit(host.base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"pong"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        return received


def test_a_chunked_request_body_is_reassembled(host: Host) -> None:
    request = (
        b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n2\r\npo\r\n2\r\nng\r\n0\r\n\r\n"
    )
    answer = _raw(host, request)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"pong")


def test_a_negative_chunk_size_is_a_400_and_the_host_goes_on(host: Host) -> None:
    request = (
        b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n-5\r\npong\r\n0\r\n\r\n"
    )
    answer = _raw(host, request)
    assert answer.startswith(b"HTTP/1.1 400") and b"malformed chunk size" in answer
    assert host.request("GET", "/api/hello/again").status == 200
    assert "connection error" not in host.tail(200)  # no traceback for a bad request


def test_a_key_that_is_not_ascii_is_refused_not_a_crash() -> None:
    keys = FunctionKeys(master_key="m" * 40, function_keys={"default": "f" * 40})
    assert keys.allows("function", "f" * 40)
    assert not keys.allows("function", "ключ")
    assert not keys.allows("admin", "ü" * 40)


def test_expect_100_continue_is_answered_before_the_body(host: Host) -> None:
    address = urlsplit(host.base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"pong")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"pong")


def test_several_set_cookie_headers_are_all_sent(host: Host) -> None:
    address = urlsplit(host.base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(b"GET /api/cookies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode()
    cookies = [line for line in head.splitlines() if line.lower().startswith("set-cookie:")]
    assert cookies == ["Set-Cookie: a=1; Path=/", "Set-Cookie: b=2"]


def test_max_concurrent_activity_functions_limits_parallel_activities(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    config = json.loads((app_dir / "host.json").read_text())
    config["extensions"]["durableTask"]["maxConcurrentActivityFunctions"] = 2
    (app_dir / "host.json").write_text(json.dumps(config))
    activity_log = tmp_path / "activities.jsonl"
    env = {"ACTIVITY_LOG": str(activity_log), "ACTIVITY_DELAY": "0.4"}
    host = launch(app_dir, tmp_path / "hub.sqlite3", env=env)
    try:
        host.wait(host.start("logged_fan_out", "limited"))
    finally:
        host.stop()
    starts = sorted(json.loads(line)[3] for line in activity_log.read_text().splitlines())
    assert len(starts) == 4
    # Two slots: the third activity can only start once one of the first two has finished.
    assert starts[2] - starts[0] >= 0.35
    assert starts[1] - starts[0] < 0.35


def test_the_raw_durable_client_payload_has_the_extension_fields(host: Host) -> None:
    payload = host.request("GET", "/api/binding").json()
    assert set(payload) == {
        "taskHubName",
        "creationUrls",
        "managementUrls",
        "baseUrl",
        "requiredQueryStringParameters",
        "rpcBaseUrl",
        "httpBaseUrl",
        "connectionName",
    }
    assert payload["taskHubName"] == "SampleHub"
    assert payload["rpcBaseUrl"] == f"{host.base}/durabletask/"
    urls = payload["managementUrls"]
    assert urls["id"] == "INSTANCEID"
    assert urls["statusQueryGetUri"] == (
        f"{host.base}/runtime/webhooks/durabletask/instances/INSTANCEID"
        "?taskHub=SampleHub&connection=Storage"
    )
    assert set(urls) >= {"sendEventPostUri", "terminatePostUri", "rewindPostUri", "resumePostUri"}


def test_another_task_hub_is_refused_with_the_hub_this_host_serves(host: Host) -> None:
    reply = host.request(
        "POST", "/runtime/webhooks/durabletask/orchestrators/chain?taskHub=Elsewhere", body=b"1"
    )
    assert reply.status == 400
    assert reply.json()["Message"] == (
        "This host serves the task hub 'SampleHub' only, not 'Elsewhere'."
    )
    same = host.request("GET", "/runtime/webhooks/durabletask/instances?taskHub=samplehub&top=1")
    assert same.status == 200  # hub names match in any case
