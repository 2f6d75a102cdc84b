"""Start-and-wait and restart-and-wait answer the moment the instance finishes.

The ``pollingInterval`` here (10 s) is far longer than the work (well under a second),
so an answer within 2 s shows the wait did not sleep until the next poll.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from apps.harness import Host, Reply, copy_app, launch

pytestmark = pytest.mark.e2e

WEBHOOK = "/runtime/webhooks/durabletask"
LONG_WAIT = "timeout=30&pollingInterval=10"
PROMPT = 2.0
"""Seconds: far under the 10 s polling interval, generous for a loaded machine."""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("wait")
    started = launch(copy_app("sdk_app", tmp), tmp / "hub.sqlite3")
    yield started
    started.stop()


def _timed(host: Host, path: str, value: object = None) -> tuple[Reply, float]:
    began = time.monotonic()
    if value is None:
        reply = host.request("POST", path)
    else:
        reply = host.request("POST", path, json_body=value)
    return reply, time.monotonic() - began


def test_start_and_wait_returns_the_output_as_soon_as_the_instance_completes(host: Host) -> None:
    reply, elapsed = _timed(host, f"{WEBHOOK}/orchestrators/chain?{LONG_WAIT}", "3")
    assert (reply.status, reply.json()) == (200, 5)
    assert elapsed < PROMPT


def test_start_and_wait_returns_500_with_the_status_as_soon_as_the_instance_fails(
    host: Host,
) -> None:
    reply, elapsed = _timed(host, f"{WEBHOOK}/orchestrators/failing?{LONG_WAIT}")
    assert reply.status == 500
    assert reply.json()["runtimeStatus"] == "Failed"
    assert "the orchestrator exploded" in str(reply.json()["output"])
    assert elapsed < PROMPT


def test_start_and_wait_returns_200_with_the_status_as_soon_as_the_instance_is_terminated(
    host: Host,
) -> None:
    instance_id = "terminated-while-waited-on"
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            _timed, host, f"{WEBHOOK}/orchestrators/wait_event/{instance_id}?{LONG_WAIT}"
        )
        host.wait(instance_id, until={"Running"})
        terminated_at = time.monotonic()
        assert host.request("POST", f"{WEBHOOK}/instances/{instance_id}/terminate").status == 202
        reply, _ = waiting.result(timeout=30)
    assert reply.status == 200
    assert reply.json()["runtimeStatus"] == "Terminated"
    assert time.monotonic() - terminated_at < PROMPT


def test_start_and_wait_returns_the_check_status_response_when_the_timeout_passes_first(
    host: Host,
) -> None:
    reply, elapsed = _timed(host, f"{WEBHOOK}/orchestrators/timer?timeout=1&pollingInterval=1", "5")
    body = reply.json()
    assert reply.status == 202
    assert reply.headers["Location"] == body["statusQueryGetUri"]
    assert host.status(body["id"]).json()["runtimeStatus"] == "Running"
    assert 1.0 <= elapsed < 1.0 + PROMPT


def test_restart_and_wait_returns_the_output_as_soon_as_the_new_instance_completes(
    host: Host,
) -> None:
    instance_id = host.start("chain", 10)
    host.wait(instance_id)
    reply, elapsed = _timed(host, f"{WEBHOOK}/instances/{instance_id}/restart?{LONG_WAIT}")
    assert (reply.status, reply.json()) == (200, 12)
    assert elapsed < PROMPT


def test_restart_and_wait_returns_500_with_the_status_as_soon_as_the_new_instance_fails(
    host: Host,
) -> None:
    instance_id = host.start("failing")
    host.wait(instance_id)
    reply, elapsed = _timed(host, f"{WEBHOOK}/instances/{instance_id}/restart?{LONG_WAIT}")
    assert reply.status == 500
    assert reply.json()["runtimeStatus"] == "Failed"
    assert reply.json()["instanceId"] != instance_id
    assert elapsed < PROMPT


def test_restart_and_wait_returns_the_check_status_response_when_the_timeout_passes_first(
    host: Host,
) -> None:
    instance_id = host.start("timer", 5)
    query = "restartWithNewInstanceId=true&timeout=1&pollingInterval=1"
    reply, elapsed = _timed(host, f"{WEBHOOK}/instances/{instance_id}/restart?{query}")
    body = reply.json()
    assert reply.status == 202
    assert body["id"] != instance_id
    assert reply.headers["Location"] == body["statusQueryGetUri"]
    assert 1.0 <= elapsed < 1.0 + PROMPT
