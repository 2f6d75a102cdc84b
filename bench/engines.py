"""Benchmark: the local host's two engines on the same 1,000 small orchestrations.

Workload: ``hello_sequence`` calls ``say_hello`` for Tokyo, Seattle and London in sequence
(four episodes, three activities). For each engine (``--worker builtin``, our loader with
orchestration sessions; ``--worker azure-functions-runtime``, Microsoft's Python worker
runtime, full replay) a fresh host on a fresh SQLite file gets N instances started at once
over the management API (32 client threads); the time runs from the first start to the
moment a list query finds nothing Pending or Running, and every output is checked.

Needs Python 3.13 with the runtime libraries (``make test-py313`` creates ``.venv313``)::

    .venv313/bin/python bench/engines.py [-n 1000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from host import BENCH_APP, EXPECTED, HOST_JSON  # bench/host.py, beside this script

ENGINES = ("builtin", "azure-functions-runtime")
API = "/runtime/webhooks/durabletask"


def _call(base: str, method: str, path: str) -> Any:
    request = urllib.request.Request(
        base + path, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def run(engine: str, count: int, work: Path) -> float:
    """Seconds from the first start to the last completion of ``count`` instances."""
    app = work / engine
    app.mkdir()
    (app / "function_app.py").write_text(BENCH_APP)  # the app bench/host.py measures
    (app / "host.json").write_text(json.dumps(HOST_JSON))
    log = work / f"{engine}.log"
    command = [sys.executable, "-m", "durable_functions", "start", "--port", "0"]
    command += ["--worker", engine, "--db", str(work / f"{engine}.sqlite3")]
    with log.open("wb") as out:
        host = subprocess.Popen(command, cwd=app, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = _banner_url(log, host)
        started = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            list(
                pool.map(
                    lambda _: _call(base, "POST", f"{API}/orchestrators/hello_sequence"),
                    range(count),
                )
            )
        busy = f"{API}/instances/?runtimeStatus=Pending,Running&top=1&showInput=false"
        while _call(base, "GET", busy):
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        done = _call(base, "GET", f"{API}/instances/?top={count}&showInput=false")
        assert len(done) == count and all(i["output"] == EXPECTED for i in done), done[:1]
        return elapsed
    finally:
        host.terminate()
        host.wait(30)


def _banner_url(log: Path, host: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(r"Durable management API: (http://127\.0\.0\.1:\d+)/", text)
        if found and "Host started" in text:
            return found.group(1)
        if host.poll() is not None:
            raise SystemExit(f"the host did not start:\n{text}")
        time.sleep(0.05)
    raise SystemExit("the host did not start in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="orchestrations (default 1000)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per engine (median shown)")
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.rounds):
            for engine in ENGINES:  # alternate, so a slow moment does not decide alone
                work = Path(tmp) / f"{round_number}"
                work.mkdir(exist_ok=True)
                seconds[engine].append(run(engine, args.n, work))
    line = []
    for engine in ENGINES:
        median = statistics.median(seconds[engine])
        line.append(f"{engine}: {args.n / median:,.0f} orchestrations/s ({median:.2f} s)")
    print(f"{args.n:,} orchestrations of 3 activities: " + "; ".join(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
