"""``durable history`` against a real local host, then ``durable replay`` on the export."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_functions.cli import main as durable

SDK = Path(__file__).resolve().parents[2] / "sdk"

APP = """
from datetime import timedelta

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def pipeline(context):
    first = yield context.call_activity("{step}", context.get_input())
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=50))
    second = yield context.call_activity("{step}", first)
    return second


@app.activity_trigger(input_name="value")
def {step}(value):
    return value + 1
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_app(folder: Path, step: str) -> Path:
    folder.mkdir()
    (folder / "function_app.py").write_text(APP.replace("{step}", step))
    (folder / "host.json").write_text('{"version": "2.0"}')
    return folder / "function_app.py"


def call(method: str, url: str, body: bytes | None = None) -> tuple[int, object]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[str]:
    """A ``durable start`` process serving the recorded app version on a free port."""
    write_app(tmp_path / "app", "increment")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", str(port)],
        cwd=tmp_path / "app",
        env={**os.environ, "PYTHONPATH": str(SDK)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call("GET", f"{url}/durabletask/instances/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the local host did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def completed_instance(url: str) -> str:
    status, body = call("POST", f"{url}/durabletask/orchestrators/pipeline", b"1")
    assert status == 202, body
    instance_id = str(body["id"])  # type: ignore[index]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, state = call("GET", f"{url}/durabletask/instances/{instance_id}")
        if isinstance(state, dict) and state.get("runtimeStatus") == "Completed":
            return instance_id
        time.sleep(0.1)
    pytest.fail(f"instance {instance_id} did not complete")


@pytest.mark.e2e
def test_an_exported_history_replays_cleanly_against_the_same_code(
    host: str, tmp_path: Path
) -> None:
    instance_id = completed_instance(host)
    export = tmp_path / "histories" / "pipeline.json"

    exported = durable(["history", instance_id, "--url", host, "-o", str(export)])
    replayed = durable(["replay", str(export), "--app", str(tmp_path / "app" / "function_app.py")])

    document = json.loads(export.read_text())
    assert (exported, replayed) == (0, 0)
    assert document["instanceId"] == instance_id
    assert [e["EventType"] for e in document["history"]][:2] == [12, 0]


@pytest.mark.e2e
def test_an_exported_history_catches_a_changed_activity(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = completed_instance(host)
    export = tmp_path / "pipeline.json"
    durable(["history", instance_id, "--url", host, "-o", str(export)])
    changed = write_app(tmp_path / "v2", "add_one")

    code = durable(["replay", str(export), "--app", str(changed)])

    assert code == 1
    assert "history recorded activity 'increment'" in capsys.readouterr().out


@pytest.mark.e2e
def test_exporting_an_unknown_instance_exits_2(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = durable(["history", "no-such-instance", "--url", host])

    assert code == 2
    assert "No instance with ID 'no-such-instance'" in capsys.readouterr().err


@pytest.mark.e2e
def test_exporting_all_instances_writes_one_file_each(host: str, tmp_path: Path) -> None:
    ids = {completed_instance(host), completed_instance(host)}

    code = durable(["history", "--all", "--url", host, "-o", str(tmp_path / "all")])

    written = {json.loads(p.read_text())["instanceId"] for p in (tmp_path / "all").glob("*.json")}
    assert code == 0
    assert written == ids
