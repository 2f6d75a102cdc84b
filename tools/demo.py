"""``make demo``: generate an app, run it on the local host, run its sample orchestrations.

Everything happens in a temporary folder (or ``--keep DIR``) with nothing but
this repository's venv: the app is created with ``durable new`` defaults, the
local host serves it on a free port, and the samples are started over HTTP
exactly as a user would with curl.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))


def call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One HTTP call with a JSON body; returns (status, parsed JSON answer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 30) -> bool:
    """Wait until the host listens; False if it exits or takes longer than ``timeout``."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def run_sample(base: str, name: str, body: Any = None, *, approve: bool = False) -> bool:
    """Start one orchestration, follow its status URL, print the outcome; True if Completed."""
    started = time.monotonic()
    status, answer = call("POST", f"{base}/api/orchestrators/{name}", body)
    if status != 202:
        print(f"      start failed: HTTP {status} {answer}")
        return False
    deadline = time.monotonic() + 30
    if approve:
        event_url = answer["sendEventPostUri"].replace("{eventName}", "Approval")
        while call("GET", answer["statusQueryGetUri"])[1].get("customStatus") is None:
            if time.monotonic() > deadline:
                print("      never asked for approval within 30 s")
                return False
            time.sleep(0.1)
        call("POST", event_url, True)
    while True:
        _, state = call("GET", answer["statusQueryGetUri"])
        if state["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            break
        if time.monotonic() > deadline:
            print(f"      still {state['runtimeStatus']} after 30 s")
            return False
        time.sleep(0.1)
    took = time.monotonic() - started
    shown = json.dumps(state["output"])
    print(f"      {state['runtimeStatus']} in {took:.1f} s -> {shown}")
    return bool(state["runtimeStatus"] == "Completed")


SAMPLES: list[tuple[str, Any, bool, str]] = [
    ("hello_chain", None, False, "activities one after another"),
    ("fan_out_fan_in", [1, 2, 3, 4], False, "parallel activities with retries"),
    ("greet_and_sum", {"numbers": [2, 3]}, False, "the same, as an async def orchestrator"),
    ("approval_workflow", {"timeout_seconds": 300}, True, "approved by an external event"),
    ("approval_workflow", {"timeout_seconds": 1}, False, "a durable timer wins the race"),
    ("job_monitor", {"interval_seconds": 1, "ready_after": 2}, False, "continue_as_new loop"),
    ("counter_workflow", {"key": "demo", "amount": 5}, False, "signal + call an entity"),
]


def demo(app: Path) -> int:
    from durable_functions.scaffold import collect_answers, create_app, template_root

    print(f"1. Generating an app with the template defaults into {app}")
    answers = collect_answers(template_root(), {}, default_name="demo_app")
    create_app(app, answers)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"2. Starting it on the local host: python -m durable_functions start --port {port}")
    log = (app / "host.log").open("w")
    host = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", str(port)],
        cwd=app,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    results: list[bool] = []
    try:
        if not wait_for_port(port, host):
            print("   the local host did not start; its output:")
            print((app / "host.log").read_text()[-4000:])
            return 1
        print("3. Running the sample orchestrations over HTTP (POST /api/orchestrators/<name>):")
        for name, body, approve, what in SAMPLES:
            print(f"   {name} ({what})")
            results.append(run_sample(base, name, body, approve=approve))
        _, counter = call("GET", f"{base}/api/counters/demo")
        print(f"   GET /api/counters/demo -> {json.dumps(counter)}")
    finally:
        print("4. Stopping the host")
        host.terminate()
        try:
            host.wait(timeout=15)
        except subprocess.TimeoutExpired:
            host.kill()
        log.close()
    ok = all(results)
    print(f"Done: {sum(results)}/{len(results)} orchestrations completed.")
    if not ok:
        print((app / "host.log").read_text()[-4000:])
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate into this new folder and keep it")
    args = parser.parse_args(argv)
    if args.keep:
        return demo(args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="durable-demo-") as scratch:
        return demo(Path(scratch) / "demo_app")


if __name__ == "__main__":
    raise SystemExit(main())
