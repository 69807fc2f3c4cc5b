"""Wall time and peak memory of the baseline (every mechanism on) for 365 days.

    python benchmarks/bench_simulation.py            # 100k, 1M, 10M
    python benchmarks/bench_simulation.py 1000000    # one size

Shocks (a 30-day ban, a CAC jump, random algorithm changes) and tiered pushes are on; referral
runs fully mixed and again on a small-world graph (graph build counted in init).
Each size runs in a fresh process so its peak RSS is its own. Targets (issue 2, this 2-core
machine, one process): 1M × 365 days ≤ 5 s of simulation; 10M ≤ 60 s within 4 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [100_000, 1_000_000, 10_000_000]


def measure(size: int, network: str = "mixed") -> dict:
    """Run the baseline once at ``size`` people in this process and report its figures."""
    sys.path.insert(0, str(ROOT))
    from model import load_scenario
    from model.simulation import PrivateDomainModel

    scenario = load_scenario(
        ROOT / "scenarios" / "baseline.toml",
        {
            "market.size": size,
            # Keep the base and the ad budget in proportion to the market.
            "market.initial_public": size // 20,
            "budget.per_day_yuan": 20_000.0 * size / 1_000_000,
            "platforms.tmall.daily_cap": 300.0 * size / 1_000_000,
            "referral.network": network,
            # Shocks on too, so every mechanism of docs/model.md §3 is exercised.
            "shocks": [
                {"kind": "ban", "platform": "tmall", "day": 120, "duration_days": 30},
                {"kind": "cac_jump", "day": 200, "factor": 1.3},
                {
                    "kind": "algorithm_change",
                    "p_per_day": 0.005,
                    "duration_days": 14,
                    "factor": 0.8,
                },
            ],
            "outreach.targeting": "tiered",
        },
    )
    t0 = time.perf_counter()
    model = PrivateDomainModel(scenario, seed=1)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    daily = model.recorder.as_dict()
    return {
        "size": size,
        "network": network,
        "init_s": round(t1 - t0, 2),
        "simulate_s": round(t2 - t1, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "orders": int(daily["orders_public"].sum() + daily["orders_private"].sum()),
        "n_private_end": int(daily["n_private"][-1]),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(int(sys.argv[2]), sys.argv[3])))
        return
    sizes = [int(a) for a in sys.argv[1:]] or SIZES
    networks = ["mixed", "small_world"]
    header = ("size", 11), ("network", 12), ("init s", 7), ("365 days s", 11), ("peak MB", 8)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'orders':>10}")
    for network in networks:
        for size in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size), network],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout)
            print(
                f"{r['size']:>11,} {r['network']:>12} {r['init_s']:>7} {r['simulate_s']:>11} "
                f"{r['peak_rss_mb']:>8,} {r['orders']:>10,}"
            )


if __name__ == "__main__":
    main()
