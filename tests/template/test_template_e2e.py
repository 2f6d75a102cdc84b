"""A generated app runs on the local host: every starter answers 202 and every sample completes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from template_kit import ROOT, Render

sys.path.insert(0, str(ROOT / "tests" / "host"))  # the host tests' engine kit
from engine_kit import runtime_missing  # noqa: E402

pytestmark = pytest.mark.e2e


class Host:
    """A running ``python -m durable_functions start`` for one app."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url if "://" in url else self.base + url, data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def start(self, name: str, body: Any = None) -> dict[str, Any]:
        status, answer = self.call("POST", f"/api/orchestrators/{name}", body)
        assert status == 202, answer
        return answer

    def wait(self, check_status: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.call("GET", check_status["statusQueryGetUri"])
            assert status in (200, 202), body
            if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["builtin", "azure-functions-runtime"])
def host(
    render: Render, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Host]:
    """The generated app on the host, run by our loader or by Microsoft's worker runtime."""
    engine = str(request.param)
    if engine != "builtin" and (missing := runtime_missing()) is not None:
        pytest.skip(missing)
    app = tmp_path_factory.mktemp("e2e") / "app"
    shutil.copytree(render("cookiecutter"), app)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", str(port)]
        + ["--worker", engine],
        cwd=app,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the host did not start in 30 s"
                time.sleep(0.2)
        yield Host(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_starter_answers_202_with_check_status_urls(host: Host) -> None:
    answer = host.start("hello_chain")
    status, body = host.call("GET", answer["statusQueryGetUri"])
    assert status in (200, 202) and body["instanceId"] == answer["id"]


def test_hello_chain_completes_with_every_greeting(host: Host) -> None:
    result = host.wait(host.start("hello_chain"))
    assert result["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_fan_out_fan_in_completes_with_the_sum_of_squares(host: Host) -> None:
    result = host.wait(host.start("fan_out_fan_in", [1, 2, 3]))
    assert result["output"] == {"squares": [1, 4, 9], "sum": 14}


def test_greet_and_sum_completes_as_an_async_orchestrator(host: Host) -> None:
    result = host.wait(host.start("greet_and_sum", {"cities": ["Lima"], "numbers": [2, 3]}))
    assert result["output"] == {"greetings": ["Hello Lima!"], "sum": 13}


def test_approval_workflow_completes_when_approved(host: Host) -> None:
    answer = host.start("approval_workflow", {"timeout_seconds": 300})
    event_url = answer["sendEventPostUri"].replace("{eventName}", "Approval")
    deadline = time.monotonic() + 30
    while host.call("GET", answer["statusQueryGetUri"])[1]["customStatus"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert host.call("POST", event_url, True)[0] == 202
    assert host.wait(answer)["output"] == "approved"


def test_approval_workflow_times_out_on_its_durable_timer(host: Host) -> None:
    result = host.wait(host.start("approval_workflow", {"timeout_seconds": 1}))
    assert result["output"] == "timed out"


def test_job_monitor_continues_as_new_until_the_job_is_done(host: Host) -> None:
    answer = host.start("job_monitor", {"job_id": "e2e", "interval_seconds": 1, "ready_after": 2})
    assert host.wait(answer)["output"] == {"job_id": "e2e", "state": "done", "checks": 2}


def test_counter_workflow_signals_then_reads_the_entity(host: Host) -> None:
    result = host.wait(host.start("counter_workflow", {"key": "wf", "amount": 5}))
    assert result["output"] == 5


def test_counter_http_endpoints_signal_and_read_the_entity(host: Host) -> None:
    assert host.call("POST", "/api/counters/http/add", 2)[0] == 202
    deadline = time.monotonic() + 30
    while (answer := host.call("GET", "/api/counters/http"))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert answer[1] == {"key": "http", "value": 2}


def test_unknown_orchestration_is_refused(host: Host) -> None:
    assert host.call("POST", "/api/orchestrators/not_there")[0] == 404
