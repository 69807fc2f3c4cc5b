"""How tightly a comparison pairs its strategies: std(A − B) / √(var A + var B) over replicates.

    python benchmarks/pairing.py                        # the shipped 1M-person market, 60 reps
    python benchmarks/pairing.py --size 200000          # a 1/5-scale miniature (quicker)
    python benchmarks/pairing.py --metric revenue --workers 1
    python benchmarks/pairing.py --decompose            # where the rest comes from
    python benchmarks/pairing.py --decompose --by-stream --replicates 40  # by decision (~20 min)

Runs a comparison file (default: the main job, ``scenarios/compare_operating_modes.toml``)
through :func:`model.compare.run_comparison` with common random numbers and prints, for every
pair of strategies, the pairing ratio of one KPI across replicates:

    ratio = std(paired difference) / √(var A + var B)

1 means the pairing buys nothing (the two runs of a replicate are independent), 0 means the
difference carries no Monte-Carlo noise at all. A bootstrap over replicates gives a 90%
interval. By default it runs the file's own market sizes (the issue's measure: the main
comparison at full scale, about 3 minutes on 2 cores); ``--size 200000`` scales the market, the
initial base, the budget and the daily cap together by 1/5, the shipped market in small, where
the private strategies' own draws weigh relatively more (higher ratios).

``--decompose`` says where the remaining spread of each strategy's difference from the
reference comes from. A private strategy makes draws the public-only reference never makes
(who joins, who answers or leaves after a push, who is referred): re-running each private
strategy with only those streams re-keyed gives A', and var(A − A')/2 estimates the variance
those draws alone add (no pairing can remove it: the reference has nothing to pair them with).
The rest of var(A − B) comes from draws both runs make: once a member's path parts from their
public-only twin (a push order, a dropout that happens in one run only), their later purchases,
dropouts and returns are drawn at counters the other run never reaches; and the strategy's
effect varies with the luck both runs share. ``--by-stream`` also re-keys each decision's draws
alone (who joins, push answers, unfollows, order channels, referrals). Figures only: nothing
here asserts.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model import seeds  # noqa: E402
from model.api import simulate  # noqa: E402
from model.compare import load_comparison, run_comparison  # noqa: E402
from model.execution import map_runs, open_executor  # noqa: E402

MAIN_JOB = ROOT / "scenarios" / "compare_operating_modes.toml"
SHIPPED_SIZE = 1_000_000  # the baseline's market; the scale below is relative to it
# Draws that only a private domain makes (model/seeds.py): the reference has no counterpart.
# Grouped by the decision they draw: (keyed streams, set-up generators).
PRIVATE_ONLY_STREAMS = {
    "join": (("join",), ()),
    "push": (("push_response", "pull_forward"), ()),
    "unfollow": (("unfollow",), ()),
    "channel": (("channel",), ()),
    "referral": (("referral", "referral_invite"), ("referral_queue",)),
}
EVERY_PRIVATE_STREAM = (
    tuple(k for keys, _ in PRIVATE_ONLY_STREAMS.values() for k in keys),
    tuple(g for _, generators in PRIVATE_ONLY_STREAMS.values() for g in generators),
)


def miniature(size: int) -> dict[str, float | int]:
    """Market overrides that shrink the shipped market to ``size`` people in proportion."""
    scale = size / SHIPPED_SIZE
    return {
        "market.size": size,
        "market.initial_public": round(50_000 * scale),
        "budget.per_day_yuan": 20_000.0 * scale,
        "platforms.tmall.daily_cap": 300.0 * scale,
    }


def pairing_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """std(a − b) / √(var a + var b), replicate by replicate (ddof 1 throughout)."""
    spread = np.var(a, ddof=1) + np.var(b, ddof=1)
    return float(np.std(a - b, ddof=1) / np.sqrt(spread)) if spread > 0 else float("nan")


def bootstrap_band(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple:
    """5% and 95% quantiles of the ratio over replicates resampled with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(n, len(a)))
    ratios = [pairing_ratio(a[i], b[i]) for i in idx]
    return tuple(np.nanquantile(ratios, [0.05, 0.95]))


def _other(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 999))


def rekeyed_run(task: tuple) -> float:
    """One run with some private-only streams drawn from another seed (for ``--decompose``)."""
    import model.simulation as simulation

    scenario, seed, metric, (rekeyed, regenerated) = task
    keys, generators = seeds.stream_keys, seeds.spawn_generators
    simulation.stream_keys = lambda s: {
        **keys(s),
        **{k: v for k, v in keys(_other(s)).items() if k in rekeyed},
    }
    simulation.spawn_generators = lambda s: {
        **generators(s),
        **{k: v for k, v in generators(_other(s)).items() if k in regenerated},
    }
    try:
        return simulate(scenario, seed).kpis[metric]
    finally:
        simulation.stream_keys, simulation.spawn_generators = keys, generators


def decompose(args, overrides, table, reference: str) -> None:
    """Print, per private strategy, the part of var(A − reference) its own draws add.

    With ``--by-stream``, also each group of :data:`PRIVATE_ONLY_STREAMS` re-keyed alone. A
    group's figure includes what its draws set off downstream (re-keying who joins also changes
    who is pushed), so the groups' shares overlap and may add up to more than the whole.
    """
    spec = load_comparison(
        args.comparison,
        replicates=args.replicates,
        root_seed=args.seed,
        uncertainty=False,  # pairing is measured on one market: noise only
        market_overrides=overrides,
    )
    names = [s for s in table.columns if s != reference]
    groups = {"all of them": EVERY_PRIVATE_STREAM}
    if args.by_stream:
        groups.update(PRIVATE_ONLY_STREAMS)
    tasks = [
        (
            (name, group),
            i,
            (
                spec.strategy(name).scenario,
                seeds.replicate_seed(spec.root_seed, i),
                args.metric,
                streams,
            ),
        )
        for name in names
        for group, streams in groups.items()
        for i in table.index
    ]
    again: dict[tuple[str, str, int], float] = {}
    with open_executor(workers=args.workers) as executor:
        for ((name, group), i, _), outcome in map_runs(executor, _run_task, tasks):
            if outcome.ok:
                again[(name, group, i)] = outcome.value
    keys, generators = EVERY_PRIVATE_STREAM
    print(f"\nre-keyed: {', '.join(keys + generators)}")
    print(
        f"{'A':>14} {'re-keyed':>12} {'sd(A−B)':>10} {'from these draws':>17} "
        f"{'share of var':>13} {'ratio without them':>19}"
    )
    b = table[reference].to_numpy()
    for name in names:
        a = table[name].to_numpy()
        var_diff = np.var(a - b, ddof=1)
        for group in groups:
            a2 = np.array([again[(name, group, i)] for i in table.index])
            own = np.var(a - a2, ddof=1) / 2
            rest = np.sqrt(max(var_diff - own, 0.0) / (np.var(a, ddof=1) + np.var(b, ddof=1)))
            print(
                f"{name:>14} {group:>12} {np.sqrt(var_diff):>10,.0f} {np.sqrt(own):>17,.0f} "
                f"{own / var_diff:>13.0%} {rest:>19.3f}"
            )


def _run_task(task: tuple) -> float:
    return rekeyed_run(task[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("comparison", nargs="?", default=str(MAIN_JOB))
    parser.add_argument(
        "--size", type=int, default=None, help="people: a miniature (default: the file's sizes)"
    )
    parser.add_argument("--full", action="store_true", help="the file's own market sizes (default)")
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--metric", default="contribution")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the file's)")
    parser.add_argument(
        "--decompose", action="store_true", help="split the rest into own draws and market"
    )
    parser.add_argument(
        "--by-stream",
        action="store_true",
        help="with --decompose: also each private-only decision's draws alone",
    )
    args = parser.parse_args()

    overrides = None if args.full or args.size is None else miniature(args.size)
    start = time.perf_counter()
    result = run_comparison(
        args.comparison,
        replicates=args.replicates,
        seed=args.seed,
        uncertainty=False,  # pairing is measured on one market: noise only
        workers=args.workers,
        market_overrides=overrides,
    )
    elapsed = time.perf_counter() - start
    kpis = result.kpis
    if not result.failures.empty:
        print(result.failures.to_string(), file=sys.stderr)
    table = kpis.pivot(index="replicate", columns="strategy", values=args.metric)
    table = table[[s for s in result.spec.names if s in table]].dropna()
    reference = result.spec.reference

    scale = (
        "the file's sizes"
        if overrides is None
        else ", ".join(f"{k} {v:g}" for k, v in overrides.items())
    )
    print(f"{result.spec.name}: {args.metric}, {len(table)} replicates, {scale}")
    print(f"root seed {result.spec.root_seed}, {elapsed:.0f} s wall")
    print(
        f"{'A':>14} {'B':>14} {'ratio':>7} {'90% band':>15} "
        f"{'sd(A)':>12} {'sd(B)':>12} {'sd(A−B)':>12}"
    )
    pairs = [(s, reference) for s in table.columns if s != reference]
    pairs += [
        (x, y) for x, y in itertools.combinations(table.columns, 2) if reference not in (x, y)
    ]
    for a_name, b_name in pairs:
        a, b = table[a_name].to_numpy(), table[b_name].to_numpy()
        low, high = bootstrap_band(a, b)
        print(
            f"{a_name:>14} {b_name:>14} {pairing_ratio(a, b):>7.3f} "
            f"{f'{low:.3f}–{high:.3f}':>15} {np.std(a, ddof=1):>12,.0f} "
            f"{np.std(b, ddof=1):>12,.0f} {np.std(a - b, ddof=1):>12,.0f}"
        )
    if args.decompose:
        decompose(args, overrides, table, reference)


if __name__ == "__main__":
    main()
