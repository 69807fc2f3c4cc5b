"""Peak memory per customer of one run: the figure the plan check in ``model/resources.py`` uses.

    python benchmarks/bench_memory.py                 # 0.5M and 2M people, each network
    python benchmarks/bench_memory.py 1000000 4000000

Each (size, network) runs the baseline for 60 days in a fresh process and reports its peak RSS
and its peak of traced allocations (``tracemalloc``, which numpy reports to); bytes per
customer is the slope between the two sizes (imports and fixed costs cancel). The allocation
slope is the larger: arrays of zeros are not resident until written, so RSS lags what a run
may touch. The plan check uses the allocation slope.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [500_000, 2_000_000]
NETWORKS = ["mixed", "small_world", "scale_free"]


def measure(size: int, network: str) -> tuple[int, int]:
    """Peak RSS and peak traced allocations (bytes) of one 60-day baseline run at ``size``."""
    import tracemalloc

    sys.path.insert(0, str(ROOT))
    from model import load_scenario
    from model.api import simulate

    scenario = load_scenario(
        ROOT / "scenarios" / "baseline.toml",
        {
            "market.size": size,
            "market.initial_public": size // 20,
            "budget.per_day_yuan": 20_000.0 * size / 1_000_000,
            "platforms.tmall.daily_cap": 300.0 * size / 1_000_000,
            "referral.network": network,
            "sim.days": 60,
        },
    )
    tracemalloc.start()
    simulate(scenario, seed=1)
    traced = tracemalloc.get_traced_memory()[1]
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, traced


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(int(sys.argv[2]), sys.argv[3])))
        return
    small, large = [int(a) for a in sys.argv[1:3]] or SIZES
    print(
        f"{'network':>12} {'RSS MB at ' + format(small, ','):>20} "
        f"{'RSS MB at ' + format(large, ','):>20} {'RSS B/person':>13} "
        f"{'allocated B/person':>19}"
    )
    for network in NETWORKS:
        peaks = []
        for size in (small, large):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size), network],
                capture_output=True,
                text=True,
                check=True,
            )
            peaks.append(json.loads(out.stdout))
        rss = (peaks[1][0] - peaks[0][0]) / (large - small)
        traced = (peaks[1][1] - peaks[0][1]) / (large - small)
        print(
            f"{network:>12} {peaks[0][0] / 2**20:>20,.0f} {peaks[1][0] / 2**20:>20,.0f} "
            f"{rss:>13,.0f} {traced:>19,.0f}"
        )


if __name__ == "__main__":
    main()
