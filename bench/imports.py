"""Benchmark the cold import of our package against the reference's.

Compares ``import durable_functions`` with ``import azure.durable_functions``.

Run: ``python bench/imports.py [--runs 10]``.

Each sample is a fresh interpreter (``python -W ignore -c ...``) that times the one import
statement itself, in CPU time and wall time, so interpreter start-up is left out. One unmeasured
run per statement first writes the bytecode caches; "cold" means a new process with nothing
imported yet, not an empty disk cache. Figures are medians over ``--runs`` processes.

Target: ours at most 1/3 of the reference. The extra rows show what an app pays when it touches
the names it needs (our package resolves them lazily).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[1] / "sdk"

PROBE = """
import sys, time
sys.path.insert(0, {sdk!r})
wall, cpu = time.perf_counter(), time.process_time()
{statement}
print('{{"wall": %r, "cpu": %r}}' % (time.perf_counter() - wall, time.process_time() - cpu))
"""

STATEMENTS = {
    "import durable_functions": "import durable_functions",
    "import azure.durable_functions": "import azure.durable_functions",
    "ours + DFApp, Orchestrator": (
        "import durable_functions as df; df.DFApp; df.Orchestrator; df.DurableOrchestrationContext"
    ),
    "reference + DFApp, Orchestrator": (
        "import azure.durable_functions as df; df.DFApp; df.Orchestrator"
    ),
}


def sample(statement: str) -> dict[str, float]:
    code = PROBE.format(sdk=str(SDK), statement=statement)
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=SDK.parent,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)

    medians: dict[str, tuple[float, float]] = {}
    for label, statement in STATEMENTS.items():
        sample(statement)  # writes __pycache__; not counted
        runs = [sample(statement) for _ in range(args.runs)]
        medians[label] = (
            statistics.median(r["cpu"] for r in runs) * 1000,
            statistics.median(r["wall"] for r in runs) * 1000,
        )

    print(f"Python {sys.version.split()[0]}; median of {args.runs} fresh processes each.\n")
    print(f"{'statement':34} {'CPU ms':>8} {'wall ms':>8}")
    print("-" * 52)
    for label, (cpu, wall) in medians.items():
        print(f"{label:34} {cpu:>8.1f} {wall:>8.1f}")
    ours_cpu, ours_wall = medians["import durable_functions"]
    ref_cpu, ref_wall = medians["import azure.durable_functions"]
    print(
        f"\nours / reference: {ours_cpu / ref_cpu:.3f} (CPU), {ours_wall / ref_wall:.3f} (wall); "
        "target <= 0.333"
    )
    met = ours_cpu / ref_cpu <= 1 / 3
    print("target: " + ("met" if met else "MISSED"))
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
