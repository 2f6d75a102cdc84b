"""The HTTP edge closes slow, idle and HTTP/1.0 connections, and caps how many it holds.

Each test talks raw HTTP over a socket to a real ``durable start`` process whose
limits are shortened through ``DURABLE_HTTP_LIMITS``, so a timeout shows in about
a second. After each misbehaving client the host must still answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from apps.harness import Host, copy_app, launch

pytestmark = pytest.mark.e2e

LIMITS = "idle=1,head=1,read=1,connections=8"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("edge")
    app_dir = copy_app("sdk_app", tmp)
    running = launch(app_dir, tmp / "hub.sqlite3", env={"DURABLE_HTTP_LIMITS": LIMITS})
    try:
        yield running
    finally:
        running.stop()


def _connect(host: Host) -> socket.socket:
    address = urlsplit(host.base)
    assert address.hostname is not None and address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=5)


def _read_to_eof(sock: socket.socket) -> bytes:
    """Everything until the host closes; a socket timeout fails the test (the host hung)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _still_serves(host: Host) -> None:
    reply = host.request("GET", "/", timeout=5)
    assert reply.status == 200, host.tail()


def test_an_http10_request_is_answered_and_the_connection_closed(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"local host is running" in answer
    assert b"connection: close" in answer.lower()


def test_an_http11_request_asking_to_close_is_closed_after_the_answer(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _read_to_eof(sock).startswith(b"HTTP/1.1 200")


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        answer = _read_to_eof(sock)  # the answer, then the close at the idle timeout
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1
    assert b"local host is running" in answer
    assert time.monotonic() - started < 4.5


def test_two_requests_on_one_connection_are_both_answered(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = _read_to_eof(sock)
    assert answers.count(b"HTTP/1.1 200") == 2


def test_a_head_that_stops_midway_gets_a_408_and_a_close(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHo")
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive in time" in answer
    _still_serves(host)


def test_a_head_dripped_byte_by_byte_is_cut_off_at_the_head_timeout(host: Host) -> None:
    """Each byte arrives well within the timeout; the whole head does not."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    started = time.monotonic()
    with _connect(host) as sock:
        answer = b""
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the host closed the connection: what we wait for
                break
            time.sleep(0.05)
            if time.monotonic() - started > 6:
                break
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < 6
    _still_serves(host)


def test_a_body_that_stalls_gets_a_408(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"stalled" in answer
    _still_serves(host)


def test_a_body_over_the_limit_is_refused_before_it_is_read(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_connections_over_the_cap_get_a_503_and_the_host_serves_after(host: Host) -> None:
    held = [_connect(host) for _ in range(8)]
    try:
        for sock in held:  # each is accepted and served: the host holds all eight
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(12) == b"HTTP/1.1 200"
        with _connect(host) as extra:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = _read_to_eof(extra)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"too many open connections" in answer
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the host sees the closes shortly
        if host.request("GET", "/", timeout=5).status == 200:
            break
        time.sleep(0.05)
    _still_serves(host)
    assert "Traceback" not in host.tail(200)


def test_bad_limits_in_the_environment_stop_the_start_with_a_message(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    with pytest.raises(AssertionError, match="DURABLE_HTTP_LIMITS: 'idle=soon'"):
        launch(app_dir, tmp_path / "hub.sqlite3", env={"DURABLE_HTTP_LIMITS": "idle=soon"})


@pytest.mark.parametrize(
    ("request_bytes", "status", "says"),
    [
        pytest.param(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n4\r\npong\r\n0\r\n\r\n",
            b"400",
            b"both Content-Length and Transfer-Encoding",
            id="length-and-chunked",
        ),
        pytest.param(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            b"400",
            b"malformed Content-Length",
            id="two-lengths",
        ),
        pytest.param(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"501",
            b"only the chunked transfer coding",
            id="other-coding",
        ),
        pytest.param(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", b"505", b"HTTP/2.0", id="version"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", b"400", b"malformed header", id="space-in-name"
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
            b"400",
            b"malformed header",
            id="folded-line",
        ),
        pytest.param(b"GET /\r\n\r\n", b"400", b"malformed request line", id="no-version"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
            b"431",
            b"larger than",
            id="head-too-large",
        ),
    ],
)
def test_a_request_that_breaks_the_framing_rules_is_refused_and_closed(
    host: Host, request_bytes: bytes, status: bytes, says: bytes
) -> None:
    with _connect(host) as sock:
        sock.sendall(request_bytes)
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert says in answer
    _still_serves(host)


def test_an_http10_request_asking_for_keep_alive_keeps_its_connection(host: Host) -> None:
    with _connect(host) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
        answers = _read_to_eof(sock)  # both answered, then closed at the idle timeout
    assert answers.count(b"HTTP/1.1 200") == 2
    assert b"Connection: keep-alive" in answers
