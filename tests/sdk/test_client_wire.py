"""What the client puts on the wire, read by a real HTTP server on 127.0.0.1.

The server records each request and answers with a scripted response, so every
test checks one piece of the wire format of protocol §8.2/§8.3 (bodies, headers,
paging) and the HTTP layer's own behaviour (keep-alive, chunked bodies).
"""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from durable_functions._http import HttpClient, close_shared_client, requote
from durable_functions.client import BODY_SHOWN, DurableOrchestrationClient, call_timeout
from durable_functions.entity import EntityId
from durable_functions.errors import (
    HostError,
    HostResponseError,
    HostTimeoutError,
    OrchestrationNotFoundError,
)


@dataclass
class Recorded:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Server:
    port: int
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    connections: int = 0
    answer: Callable[[Recorded], Reply] | None = None

    @property
    def rpc(self) -> str:
        return f"http://127.0.0.1:{self.port}/durabletask/"

    def client(self, invocation_id: str | None = None) -> DurableOrchestrationClient:
        binding = {"taskHubName": "Hub", "managementUrls": {}, "rpcBaseUrl": self.rpc}
        return DurableOrchestrationClient(json.dumps(binding), invocation_id)

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.replies.append((status, headers or {}, data))


def _reason(status: int) -> str:
    return {200: "OK", 202: "Accepted", 404: "Not Found"}.get(status, "Status")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = raw.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                recorded = Recorded(method, target, headers, body)
                state.requests.append(recorded)
                if state.answer is not None:
                    status, extra, data = state.answer(recorded)
                else:
                    status, extra, data = state.replies.pop(0) if state.replies else (200, {}, b"")
                head = f"HTTP/1.1 {status} {_reason(status)}\r\n"
                if extra.get("Transfer-Encoding") == "chunked":
                    chunks = b"".join(
                        f"{len(data[i : i + 3]):x}\r\n".encode() + data[i : i + 3] + b"\r\n"
                        for i in range(0, len(data), 3)
                    )
                    data = chunks + b"0\r\n\r\n"
                else:
                    extra = {**extra, "Content-Length": str(len(data))}
                head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                writer.write(head.encode() + b"\r\n" + data)
                await writer.drain()
                if extra.get("Connection") == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield state
        await close_shared_client()


# -- bodies ----------------------------------------------------------------


async def test_start_new_sends_the_input_json_encoded_twice(server: Server) -> None:
    server.reply(202, {"id": "abc"})

    instance_id = await server.client().start_new("hello", None, {"city": "Tokyo"})

    assert instance_id == "abc"
    assert json.loads(json.loads(server.requests[0].body)) == {"city": "Tokyo"}
    assert server.requests[0].target == "/durabletask/orchestrators/hello"


async def test_start_new_without_input_sends_an_empty_body(server: Server) -> None:
    server.reply(202, {"id": "abc"})

    await server.client().start_new("hello", "my-id")

    assert server.requests[0].body == b""
    assert server.requests[0].target == "/durabletask/orchestrators/hello/my-id"


async def test_start_new_quotes_the_version(server: Server) -> None:
    server.reply(202, {"id": "abc"})

    await server.client().start_new("hello", version="1.0 beta")

    assert server.requests[0].target == "/durabletask/orchestrators/hello?version=1.0%20beta"


async def test_start_new_reports_the_hosts_exception_message_on_400(server: Server) -> None:
    server.reply(400, {"Message": "bad", "ExceptionMessage": "No orchestrator named 'x'."})

    with pytest.raises(HostError, match="No orchestrator named 'x'."):
        await server.client().start_new("x")


async def test_raise_event_sends_the_data_json_encoded_once(server: Server) -> None:
    server.reply(202)

    await server.client().raise_event("abc", "approval", {"ok": True})

    assert json.loads(server.requests[0].body) == {"ok": True}
    assert server.requests[0].headers["content-type"].startswith("application/json")
    assert server.requests[0].target == "/durabletask/instances/abc/raiseEvent/approval"


async def test_raise_event_without_data_sends_json_null(server: Server) -> None:
    server.reply(202)

    await server.client().raise_event("abc", "approval")

    assert server.requests[0].body == b"null"


async def test_signal_entity_sends_a_falsy_input(server: Server) -> None:
    server.reply(202)

    await server.client().signal_entity(EntityId("Counter", "c1"), "add", 0)

    assert json.loads(json.loads(server.requests[0].body)) == 0
    assert server.requests[0].target == "/durabletask/entities/Counter/c1?op=add"


# -- headers -----------------------------------------------------------------


async def test_posts_carry_the_invocation_id(server: Server) -> None:
    server.reply(202)

    await server.client("inv-1").terminate("abc", "stop")

    assert server.requests[0].headers["x-azure-functions-invocationid"] == "inv-1"


async def test_gets_do_not_carry_the_invocation_id(server: Server) -> None:
    server.reply(404)

    await server.client("inv-1").get_status("abc")

    assert "x-azure-functions-invocationid" not in server.requests[0].headers


async def test_terminate_quotes_the_reason(server: Server) -> None:
    server.reply(202)

    await server.client().terminate("abc", "no more")

    assert server.requests[0].target == "/durabletask/instances/abc/terminate?reason=no%20more"


# -- status mapping ------------------------------------------------------------


async def test_get_status_of_an_unknown_instance_is_falsy(server: Server) -> None:
    server.reply(404)

    assert not await server.client().get_status("nope")


async def test_raise_event_to_an_unknown_instance_raises_not_found(server: Server) -> None:
    server.reply(404)

    with pytest.raises(OrchestrationNotFoundError, match="No instance with ID nope found."):
        await server.client().raise_event("nope", "e", 1)


async def test_raise_event_to_a_finished_instance_says_it_is_gone(server: Server) -> None:
    server.reply(410)

    with pytest.raises(HostError, match="is gone: either completed or failed"):
        await server.client().raise_event("abc", "e", 1)


async def test_unexpected_status_names_the_code(server: Server) -> None:
    server.reply(503, "busy")

    with pytest.raises(HostError, match="unexpected status code 503"):
        await server.client().get_status_all()


HTML_PAGE = (
    b"<html><head><title>500 Internal Server Error</title></head><body>"
    + b"<h1>Internal Server Error</h1><p>"
    + b"The proxy failed. " * 100
    + b"</p></body></html>"
)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.start_new("hello"), id="start_new"),
        pytest.param(lambda c: c.terminate("abc", "why"), id="terminate"),
        pytest.param(lambda c: c.raise_event("abc", "e", 1), id="raise_event"),
        pytest.param(lambda c: c.rewind("abc", "why"), id="rewind"),
        pytest.param(lambda c: c.get_status_all(), id="get_status_all"),
    ],
)
async def test_an_html_error_page_raises_the_status_and_a_short_text(
    server: Server, call: Callable[[DurableOrchestrationClient], Any]
) -> None:
    server.replies.append((502, {"Content-Type": "text/html"}, HTML_PAGE))

    with pytest.raises(HostResponseError) as raised:
        await call(server.client())

    error = raised.value
    assert error.status == 502
    assert "502" in str(error)
    assert "<html>" not in str(error) and "Internal Server Error" in str(error)
    assert len(error.body) <= BODY_SHOWN and len(str(error)) < 300


async def test_a_refusal_keeps_the_hosts_message_and_carries_the_status(server: Server) -> None:
    server.reply(400, {"Message": "No orchestrator named 'x'."})

    with pytest.raises(HostResponseError, match="No orchestrator named 'x'.") as raised:
        await server.client().start_new("x")

    assert raised.value.status == 400


async def test_call_timeout_bounds_a_call_to_a_silent_host() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client hangs up
        writer.close()

    async with await asyncio.start_server(silent, "127.0.0.1", 0) as listener:
        port = listener.sockets[0].getsockname()[1]
        binding = {"taskHubName": "Hub", "rpcBaseUrl": f"http://127.0.0.1:{port}/durabletask/"}
        client = DurableOrchestrationClient(json.dumps(binding))
        began = asyncio.get_running_loop().time()

        with pytest.raises(HostTimeoutError, match="did not answer GET"), call_timeout(0.3):
            await client.get_status("abc")

        assert asyncio.get_running_loop().time() - began < 5  # not the 240 s default
        await close_shared_client()


async def test_waiting_for_completion_on_a_silent_host_ends_at_its_own_timeout() -> None:
    import azure.functions as func

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async with await asyncio.start_server(silent, "127.0.0.1", 0) as listener:
        port = listener.sockets[0].getsockname()[1]
        binding = {"taskHubName": "Hub", "rpcBaseUrl": f"http://127.0.0.1:{port}/durabletask/"}
        client = DurableOrchestrationClient(json.dumps(binding))
        request = func.HttpRequest(method="GET", url="http://127.0.0.1/api/x", body=b"")
        began = asyncio.get_running_loop().time()

        response = await client.wait_for_completion_or_create_check_status_response(
            request, "abc", timeout_in_milliseconds=500, retry_interval_in_milliseconds=100
        )

        assert response.status_code == 202  # the check-status answer, not a 240 s hang
        assert asyncio.get_running_loop().time() - began < 5
        await close_shared_client()


def test_call_timeout_refuses_a_timeout_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive number of seconds"), call_timeout(0):
        pass


async def test_restart_returns_the_id_of_the_check_status_object(server: Server) -> None:
    server.reply(202, {"id": "new-id", "statusQueryGetUri": "http://x/instances/new-id"})

    assert await server.client().restart("old-id") == "new-id"
    assert server.requests[0].target.endswith("/restart?restartWithNewInstanceId=true")


async def test_restart_answered_400_for_an_unknown_id_raises_not_found(server: Server) -> None:
    server.reply(400, {"Message": "No instance with ID 'x' found."})
    server.reply(404)

    with pytest.raises(OrchestrationNotFoundError, match="No instance with ID 'x' found."):
        await server.client().restart("x")


async def test_purge_of_an_unknown_instance_deletes_nothing(server: Server) -> None:
    server.reply(404)

    assert (await server.client().purge_instance_history("nope")).instances_deleted == 0


# -- paging ------------------------------------------------------------------


def _status(i: int) -> dict[str, Any]:
    return {
        "instanceId": f"i{i}",
        "runtimeStatus": "Completed",
        "createdTime": "2024-01-01T00:00:00Z",
    }


async def test_get_status_all_follows_the_continuation_token(server: Server) -> None:
    server.reply(200, [_status(i) for i in range(100)], {"x-ms-continuation-token": "page2"})
    server.reply(200, [_status(100)])

    statuses = await server.client().get_status_all()

    assert [s.instance_id for s in statuses] == [f"i{i}" for i in range(101)]
    assert server.requests[1].headers["x-ms-continuation-token"] == "page2"


async def test_get_status_by_stops_on_a_repeated_token(server: Server) -> None:
    server.answer = lambda _: (200, {"x-ms-continuation-token": "same"}, b"[]")

    assert await server.client().get_status_by(instance_id_prefix="a") == []
    assert len(server.requests) == 2


# -- the HTTP layer ----------------------------------------------------------


async def test_requests_reuse_one_kept_alive_connection(server: Server) -> None:
    client = server.client()
    for _ in range(3):
        server.reply(404)
        await client.get_status("x")

    assert server.connections == 1


async def test_a_connection_the_server_closed_is_replaced(server: Server) -> None:
    server.reply(404, None, {"Connection": "close"})
    server.reply(404)
    client = server.client()

    await client.get_status("x")
    await client.get_status("x")

    assert server.connections == 2


async def test_chunked_bodies_are_read(server: Server) -> None:
    server.replies.append((200, {"Transfer-Encoding": "chunked"}, b'{"instancesDeleted": 7}'))

    assert (await server.client().purge_instance_history("a")).instances_deleted == 7


async def test_a_closed_port_raises_a_host_error_that_says_what_to_check() -> None:
    async with await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0) as listener:
        port = listener.sockets[0].getsockname()[1]
    client = HttpClient(connect_timeout=2)

    with pytest.raises(HostError, match="Is the Functions host"):
        await client.request("GET", f"http://127.0.0.1:{port}/durabletask/instances/")


async def test_a_host_that_never_answers_times_out_with_a_host_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client hangs up
        writer.close()

    async with await asyncio.start_server(silent, "127.0.0.1", 0) as listener:
        port = listener.sockets[0].getsockname()[1]
        client = HttpClient(total_timeout=0.3)

        with pytest.raises(HostError, match="did not answer GET"):
            await client.request("GET", f"http://127.0.0.1:{port}/durabletask/instances/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://h/a/i 1", "/a/i%201", id="space-in-path"),
        pytest.param("http://h/a?reason=no more", "/a?reason=no+more", id="space-in-query"),
        pytest.param("http://h/a%20b", "/a%20b", id="already-quoted"),
        pytest.param("http://h/50%", "/50%25", id="stray-percent"),
    ],
)
def test_requote_makes_raw_urls_valid(url: str, expected: str) -> None:
    assert requote(url) == expected


class _NotFound(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client pools the connection

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_pooled_connections_close_when_their_event_loop_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A loop per call (``asyncio.run``) leaves no socket for the garbage collector."""
    gc.collect()  # what earlier tests left (the reference leaks event loops) is not ours
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        binding = {"taskHubName": "Hub", "rpcBaseUrl": f"http://127.0.0.1:{httpd.server_port}/"}
        client = DurableOrchestrationClient(json.dumps(binding))
        try:
            for _ in range(2):
                assert not asyncio.run(client.get_status("x"))
        finally:
            httpd.shutdown()
    gc.collect()

    assert unraisable == []
