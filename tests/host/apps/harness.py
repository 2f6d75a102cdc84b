"""Start ``durable start`` in a subprocess on a copy of a sample app, and talk raw HTTP to it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPS = Path(__file__).parent
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}
_BANNER_URL = re.compile(r"Durable management API: (http://127\.0\.0\.1:\d+)/")


@dataclass
class Reply:
    """A raw HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Host:
    """A running host process."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, base: str, app_dir: Path):
        self.process = process
        self.log = log
        self.base = base
        self.app_dir = app_dir
        self.management_key: str | None = None
        """Sent with management API requests when set (a host run with ``--require-keys``)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        data: bytes | None
        all_headers = dict(headers or {})
        if self.management_key and path.lower().startswith("/runtime/webhooks/durabletask"):
            all_headers.setdefault("x-functions-key", self.management_key)
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        else:
            data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def start(
        self, name: str, value: Any = None, instance_id: str | None = None, *, raw: bool = False
    ) -> str:
        """Start an orchestration through the management API; returns its id.

        Like the SDK's client, the input is sent as JSON text inside a JSON string
        (``raw=True`` sends ``value`` as the JSON body itself).
        """
        path = f"/runtime/webhooks/durabletask/orchestrators/{name}"
        if instance_id:
            path += f"/{instance_id}"
        if value is None:
            reply = self.request("POST", path)
        else:
            reply = self.request("POST", path, json_body=value if raw else json.dumps(value))
        assert reply.status == 202, (reply.status, reply.body)
        return str(reply.json()["id"])

    def status(self, instance_id: str, query: str = "") -> Reply:
        return self.request("GET", f"/runtime/webhooks/durabletask/instances/{instance_id}{query}")

    def wait(
        self, instance_id: str, *, until: set[str] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll the status until it is in ``until`` (default: a terminal status)."""
        wanted = until or TERMINAL
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            reply = self.status(instance_id)
            if reply.status in (200, 202):
                last = reply.json()
                if last["runtimeStatus"] in wanted:
                    return dict(last)
            self.check_alive()
            time.sleep(0.05)
        raise AssertionError(f"{instance_id} did not reach {wanted}: {last}\n{self.tail()}")

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
        """Poll ``check`` until it holds (the host must stay alive meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            self.check_alive()
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}\n{self.tail()}")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"the host exited with {self.process.returncode}\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        return stop_process(self.process, 15)


def stop_process(process: subprocess.Popen[bytes], grace: float) -> int:
    """SIGTERM, then SIGKILL if ``process`` has not exited after ``grace`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


def copy_app(name: str, dest: Path) -> Path:
    """Copy a sample app into ``dest`` (tests never write into the repository)."""
    target = dest / name
    shutil.copytree(APPS / name, target, ignore=shutil.ignore_patterns("__pycache__", ".durable"))
    return target


def launch(
    app_dir: Path,
    db: Path,
    *,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    log_name: str = "host.log",
) -> Host:
    """Start the host on a free port (``--port 0``) and wait for its banner."""
    log = app_dir.parent / log_name
    offset = log.stat().st_size if log.exists() else 0
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    command = [sys.executable, "-m", "durable_functions", "start", "--port", "0", "--db", str(db)]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*command, *args], cwd=app_dir, stdout=out, stderr=subprocess.STDOUT, env=full_env
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_bytes()[offset:].decode(errors="replace")
        found = _BANNER_URL.search(text)
        if found and "Host started" in text[found.start() :]:
            return Host(process, log, found.group(1), app_dir)
        if process.poll() is not None:
            raise AssertionError(f"the host did not start ({process.returncode}):\n{text}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the host did not print its banner in time:\n" + log.read_text())


@contextmanager
def running_host(
    tmp_path: Path,
    app: str = "sdk_app",
    *,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[Host]:
    """A host on a fresh copy of ``app`` and a fresh database, stopped afterwards."""
    app_dir = copy_app(app, tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=args, env=env)
    try:
        yield host
    finally:
        host.stop()
