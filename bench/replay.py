"""Benchmark one replay: ours against azure-functions-durable 1.7 on identical payloads.

Run: ``python bench/replay.py [--sizes 100,1000,10000] [--runs 5] [--profile]``.

Two orchestrators, each given the payload of its *final* episode (every activity completed):

* chain:   N sequential ``call_activity`` calls (history of N episodes, 4N+2 events);
* fan-out: one ``task_all`` over N activities (two episodes, 2N+6 events).

Each shape is also written as an ``async def`` orchestrator that awaits the tasks (ours only);
it must return the same text, and its time is printed beside the generator form's.

Each SDK's ``Orchestrator.create(fn)`` handler gets the very same payload text and must return
the very same OrchestratorState text (checked before timing). The "json floor" is
``json.dumps(json.loads(payload))``: what any replay must at least spend on reading the payload and
writing a document of that order. Each figure is the median of ``--runs`` runs (the best run is
printed too), in CPU time of this process (``time.process_time``), which other load on a shared
machine disturbs far less than wall time; ``--wall`` switches to ``time.perf_counter``. The
garbage collector stays on, as in a worker, and is collected before each run.

Targets: ours at least 10x faster than the reference at N=10,000 for both shapes, log-log slope of
ours from 1,000 to 10,000 at most 1.1, ours within 3x of the json floor, and the async form
within 1.3x of the generator form at the largest N.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import pstats
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

Handler = Callable[[Any], str]
START = 1_714_557_600  # 2024-05-01T10:00:00Z


def _timestamp(second: float) -> str:
    """Host-style timestamp text (7 fraction digits, as Azure Storage writes them)."""
    whole = int(second)
    ticks = round((second - whole) * 10_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(START + whole)) + f".{ticks:07d}Z"


class _History:
    """Writes events the way the extension does (protocol §3)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.clock = 0.0

    def add(self, event_type: int, event_id: int = -1, **fields: Any) -> None:
        self.clock += 0.0012345
        event = {
            "EventType": event_type,
            "EventId": event_id,
            "IsPlayed": True,
            "Timestamp": _timestamp(self.clock),
        }
        event.update(fields)
        self.events.append(event)

    def start(self, name: str, n: int) -> None:
        self.add(12)
        self.add(
            0,
            OrchestrationInstance={"InstanceId": "bench", "ExecutionId": "e1"},
            ParentInstance=None,
            Name=name,
            Version="",
            Input=json.dumps(str(n)),
            Tags=None,
        )

    def schedule(self, task_id: int) -> None:
        self.add(4, task_id, Name="work", Version="", Input=str(task_id))

    def complete(self, task_id: int) -> None:
        self.add(5, TaskScheduledId=task_id, Result=json.dumps({"n": task_id, "ok": True}))


def _payload(events: list[dict[str, Any]], n: int) -> str:
    events[-1]["IsPlayed"] = False  # the last episode's events are new
    return json.dumps(
        {
            "history": events,
            "input": str(n),
            "instanceId": "bench",
            "isReplaying": True,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": "3.00:00:00",
            "maximumShortTimerDuration": "6.00:00:00",
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )


def chain_payload(n: int) -> str:
    history = _History()
    history.start("chain", n)
    history.schedule(0)
    history.add(13)
    for i in range(n):
        history.add(12)
        history.complete(i)
        if i + 1 < n:
            history.schedule(i + 1)
            history.add(13)
    return _payload(history.events, n)


def fan_out_payload(n: int) -> str:
    history = _History()
    history.start("fan_out", n)
    for i in range(n):
        history.schedule(i)
    history.add(13)
    history.add(12)
    for i in range(n):
        history.complete(i)
    return _payload(history.events, n)


def chain(context: Any) -> Generator[Any, Any, Any]:
    total = 0
    for i in range(context.get_input()):
        result = yield context.call_activity("work", i)
        total += result["n"]
    return total


def fan_out(context: Any) -> Generator[Any, Any, Any]:
    results = yield context.task_all(
        [context.call_activity("work", i) for i in range(context.get_input())]
    )
    return sum(r["n"] for r in results)


async def chain_async(context: Any) -> Any:
    total = 0
    for i in range(context.get_input()):
        result = await context.call_activity("work", i)
        total += result["n"]
    return total


async def fan_out_async(context: Any) -> Any:
    results = await context.task_all(
        [context.call_activity("work", i) for i in range(context.get_input())]
    )
    return sum(r["n"] for r in results)


Orchestrator = Callable[[Any], Any]
SHAPES: dict[str, tuple[Callable[[int], str], Orchestrator, Orchestrator]] = {
    "chain": (chain_payload, chain, chain_async),
    "fan-out": (fan_out_payload, fan_out, fan_out_async),
}


def load_sdks() -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import azure.durable_functions as reference  # type: ignore[import-untyped]

        import durable_functions as ours
    return ours, reference


CLOCK = time.process_time


def measure(call: Callable[[str], object], payload: str, runs: int) -> tuple[float, float]:
    """(median, best) time in ms of `call(payload)` over `runs` runs."""
    samples = []
    for _ in range(runs):
        gc.collect()
        began = CLOCK()
        call(payload)
        samples.append((CLOCK() - began) * 1000)
    return statistics.median(samples), min(samples)


def json_floor(payload: str) -> None:
    json.dumps(json.loads(payload))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median reported)")
    parser.add_argument(
        "--reference-runs", type=int, default=3, help="runs per reference figure at N >= 10,000"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile ours at the largest N")
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    sizes = [int(s) for s in args.sizes.split(",")]
    ours, reference = load_sdks()
    warnings.simplefilter("ignore")  # the reference warns on every df_loads without a type

    rows = []
    ours_ms: dict[tuple[str, int], float] = {}
    for shape, (build, fn, async_fn) in SHAPES.items():
        for n in sizes:
            payload = build(n)
            our_handler: Handler = ours.Orchestrator.create(fn)
            async_handler: Handler = ours.Orchestrator.create(async_fn)
            ref_handler: Handler = reference.Orchestrator.create(fn)
            expected = ref_handler(payload)
            actual = our_handler(payload)
            if actual != expected:
                print(f"{shape} N={n}: the SDKs disagree\n ours: {actual}\n ref:  {expected}")
                return 2
            if async_handler(payload) != actual:
                print(f"{shape} N={n}: the async form disagrees with the generator form")
                return 2
            ref_runs = args.reference_runs if n >= 10_000 else args.runs
            ours_median, ours_best = measure(our_handler, payload, args.runs)
            async_median, _ = measure(async_handler, payload, args.runs)
            ref_median, ref_best = measure(ref_handler, payload, ref_runs)
            floor_median, _ = measure(json_floor, payload, args.runs)
            ours_ms[(shape, n)] = ours_median
            rows.append(
                (
                    shape,
                    n,
                    len(payload),
                    ours_median,
                    ours_best,
                    async_median,
                    ref_median,
                    ref_best,
                    floor_median,
                )
            )

    print(
        f"Python {sys.version.split()[0]}; {'wall' if args.wall else 'CPU'} time, "
        f"median of {args.runs} runs "
        f"(reference at N>=10,000: {args.reference_runs}); best run in brackets.\n"
    )
    header = (
        f"{'shape':8} {'N':>6} {'payload':>9} {'ours ms':>17} {'async ms':>9} {'async/gen':>9} "
        f"{'reference ms':>19} {'speed-up':>8} {'json ms':>8} {'ours/json':>9}"
    )
    print(header)
    print("-" * len(header))
    misses = []
    for shape, n, size, o_med, o_best, a_med, r_med, r_best, f_med in rows:
        print(
            f"{shape:8} {n:>6} {size / 1e6:>7.2f}MB {o_med:>9.2f} ({o_best:>6.2f}) "
            f"{a_med:>9.2f} {a_med / o_med:>8.2f}x "
            f"{r_med:>10.1f} ({r_best:>6.1f}) {r_med / o_med:>7.1f}x {f_med:>8.2f} "
            f"{o_med / f_med:>8.2f}x"
        )
        if n == max(sizes) and a_med / o_med > 1.3:
            misses.append(f"{shape}: async form {a_med / o_med:.2f}x the generator form (> 1.3x)")
        if n == 10_000 and r_med / o_med < 10:
            misses.append(f"{shape}: speed-up {r_med / o_med:.1f}x < 10x at N=10,000")
        if n == max(sizes) and o_med / f_med > 3:
            misses.append(f"{shape}: {o_med / f_med:.2f}x the json floor at N={n} (> 3x)")
    if 1_000 in sizes and 10_000 in sizes:
        print()
        for shape in SHAPES:
            slope = math.log(ours_ms[(shape, 10_000)] / ours_ms[(shape, 1_000)]) / math.log(10)
            print(f"log-log slope of ours, {shape}, N=1,000 -> 10,000: {slope:.2f}")
            if slope > 1.1:
                misses.append(f"{shape}: slope {slope:.2f} > 1.1")
    print()
    print("targets: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))

    if args.profile:
        n = max(sizes)
        for shape, (build, fn, _) in SHAPES.items():
            payload = build(n)
            handler: Handler = ours.Orchestrator.create(fn)
            print(f"\ncProfile of ours, {shape}, N={n} (top 15 by own time):")
            profiler = cProfile.Profile()
            profiler.runcall(handler, payload)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return 1 if misses and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
