"""``async def`` orchestrators on the local host, over HTTP: the issue's example, one of every
await, the named error for a non-durable await, and a SIGKILL in the middle of async chains."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from apps.harness import copy_app, running_host
from test_crash_e2e import HostSeries, wait_for_activities

pytestmark = pytest.mark.e2e

ORDER = {"payments": [1, 2, 3]}


def test_the_issue_example_runs_on_the_host_over_http(tmp_path: Path) -> None:
    with running_host(tmp_path, "async_app") as host:
        reply = host.request("POST", "/api/orchestrators/process_order", json_body=ORDER)
        assert reply.status == 202, reply.body
        urls = reply.json()
        instance_id = urls["id"]
        host.wait(instance_id, until={"Running"})
        # The task_any waits on the event and an hour's timer: the event wins.
        raised = host.request(
            "POST",
            urls["sendEventPostUri"].replace("{eventName}", "cancel").split(host.base)[1],
            json_body="by customer",
        )
        assert raised.status == 202, raised.body
        status = host.wait(instance_id)

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {
        "results": [100, 200, 300],
        "summary": "shipped 3 payments",
        "cancelled": "by customer",
    }


def test_every_kind_of_await_runs_on_the_host(tmp_path: Path) -> None:
    with running_host(tmp_path, "async_app") as host:
        url = f"{host.base}/api/hello"
        instance_id = host.start("everything", {"url": url, "generation": 0})
        status = host.wait(instance_id)
        custom = host.status(instance_id).json()["customStatus"]

    assert status["runtimeStatus"] == "Completed", status
    # Two generations (continue_as_new) on one instance id: one retry in the first, none in
    # the second (third attempt overall); the entity got 5 twice.
    assert status["output"] == {
        "flaky": "succeeded after 3 attempts",
        "count": 10,
        "http": [200, "hello from the app"],
        "uuid": 36,
    }
    assert custom == {"generation": 1}  # set again after continue_as_new


def test_awaiting_asyncio_sleep_fails_the_instance_with_the_named_error(tmp_path: Path) -> None:
    with running_host(tmp_path, "async_app") as host:
        status = host.wait(host.start("sleeps"))

    assert status["runtimeStatus"] == "Failed"
    assert "awaited asyncio.sleep" in json.dumps(status["output"])
    assert "context.create_timer" in json.dumps(status["output"])


@pytest.mark.slow
def test_sigkill_in_the_middle_of_async_chains_loses_nothing(tmp_path: Path) -> None:
    """With session checking on: every session episode is also a full replay, compared."""
    seed = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    activity_log = tmp_path / "activities.jsonl"
    app_dir = copy_app("async_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    env = {
        "ACTIVITY_LOG": str(activity_log),
        "ACTIVITY_DELAY": "0.01",
        "DURABLE_SESSION_CHECK": "1",
    }

    hosts = HostSeries(app_dir, db, env)
    start = hosts.start
    chains, steps = 6, 20
    host = start()
    ids = [f"async-{i}" for i in range(chains)]
    for instance_id in ids:
        host.start("logged_chain_async", f"{instance_id}:{steps}", instance_id=instance_id)
    for done in sorted(rng.sample(range(10, chains * steps * 3 // 4), 2)):
        wait_for_activities(activity_log, done)
        host.kill()
        host = start()
    try:
        for instance_id in ids:
            status = host.wait(instance_id, timeout=120)
            assert status["runtimeStatus"] == "Completed", (seed, status)
            assert status["output"] == [f"{instance_id}:{i}".upper() for i in range(steps)]
    finally:
        host.stop()
    log = "".join(h.log.read_text() for h in hosts)
    assert "(session)" in log  # the chains did run in sessions between the kills
    assert "diverged" not in log and "internal error" not in log
