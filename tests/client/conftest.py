"""A real local host for the client tests: `python -m durable_functions start` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from durable_functions._http import close_shared_client
from durable_functions.client import DurableOrchestrationClient

APP = Path(__file__).parent / "app"
SDK = Path(__file__).resolve().parents[2] / "sdk"


@dataclass(frozen=True)
class Host:
    port: int
    binding: str
    """The durableClient binding JSON the host hands to client functions."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """One host per test session (per xdist worker); tests isolate by unique instance ids."""
    tmp = tmp_path_factory.mktemp("client-host")
    port = _free_port()
    log = (tmp / "host.log").open("wb")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", str(port)]
        + ["--db", str(tmp / "durable.sqlite")],
        cwd=APP,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        binding = _wait_for_binding(process, port, tmp / "host.log")
        yield Host(port=port, binding=binding)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_binding(process: subprocess.Popen[bytes], port: int, log: Path) -> str:
    deadline = time.monotonic() + 30
    url = f"http://127.0.0.1:{port}/api/binding"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the host exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the host did not serve {url} within 30 s:\n{log.read_text()[-3000:]}")


@pytest.fixture
async def client(host: Host) -> AsyncIterator[DurableOrchestrationClient]:
    yield DurableOrchestrationClient(host.binding, "test-invocation")
    await close_shared_client()
