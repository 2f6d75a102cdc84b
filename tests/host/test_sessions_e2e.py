"""Sessions on the host: long chains run in them, a crash loses nothing, and a restart with
changed code replays the history (and so finds the non-determinism a session cannot see)."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest
from apps.harness import Host, copy_app, launch
from test_crash_e2e import HostSeries, _commits_by_process, kill_points, wait_for_activities

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_IN_SESSION = re.compile(r"orchestrator logged_long_chain \(long-\d+\) .* \(session\)$", re.M)


def _sessions_used(log_text: str) -> int:
    """Episodes the hosts ran in a session (``--verbose`` logs one line per episode)."""
    return len(_IN_SESSION.findall(log_text))


# Eight chains side by side (the orchestration worker runs them), and one alone (it goes on
# on its activity's thread while the worker sleeps).
@pytest.mark.parametrize(("chains", "steps"), [(8, 60), (1, 300)])
def test_sigkill_in_the_middle_of_long_chains_in_sessions_loses_nothing(
    tmp_path: Path, chains: int, steps: int
) -> None:
    seed = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    activity_log = tmp_path / "activities.jsonl"
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    # Activities of 10 ms one after another.
    env = {"ACTIVITY_LOG": str(activity_log), "ACTIVITY_DELAY": "0.01"}

    hosts = HostSeries(app_dir, db, env)
    start = hosts.start
    host = start()
    ids = [f"long-{i}" for i in range(chains)]
    for instance_id in ids:
        host.start("logged_long_chain", f"{instance_id}:{steps}", instance_id=instance_id)
    # Kills at random points of the chains' progress, as in the crash test.
    for done in kill_points(rng, chains * steps):
        wait_for_activities(activity_log, done)
        host.kill()
        host = start()
    try:
        for instance_id in ids:
            status = host.wait(instance_id, timeout=120)
            assert status["runtimeStatus"] == "Completed", (seed, status)
            expected = [f"{instance_id}:{i}".upper() for i in range(steps)]
            assert status["output"] == expected, (seed, status)
    finally:
        host.stop()

    pids = [h.process.pid for h in hosts]
    runs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for line in activity_log.read_text().splitlines():
        _name, value, pid, _started = json.loads(line)
        key, _, step = value.rpartition(":")
        runs[(key, int(step))].append(pids.index(pid))
    committed = _commits_by_process(hosts)
    assert len(runs) == chains * steps
    for task, processes in runs.items():
        assert len(processes) == len(set(processes)), (seed, task, processes)
        if task in committed:
            assert max(processes) <= committed[task], (seed, task, processes, committed[task])
    assert not any("internal error" in h.log.read_text() for h in hosts)
    # The kills landed while the chains ran, and the chains really ran in sessions.
    assert len(set(committed.values())) >= 2, (seed, sorted(set(committed.values())))
    assert sum(_sessions_used(h.log.read_text()) for h in hosts) > chains * steps // 2, seed


def _raise(host: Host, instance_id: str, name: str, value: object) -> None:
    reply = host.request(
        "POST",
        f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/{name}",
        json_body=value,
    )
    assert reply.status == 202, reply.body


def test_a_restart_replays_the_history_and_finds_changed_code(
    tmp_path: Path,
) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    host = launch(app_dir, db)
    try:
        kept, restarted = host.start("step_then_wait"), host.start("step_then_wait")
        for instance_id in (kept, restarted):
            host.wait(instance_id, until={"Running"})
            deadline = time.monotonic() + 30
            while b"TaskCompleted" not in host.status(instance_id, "?showHistory=true").body:
                assert time.monotonic() < deadline, host.tail()
                time.sleep(0.05)
        _raise(host, kept, "go", "same host")
        assert host.wait(kept)["output"] == [2, "same host"]
    finally:
        assert host.stop() == 0
    # The code now calls another activity where history recorded add_one.
    host = launch(app_dir, db, env={"STEP_ACTIVITY": "add_one_async"})
    try:
        _raise(host, restarted, "go", "after a restart")
        status = host.wait(restarted)
    finally:
        host.stop()
    assert status["runtimeStatus"] == "Failed", status
    assert "Non-deterministic" in status["output"]
    assert "activity 'add_one'" in status["output"]
    assert "activity 'add_one_async'" in status["output"]
