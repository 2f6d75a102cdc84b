"""Ctrl+C stops the host promptly and cleanly, even with keep-alive clients connected.

Python 3.12+ ``Server.wait_closed()`` waits for every open connection, and the SDK's
durable client keeps a pooled keep-alive connection to the host itself once any
HTTP starter has run. This file also runs under Python 3.13 (``make test-py313``).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from apps.harness import copy_app, launch

from durable_functions.host import _episode

pytestmark = pytest.mark.e2e


def _interrupt(process: subprocess.Popen[bytes], *, within: float) -> float:
    """Send SIGINT; return how long the process took to exit (fails past ``within``)."""
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the host did not stop within {within} s of Ctrl+C")
    return time.monotonic() - started


def test_ctrl_c_stops_a_host_whose_starter_and_an_idle_client_keep_connections_open(
    tmp_path: Path,
) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    idle = None
    try:
        # An HTTP starter: the SDK's client inside the host opens a keep-alive connection.
        reply = host.request("POST", "/api/run/chain", body=b"1")
        assert reply.status in (200, 202), reply.body
        # And a client of our own that connects and then says nothing.
        port = int(host.base.rsplit(":", 1)[1])
        idle = socket.create_connection(("127.0.0.1", port))
        elapsed = _interrupt(host.process, within=10)
    finally:
        if idle is not None:
            idle.close()
        if host.process.poll() is None:
            host.kill()
    log = host.tail(200)
    assert host.process.returncode == 0, log
    assert elapsed < 8, log
    assert "Traceback" not in log
    assert "CancelledError" not in log


def test_a_second_ctrl_c_while_stopping_ends_the_host_at_once(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        host.process.send_signal(signal.SIGINT)
        host.process.send_signal(signal.SIGINT)
        host.process.wait(timeout=10)
    finally:
        if host.process.poll() is None:
            host.kill()
    assert host.process.returncode is not None


def test_ctrl_c_in_the_middle_of_a_lone_chain_stops_at_once_and_a_restart_finishes_it(
    tmp_path: Path,
) -> None:
    """A lone chain runs on its activity's thread (see the dispatcher): Ctrl+C still stops
    the host within the grace period, and nothing of the chain is lost."""
    activity_log = tmp_path / "activities.jsonl"
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    # 3,000 steps of 2 ms: the chain would run on for seconds past the Ctrl+C. Under the
    # suite's DURABLE_SESSION_CHECK run every step also replays the whole history, so a
    # step takes 10 ms or more and 1,000 steps are as long (3,000 would be O(N²) minutes).
    steps = 1000 if _episode.SESSION_CHECK else 3000
    env = {"ACTIVITY_LOG": str(activity_log), "ACTIVITY_DELAY": "0.002"}
    host = launch(app_dir, db, env=env)
    try:
        instance_id = host.start("logged_long_chain", f"solo:{steps}")
        deadline = time.monotonic() + 30
        while not activity_log.exists() or len(activity_log.read_bytes().splitlines()) < 200:
            assert time.monotonic() < deadline, host.tail()
            time.sleep(0.01)
        elapsed = _interrupt(host.process, within=10)
    finally:
        if host.process.poll() is None:
            host.kill()
    log = host.tail(200)
    assert host.process.returncode == 0, log
    assert elapsed < 4, log  # the chain stopped after its step, not at the 5 s deadline
    assert "Traceback" not in log
    host = launch(app_dir, db, env=env)
    try:
        status = host.wait(instance_id, timeout=120)
    finally:
        host.stop()
    assert status["output"] == [f"SOLO:{i}" for i in range(steps)], str(status)[:300]
    runs = [json.loads(line)[1] for line in activity_log.read_text().splitlines()]
    assert set(runs) == {f"solo:{i}" for i in range(steps)}
    # At most the step in flight at the stop runs again (its result was not committed).
    assert len(runs) - len(set(runs)) <= 1, sorted(r for r in set(runs) if runs.count(r) > 1)
