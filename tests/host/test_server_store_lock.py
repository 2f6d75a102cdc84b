"""A second process holding the SQLite write lock does not freeze the host's HTTP edge.

Store work runs off the event loop: ``GET /`` and status queries (read from a
read connection) answer while another process sits in ``BEGIN IMMEDIATE``, and a
start (a write) answers 503 with ``Retry-After`` after a bounded wait (shortened
to one second here through ``DURABLE_HTTP_LIMITS``), not after 30 s of silence.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from apps.harness import Host, running_host

pytestmark = pytest.mark.e2e

_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(db: Path) -> Iterator[None]:
    """Another process holds the file's write lock inside the block."""
    locker = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
        yield
    finally:
        assert locker.stdin is not None and locker.stdout is not None
        locker.stdin.close()
        locker.wait(10)
        locker.stdout.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    with running_host(tmp_path, env={"DURABLE_HTTP_LIMITS": "lock=1"}) as started:
        yield started


def _timed(host: Host, method: str, path: str) -> tuple[int, dict[str, str], bytes, float]:
    began = time.monotonic()
    reply = host.request(method, path, timeout=10)
    return reply.status, dict(reply.headers), reply.body, time.monotonic() - began


def test_the_edge_answers_reads_while_another_process_holds_the_write_lock(
    host: Host, tmp_path: Path
) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)

    with write_lock_held(tmp_path / "hub.sqlite3"):
        root = _timed(host, "GET", "/")
        status = _timed(host, "GET", f"/runtime/webhooks/durabletask/instances/{instance_id}")
        listing = _timed(host, "GET", "/runtime/webhooks/durabletask/instances?top=5")

    assert root[0] == 200 and root[3] < 2
    assert status[0] == 200 and b"Completed" in status[2] and status[3] < 2
    assert listing[0] == 200 and listing[3] < 2


def test_a_write_while_the_store_is_locked_is_a_503_with_retry_after(
    host: Host, tmp_path: Path
) -> None:
    with write_lock_held(tmp_path / "hub.sqlite3"):
        code, headers, body, took = _timed(
            host, "POST", "/runtime/webhooks/durabletask/orchestrators/chain"
        )
        during = _timed(host, "GET", "/")

    assert code == 503, body
    assert headers.get("Retry-After") == "1"
    assert b"locked by another writer" in body
    assert took < 5  # the bounded wait (1 s here), not the 30 s busy timeout
    assert during[0] == 200
    # Once the lock is gone, the same start goes through.
    instance_id = host.start("chain", 1)
    assert host.wait(instance_id)["runtimeStatus"] == "Completed"
    assert "Traceback" not in host.tail(200)
