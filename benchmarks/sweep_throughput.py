"""Sweep throughput: runs per second with 1 and 2 local worker processes on the same sweep.

    python benchmarks/sweep_throughput.py [--size 200000] [--points 8] [--replicates 4]

Each configuration runs the same sweep into a fresh directory (nothing reused), through the
real CLI code path (``run_sweep`` with a local process pool), and prints wall time, runs per
second and the speed-up of 2 workers over 1. Runs are long enough (market.size 200k, a year)
that process start-up does not dominate; the target is 2 workers ≥ 1.8× one worker on an
otherwise idle 2-core machine. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.execution import LocalPoolExecutor  # noqa: E402
from model.sweep.runner import run_sweep  # noqa: E402
from model.sweep.spec import load_spec  # noqa: E402

SPEC = """
name = "throughput"
scenario = "{baseline}"
replicates = {replicates}
root_seed = 1
kpis = ["roi"]

[set]
"market.size" = {size}
"market.initial_public" = {initial}
"budget.per_day_yuan" = {budget}

[sweep]
"outreach.pushes_per_week" = {pushes}
"""


def main() -> None:
    """Time the sweep with 1 and 2 worker processes and print runs/second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000, help="market.size (200000)")
    parser.add_argument("--points", type=int, default=8, help="values of pushes_per_week (8)")
    parser.add_argument("--replicates", type=int, default=4, help="replicates per point (4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="local process counts to compare (1 2)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.toml"
        pushes = [round(0.5 + i * 6.5 / max(args.points - 1, 1), 3) for i in range(args.points)]
        spec_path.write_text(SPEC.format(
            baseline=(ROOT / "scenarios" / "baseline.toml").as_posix(),
            replicates=args.replicates, size=args.size, initial=args.size // 10,
            budget=20_000.0 * args.size / 1_000_000, pushes=pushes))
        spec = load_spec(spec_path)
        n = args.points * args.replicates
        print(f"sweep: {n} runs of market.size {args.size:,}, "
              f"{spec.base_raw['sim']['days']} days each")
        rates: dict[int, float] = {}
        hashes = set()
        for workers in args.workers:
            start = time.perf_counter()
            # Pool start-up is inside the timing: it is part of what a user waits for.
            with LocalPoolExecutor(workers) as pool:
                result = run_sweep(spec, Path(tmp) / f"out{workers}", executor=pool,
                                   progress=False, plots=False)
            elapsed = time.perf_counter() - start
            assert result.report.n_ran == n
            hashes.add(result.result_hash)
            rates[workers] = n / elapsed
            print(f"  {workers} worker process{'es' if workers > 1 else ''}: {elapsed:6.1f} s, "
                  f"{rates[workers]:.2f} runs/s")
        base = rates[args.workers[0]]
        for workers in args.workers[1:]:
            print(f"  speed-up {workers} vs {args.workers[0]}: {rates[workers] / base:.2f}×")
        print(f"  identical results across worker counts: {len(hashes) == 1}")


if __name__ == "__main__":
    main()
