"""Benchmark: ``durable start`` cold start, from spawning the process to its first answer.

Each run starts ``python -m durable_functions start`` on a free port in a fresh app
folder (the same app as ``host.py``'s), then sends ``GET /`` in a loop until one
answers 200; the figure is the time from ``Popen`` to that answer. The first run is
not counted (it writes the bytecode caches). Prints the median and the spread, and the
host's own CPU time at its first answer (Linux), which a loaded machine moves far less.

Usage::

    .venv/bin/python bench/start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from host import BENCH_APP, HOST_JSON, ROOT, free_port  # noqa: E402


def _answered(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 where ``/proc`` is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_start(workdir: Path) -> tuple[float, float]:
    """Seconds from spawning the host to its first 200, and the host's CPU seconds by then."""
    app_dir = workdir / "app"
    app_dir.mkdir()
    (app_dir / "function_app.py").write_text(BENCH_APP)
    (app_dir / "host.json").write_text(json.dumps(HOST_JSON))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    began = time.perf_counter()
    host = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", str(port)],
        cwd=app_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not _answered(port):
            if host.poll() is not None:
                raise SystemExit(f"the host exited with {host.returncode}")
            if time.perf_counter() - began > 30:
                raise SystemExit("the host did not answer within 30 s")
            time.sleep(0.002)
        return time.perf_counter() - began, _cpu_seconds(host.pid)
    finally:
        host.terminate()
        host.wait(30)


def main(argv: list[str] | None = None) -> int:
    """Run the starts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="measured starts (10)")
    args = parser.parse_args(argv)
    samples: list[float] = []
    cpu: list[float] = []
    for run in range(args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, used = one_start(Path(tmp))
        if run:
            samples.append(seconds)
            cpu.append(used)
    samples.sort()
    print(
        f"durable start, time to first answer over {len(samples)} runs: "
        f"median {statistics.median(samples) * 1000:.0f} ms "
        f"(min {samples[0] * 1000:.0f}, max {samples[-1] * 1000:.0f}); "
        f"host CPU by then: median {statistics.median(cpu) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
