"""Benchmark the testing toolkit: a 1,000-activity fan-out plus a 30-day timer, in virtual time.

Run: ``python bench/harness.py [--activities N] [--repeat R]``. Prints the wall time of
each run (target: well under a second), through the full path: engine, MemoryBackend,
replay of every episode, activities invoked through the azure-functions converters.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

import durable_functions as df  # noqa: E402
from durable_functions.testing import OrchestrationTestEnv  # noqa: E402

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def fan_out_then_wait(context: df.DurableOrchestrationContext):
    count = context.get_input()
    squares = yield context.task_all([context.call_activity("square", n) for n in range(count)])
    yield context.create_timer(context.current_utc_datetime + timedelta(days=30))
    return sum(squares)


@app.activity_trigger(input_name="number")
def square(number: int) -> int:
    return number * number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    timings = []
    for _ in range(args.repeat):
        env = OrchestrationTestEnv(app)
        began = time.perf_counter()
        result = env.run("fan_out_then_wait", input=args.activities)
        timings.append(time.perf_counter() - began)
        expected = sum(n * n for n in range(args.activities))
        if result.output != expected or env.now - result.created_time != timedelta(days=30):
            print(f"wrong result: {result.runtime_status} {result.output} {result.error}")
            return 1
    print(
        f"fan-out of {args.activities} activities + 30-day timer: "
        f"median {statistics.median(timings) * 1000:.0f} ms, "
        f"best {min(timings) * 1000:.0f} ms over {args.repeat} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
