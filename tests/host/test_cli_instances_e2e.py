"""``durable get-instances``, ``terminate``, …: Core Tools' commands against a running host."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps.harness import Host, running_host

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with running_host(tmp_path_factory.mktemp("cli")) as running:  # one host for the module
        yield running


def durable(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "durable_functions", *args]
    if url is not None:
        command += ["--url", url]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=os.environ)


def ok(host: Host, *args: str) -> str:
    done = durable(*args, url=host.base)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def ok_json(host: Host, *args: str) -> Any:
    return json.loads(ok(host, *args, "--json"))


def test_start_new_then_status_and_history(host: Host) -> None:
    started = ok_json(host, "start-new", "--function-name", "chain", "--input", "3", "--id", "c-1")
    assert started["id"] == "c-1"
    assert host.wait("c-1")["runtimeStatus"] == "Completed"

    status = ok_json(host, "get-runtime-status", "--id", "c-1", "--show-input", "--show-output")
    plain = ok_json(host, "get-runtime-status", "--id", "c-1")
    text = ok(host, "get-runtime-status", "--id", "c-1", "--show-output")
    history = ok(host, "get-history", "--id", "c-1")

    assert (status["runtimeStatus"], status["input"], status["output"]) == ("Completed", 3, 5)
    assert "input" not in plain and "output" not in plain
    assert text.splitlines()[2].split() == ["runtimeStatus", "Completed"]
    assert text.splitlines()[4].split() == ["output", "5"]
    lines = history.splitlines()
    assert lines[0] == "chain c-1 (Completed)"
    assert lines[1].split() == ["Event", "Name", "Timestamp", "Result", "/", "input", "/", "reason"]
    events = [line.split()[0] for line in lines[3:]]
    assert events[:3] == ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled"]
    assert "TaskCompleted" in events and events[-2] == "ExecutionCompleted"
    assert any(line.split()[:2] == ["TaskScheduled", "add_one"] for line in lines)


def test_input_from_a_file(host: Host, tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text("7")
    ok(host, "start-new", "--function-name", "chain", "--input", f"@{source}", "--id", "file-1")
    assert host.wait("file-1")["output"] == 9


def test_get_instances_filters_and_pages(host: Host) -> None:
    for n in range(3):
        ok(host, "start-new", "--function-name", "failing", "--id", f"f-{n}", "--input", "1")
    for n in range(3):
        host.wait(f"f-{n}")

    failed = ok_json(host, "get-instances", "--runtime-status", "Failed", "--top", "2")
    rest = durable(
        "get-instances", "--runtime-status", "Failed", "--top", "2", "--json",
        "--continuation-token", failed["continuationToken"], url=host.base,
    )  # fmt: skip
    table = ok(host, "get-instances", "--runtime-status", "Failed", "--top", "5")
    future = ok(host, "get-instances", "--created-after", "2999-01-01T00:00:00Z")

    first = [i["instanceId"] for i in failed["instances"]]
    second = [i["instanceId"] for i in json.loads(rest.stdout)["instances"]]
    assert first == ["f-2", "f-1"]  # newest first
    assert second == ["f-0"]
    assert table.splitlines()[0].split()[:3] == ["Instance", "ID", "Name"]
    assert sum(" Failed " in line for line in table.splitlines()) == 3
    assert future.strip() == "No instances."


def test_raise_event_completes_a_waiting_instance(host: Host) -> None:
    host.start("wait_event", instance_id="w-1")
    host.wait("w-1", until={"Running"})

    said = ok(
        host, "raise-event", "--id", "w-1", "--event-name", "approve", "--event-data", '{"a": 1}'
    )

    assert said.strip() == "Raised event 'approve' to w-1"
    assert host.wait("w-1")["output"] == {"approved": {"a": 1}}


def test_suspend_resume_and_terminate(host: Host) -> None:
    host.start("wait_event", instance_id="s-1")
    host.wait("s-1", until={"Running"})

    ok(host, "suspend", "--id", "s-1", "--reason", "pause")
    assert host.wait("s-1", until={"Suspended"})["runtimeStatus"] == "Suspended"
    ok(host, "resume", "--id", "s-1", "--reason", "go on")
    host.wait("s-1", until={"Running"})
    assert ok(host, "terminate", "--id", "s-1", "--reason", "stop").strip() == "Terminated s-1"
    assert host.wait("s-1")["output"] == "stop"


def test_rewind_reruns_a_failed_instance(host: Host) -> None:
    host.start("fails_once", "r-key", instance_id="r-1")
    assert host.wait("r-1")["runtimeStatus"] == "Failed"

    ok(host, "rewind", "--id", "r-1", "--reason", "fixed")

    assert host.wait("r-1")["runtimeStatus"] == "Completed"


def test_refusals_are_the_hosts_message_in_one_line(host: Host) -> None:
    unknown = durable("terminate", "--id", "nobody", "--reason", "x", url=host.base)
    bad_time = durable("get-instances", "--created-after", "yesterday", url=host.base)

    assert unknown.returncode == bad_time.returncode == 2
    assert unknown.stdout == ""
    assert unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith("durable terminate: error: the host refused (404): ")
    assert "nobody" in unknown.stderr
    assert "createdTimeFrom is not a valid date/time: 'yesterday'" in bad_time.stderr


def test_purge_history_and_delete_task_hub(host: Host) -> None:
    ok(host, "start-new", "--function-name", "chain", "--input", "1", "--id", "p-1")
    host.wait("p-1")
    host.request("POST", "/runtime/webhooks/durabletask/entities/counter/k1?op=add", json_body=2)

    purged = ok_json(host, "purge-history", "--runtime-status", "Completed")
    assert purged["instancesDeleted"] >= 1
    assert host.status("p-1").status == 404
    assert host.status("f-0").status == 200  # Failed: not purged

    deleted = ok_json(host, "delete-task-hub")
    listed = ok_json(host, "get-instances")

    assert deleted["instancesDeleted"] >= 3
    assert deleted["entityDeletesSent"] >= 1
    assert listed["instances"] == []
    for _ in range(200):  # the entity runs its `delete` operation
        if host.request("GET", "/runtime/webhooks/durabletask/entities/counter/k1").status == 404:
            break
        time.sleep(0.05)
    assert host.request("GET", "/runtime/webhooks/durabletask/entities/counter/k1").status == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_host_is_a_one_line_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    done = durable("get-instances", url=url)

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"durable get-instances: error: no durable host answers at {url} "
        "([Errno 111] Connection refused); start one with `durable start`, or pass --url"
    ]


def test_a_missing_flag_is_a_usage_error() -> None:
    done = durable("raise-event", "--id", "x")

    assert done.returncode == 2
    assert "the following arguments are required: --event-name" in done.stderr
    assert done.stderr.count("\n") == 1
