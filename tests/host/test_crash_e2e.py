"""Nothing is lost: SIGKILL the host at random moments, restart it, and every orchestration
completes with the right output, while no activity runs again once its result is committed."""

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

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHAINS = 100
FAN_OUTS = 100
KILLS = 5
_COMMITTED = re.compile(r"committed activity results: (.*)$", re.M)


def _task_of(value: str) -> tuple[str, int]:
    """Map an activity input back to (instance id, task id) as the sample orchestrators use them."""
    key, _, suffix = value.rpartition(":")
    if key.startswith("chain-"):
        return key, {"a": 0, "b": 1}[suffix]
    return key, int(suffix)


def _expected(instance_id: str) -> list[str]:
    if instance_id.startswith("chain-"):
        return [f"{instance_id}:A".upper(), f"{instance_id}:B".upper()]
    return [f"{instance_id}:{i}".upper() for i in range(4)]


def _commits_by_process(hosts: list[Host]) -> dict[tuple[str, int], int]:
    """(instance, task) -> index of the first host process that logged its commit.

    Each process logs to a file of its own: a host may commit work before it prints
    its banner, so one shared log cannot tell the processes apart."""
    committed: dict[tuple[str, int], int] = {}
    for process, host in enumerate(hosts):
        for match in _COMMITTED.finditer(host.log.read_text()):
            for item in match.group(1).split(", "):
                instance_id, _, task = item.rpartition("#")
                committed.setdefault((instance_id, int(task)), process)
    return committed


class HostSeries(list[Host]):
    """The host processes of one crash test, one after another on one app and file, each
    with a log of its own (see ``_commits_by_process``) and ``--verbose`` commit lines."""

    def __init__(self, app_dir: Path, db: Path, env: dict[str, str]) -> None:
        super().__init__()
        self.app_dir, self.db, self.env = app_dir, db, env

    def start(self) -> Host:
        log_name = f"host-{len(self)}.log"
        self.append(
            launch(self.app_dir, self.db, args=("--verbose",), env=self.env, log_name=log_name)
        )
        return self[-1]


def kill_points(rng: random.Random, activities: int) -> list[int]:
    """KILLS distinct counts of logged activities, in order, between 10% and 75% of the work."""
    step = activities // 20
    return sorted(rng.sample(range(activities // 10, activities * 3 // 4, step), KILLS))


def wait_for_activities(activity_log: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while not activity_log.exists() or len(activity_log.read_bytes().splitlines()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} activities ran in 60 s"
        time.sleep(0.01)


def test_sigkill_at_random_moments_loses_nothing_and_reruns_only_uncommitted_work(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    activity_log = tmp_path / "activities.jsonl"
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    # 600 activities of 0.1 s on 8 slots: ~7.5 s of work, longer than the 5 kill intervals.
    env = {"ACTIVITY_LOG": str(activity_log), "ACTIVITY_DELAY": "0.1"}

    hosts = HostSeries(app_dir, db, env)
    start = hosts.start
    host = start()
    ids = [f"chain-{i}" for i in range(CHAINS)] + [f"fan-{i}" for i in range(FAN_OUTS)]
    for instance_id in ids:
        name = "logged_chain" if instance_id.startswith("chain-") else "logged_fan_out"
        host.start(name, instance_id, instance_id=instance_id)

    # Each kill lands at a random point of the work's progress, not of the clock (which a slow or
    # a fast machine would shift before the host is up or after the last activity).
    for done in kill_points(rng, 600):
        wait_for_activities(activity_log, done)
        host.kill()
        host = start()

    try:
        for instance_id in ids:
            status = host.wait(instance_id, timeout=60)
            assert status["runtimeStatus"] == "Completed", (seed, status)
            assert status["output"] == _expected(instance_id), (seed, status)
    finally:
        host.stop()

    pids = [h.process.pid for h in hosts]
    runs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for line in activity_log.read_text().splitlines():
        _name, value, pid, _started = json.loads(line)
        runs[_task_of(value)].append(pids.index(pid))
    committed = _commits_by_process(hosts)
    assert len(runs) == CHAINS * 2 + FAN_OUTS * 4
    for task, processes in runs.items():
        # Within one process a work item runs at most once ...
        assert len(processes) == len(set(processes)), (seed, task, processes)
        # ... and never in a process started after its result was committed.
        if task in committed:
            assert max(processes) <= committed[task], (seed, task, processes, committed[task])
    assert not any("internal error" in h.log.read_text() for h in hosts)
    # The kills really landed while work was in flight: most processes committed results.
    assert len(set(committed.values())) >= 4, (seed, sorted(set(committed.values())))


def test_raised_events_and_durable_timers_survive_a_kill(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    host = launch(app_dir, db)
    waiting = [host.start("wait_event", instance_id=f"event-{i}") for i in range(20)]
    timers = [host.start("timer", 2, instance_id=f"timer-{i}") for i in range(5)]
    for instance_id in waiting:
        host.wait(instance_id, until={"Running"})
    for instance_id in waiting:
        reply = host.request(
            "POST",
            f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/approve",
            json_body=instance_id,
        )
        assert reply.status == 202  # accepted = committed to the store
    host.kill()
    host = launch(app_dir, db)
    try:
        for instance_id in waiting:
            assert host.wait(instance_id)["output"] == {"approved": instance_id}
        for instance_id in timers:
            assert host.wait(instance_id, timeout=20)["output"] == "fired"
    finally:
        host.stop()
