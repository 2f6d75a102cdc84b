"""Benchmark: ONE long orchestration (a chain or a fan-out of N activities), ours against DBOS.

Three parts, each printed as a table of medians over ``--rounds`` rounds (the systems run
in turn within each round, so a slow moment of the shared machine hits both):

* host: our local host (``python -m durable_functions start`` on SQLite), driven over HTTP
  with one start-and-wait request (``POST …/orchestrators/<name>?timeout=…``) per
  orchestration, against DBOS on SQLite (same WAL/NORMAL durability, in ``.venv-bench``,
  which ``bench/host.py`` creates) running the same workflow in-process. ``chain`` calls
  N activities one after another; ``fanout`` starts N at once and waits for all. Wall
  time is start to finish as the caller sees it; CPU is the host process's (ours) or the
  DBOS process's user+system time over the same span.
* harness: the same chain in the testing toolkit (``OrchestrationTestEnv.run``), in process.
* toolkit vs durabletask: a fan-out of ``--fanout-timer`` activities followed by a 1-second
  durable timer, in our toolkit (virtual time) and in ``durabletask``'s in-memory test
  backend (``durabletask.testing``, real time, installed into ``.venv-bench``).

A run that takes longer than ``--budget`` seconds is stopped and shown as ``> budget``;
larger sizes of that system and shape are then skipped. ``--sdk DIR`` measures another
checkout's SDK (its ``sdk/`` folder) instead of this one's, for before/after figures.

Usage::

    .venv/bin/python bench/long.py                          # sizes 1000,5000,10000
    .venv/bin/python bench/long.py --sizes 1000,2000 --rounds 1 --parts host
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import host as host_bench  # noqa: E402  (bench/host.py: host start-up and the DBOS venv)

APP = textwrap.dedent(
    """
    import azure.functions as func
    import durable_functions as df

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.orchestration_trigger(context_name="context")
    def chain(context: df.DurableOrchestrationContext):
        total = 0
        for i in range(context.get_input()):
            total += yield context.call_activity("step", i)
        return total


    @app.orchestration_trigger(context_name="context")
    def fanout(context: df.DurableOrchestrationContext):
        n = context.get_input()
        results = yield context.task_all([context.call_activity("step", i) for i in range(n)])
        return sum(results)


    @app.activity_trigger(input_name="value")
    def step(value: int) -> int:
        return value
    """
)
HOST_JSON = {"version": "2.0", "extensions": {"durableTask": {"hubName": "LongBench"}}}

DBOS_WORKER = textwrap.dedent(
    """
    import asyncio, json, logging, sys, time
    import sqlalchemy as sa
    from dbos import DBOS, DBOSConfig

    db, shape, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _pragmas(conn, _record):
        cursor = conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @DBOS.step()
    def step(value):
        return value

    @DBOS.step()
    async def step_async(value):
        return value

    @DBOS.workflow()
    def chain(count):
        return sum(step(i) for i in range(count))

    @DBOS.workflow()
    async def fanout(count):
        return sum(await asyncio.gather(*(step_async(i) for i in range(count))))

    logging.getLogger("dbos").setLevel(logging.WARNING)
    DBOS(config={"name": "bench-long", "system_database_url": f"sqlite:///{db}",
                 "log_level": "WARNING"})
    DBOS.launch()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if shape == "chain":
        result = DBOS.start_workflow(chain, n).get_result()
    else:
        async def run():
            handle = await DBOS.start_workflow_async(fanout, n)
            return await handle.get_result()
        result = asyncio.run(run())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert result == n * (n - 1) // 2, result
    print(json.dumps({"wall": wall, "cpu": cpu}))
    DBOS.destroy()
    """
)

DURABLETASK_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import timedelta
    from durabletask import client, task, worker
    from durabletask.testing import create_test_backend

    n = int(sys.argv[1])

    def step(ctx, value):
        return value * value

    def fan_out_then_wait(ctx: task.OrchestrationContext, count):
        results = yield task.when_all([ctx.call_activity(step, input=i) for i in range(count)])
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=1))
        return sum(results)

    port = int(sys.argv[2])
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"
    with worker.TaskHubGrpcWorker(host_address=address) as w:
        w.add_orchestrator(fan_out_then_wait)
        w.add_activity(step)
        w.start()
        c = client.TaskHubGrpcClient(host_address=address)
        began = time.perf_counter()
        instance_id = c.schedule_new_orchestration(fan_out_then_wait, input=n)
        state = c.wait_for_orchestration_completion(instance_id, timeout=600)
        wall = time.perf_counter() - began
    backend.stop()
    assert state is not None and json.loads(state.serialized_output) == sum(i * i for i in range(n))
    print(json.dumps({"wall": wall}))
    """
)


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _slope(rows: dict[int, float]) -> float:
    """Log-log slope between the smallest and the largest N measured."""
    sizes = sorted(n for n, v in rows.items() if v == v and v > 0)
    if len(sizes) < 2:
        return float("nan")
    a, b = sizes[0], sizes[-1]
    return math.log(rows[b] / rows[a]) / math.log(b / a)


# --------------------------------------------------------------------------- host part


async def _start_and_wait(port: int, shape: str, n: int, budget: float) -> float:
    """One start-and-wait request; returns the wall seconds until the output arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = str(n).encode()
    path = f"/runtime/webhooks/durabletask/orchestrators/{shape}?timeout={budget:.0f}"
    began = time.perf_counter()
    writer.write(
        f"POST {path}&pollingInterval=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    response = await reader.read()
    elapsed = time.perf_counter() - began
    writer.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status == 202:
        return math.inf  # still running at the budget
    if status != 200 or json.loads(payload) != n * (n - 1) // 2:
        raise AssertionError(f"{shape}({n}) answered {status}: {payload[:300]!r}")
    return elapsed


def run_ours_host(workdir: Path, sdk: Path, shape: str, n: int, budget: float) -> dict[str, float]:
    """One orchestration on a fresh host; wall and host CPU seconds."""
    app_dir = workdir / f"app-{shape}-{n}"
    app_dir.mkdir()
    (app_dir / "function_app.py").write_text(APP)
    (app_dir / "host.json").write_text(json.dumps(HOST_JSON))
    port = host_bench.free_port()
    old = host_bench.ROOT
    host_bench.ROOT = sdk.parent  # start_host puts ROOT/sdk on PYTHONPATH
    try:
        process = host_bench.start_host(app_dir, port, app_dir / "hub.sqlite3", [])
    finally:
        host_bench.ROOT = old
    try:
        cpu0 = _proc_cpu(process.pid)
        wall = asyncio.run(_start_and_wait(port, shape, n, budget))
        cpu = _proc_cpu(process.pid) - cpu0
    finally:
        process.kill()
        process.wait()
    return {"wall": wall, "cpu": cpu if wall != math.inf else math.inf}


def run_dbos(workdir: Path, shape: str, n: int, budget: float) -> dict[str, float]:
    """One DBOS workflow in a fresh process; wall and CPU seconds (in-process clocks)."""
    python = host_bench.ensure_bench_venv()
    db = workdir / f"dbos-{shape}-{n}.sqlite"
    try:
        out = subprocess.run(
            [str(python), "-c", DBOS_WORKER, str(db), shape, str(n)],
            check=True,
            capture_output=True,
            text=True,
            timeout=budget + 30,
        )
    except subprocess.TimeoutExpired:
        return {"wall": math.inf, "cpu": math.inf}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- harness part

HARNESS_WORKER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    import durable_functions as df
    from durable_functions.testing import OrchestrationTestEnv
    n = int(sys.argv[2])
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def chain(context):
        total = 0
        for i in range(context.get_input()):
            total += yield context.call_activity("step", i)
        return total

    @app.activity_trigger(input_name="value")
    def step(value: int) -> int:
        return value

    env = OrchestrationTestEnv(app)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = env.run("chain", input=n)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert result.output == n * (n - 1) // 2, result
    print(json.dumps({"wall": wall, "cpu": cpu}))
    """
)

TOOLKIT_FANOUT = textwrap.dedent(
    """
    import json, sys, time
    from datetime import timedelta
    sys.path.insert(0, sys.argv[1])
    import durable_functions as df
    from durable_functions.testing import OrchestrationTestEnv
    n = int(sys.argv[2])
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def fan_out_then_wait(context):
        count = context.get_input()
        results = yield context.task_all([context.call_activity("step", i) for i in range(count)])
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
        return sum(results)

    @app.activity_trigger(input_name="value")
    def step(value: int) -> int:
        return value * value

    env = OrchestrationTestEnv(app)
    began = time.perf_counter()
    result = env.run("fan_out_then_wait", input=n)
    wall = time.perf_counter() - began
    assert result.output == sum(i * i for i in range(n)), result
    print(json.dumps({"wall": wall}))
    """
)


def _python_json(command: list[str], budget: float) -> dict[str, float]:
    try:
        out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired:
        return {"wall": math.inf, "cpu": math.inf}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def ensure_durabletask() -> Path:
    """``durabletask`` (with its in-memory test backend) in the bench venv."""
    python = host_bench.ensure_bench_venv()
    check = subprocess.run([str(python), "-c", "import durabletask.testing"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "durabletask"], check=True)
    return python


# --------------------------------------------------------------------------- driver


def _fmt(value: float) -> str:
    return "   > budget" if value == math.inf else f"{value:11.2f}"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="N values (1000,5000,10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians reported (3)")
    parser.add_argument("--parts", default="host,harness,durabletask", help="parts to run")
    parser.add_argument("--shapes", default="chain,fanout", help="host shapes (chain,fanout)")
    parser.add_argument("--only", choices=("ours", "dbos"), help="host part: one system only")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per run (300)")
    parser.add_argument("--fanout-timer", type=int, default=1000, help="toolkit fan-out size")
    parser.add_argument("--sdk", type=Path, default=HERE.parent / "sdk", help="SDK to measure")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    parts = set(args.parts.split(","))
    sdk = args.sdk.resolve()

    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    too_slow: set[tuple[str, str]] = set()

    def record(system: str, shape: str, n: int, row: dict[str, float]) -> None:
        results.setdefault((system, shape, n), []).append(row)
        if row["wall"] == math.inf:
            too_slow.add((system, shape))
        print(f"  {system:<18}{shape:<8}{n:>7}  wall {_fmt(row['wall'])} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="durable-long-") as tmp:
        for index in range(args.rounds):
            print(f"round {index + 1} of {args.rounds}", flush=True)
            workdir = Path(tmp) / f"round-{index + 1}"
            workdir.mkdir()
            for n in sizes:
                if "host" in parts:
                    for shape in args.shapes.split(","):
                        if args.only != "ours" and ("dbos", shape) not in too_slow:
                            record("dbos", shape, n, run_dbos(workdir, shape, n, args.budget))
                        if args.only != "dbos" and ("ours host", shape) not in too_slow:
                            row = run_ours_host(workdir, sdk, shape, n, args.budget)
                            record("ours host", shape, n, row)
                if "harness" in parts and ("ours harness", "chain") not in too_slow:
                    command = [sys.executable, "-c", HARNESS_WORKER, str(sdk), str(n)]
                    record("ours harness", "chain", n, _python_json(command, args.budget))
            if "durabletask" in parts:
                n = args.fanout_timer
                command = [sys.executable, "-c", TOOLKIT_FANOUT, str(sdk), str(n)]
                record("ours harness", "fan+tmr", n, _python_json(command, args.budget))
                python = ensure_durabletask()
                port = str(host_bench.free_port())
                command = [str(python), "-c", DURABLETASK_WORKER, str(n), port]
                record("durabletask", "fan+tmr", n, _python_json(command, args.budget))

    print(f"\nmedians of {args.rounds} round(s); SDK measured: {sdk}\n")
    print(f"{'system':<16}{'shape':<9}{'N':>7}{'wall s':>11}{'cpu s':>11}{'spread':>8}")
    walls: dict[tuple[str, str], dict[int, float]] = {}
    cpus: dict[tuple[str, str], dict[int, float]] = {}
    for (system, shape, n), rows in sorted(results.items()):
        wall = statistics.median(r["wall"] for r in rows)
        cpu = statistics.median(r.get("cpu", math.nan) for r in rows)
        finite = [r["wall"] for r in rows if r["wall"] != math.inf]
        spread = (max(finite) - min(finite)) / wall if len(finite) > 1 and wall else math.nan
        walls.setdefault((system, shape), {})[n] = wall
        cpus.setdefault((system, shape), {})[n] = cpu
        print(f"{system:<16}{shape:<9}{n:>7}{_fmt(wall)}{_fmt(cpu)}{spread:>8.0%}")
    print()
    for (system, shape), by_n in sorted(cpus.items()):
        if len(by_n) > 1:
            print(f"CPU log-log slope {system} {shape}: {_slope(by_n):.2f}")
    for shape in ("chain", "fanout"):
        ours, dbos = walls.get(("ours host", shape), {}), walls.get(("dbos", shape), {})
        for n in sorted(set(ours) & set(dbos)):
            print(f"{shape} N={n}: ours / DBOS wall = {ours[n] / dbos[n]:.2f}")
    toolkit = walls.get(("ours harness", "fan+tmr"), {})
    other = walls.get(("durabletask", "fan+tmr"), {})
    for n in sorted(set(toolkit) & set(other)):
        print(f"fan-out {n} + 1 s timer: durabletask / ours = {other[n] / toolkit[n]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
