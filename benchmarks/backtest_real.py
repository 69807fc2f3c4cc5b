"""Backtest BG/NBD and the two-state model on a real order log.

    python benchmarks/backtest_real.py ORDERS.csv [--calibration-end D] [--holdout-end D]
    python benchmarks/backtest_real.py CDNOW_master.txt
    python benchmarks/backtest_real.py --simulate 5000 --time-unit day

ORDERS.csv follows fit-orders' CSV rules (columns customer_id, date, amount). A ``.txt`` file
is read in the CDNOW layout (whitespace-separated, no header: customer id, [a second id,]
YYYYMMDD date, quantity, dollar amount), the public log of Fader & Hardie that ships inside
the ``lifetimes`` wheel: ``pip download --no-deps -d /tmp/lt lifetimes==0.11.3`` and unzip
``lifetimes/datasets/CDNOW_master.txt`` (23,570 customers) or ``CDNOW_sample.txt`` (2,357).
It is not part of this repository.

The default split cuts the log's date range in half: calibration from the first order to the
midpoint, holdout from there to the last order. For CDNOW that is the standard 39 + 39 weeks
(calibration to 1997-09-30, holdout to 1998-06-30). Both models are fitted exactly as
``run.py fit-orders`` fits them (:func:`model.fitting.pipeline.fit_order_log`), seasonality
``auto``; the script prints the split, each model's total holdout error, per-customer RMSE and
correlation, and the comparison by calibration frequency.

``--simulate N`` backtests on a realistic log instead: N customers acquired through 2023 by the
two-state simulator (r 0.5, α 60 days, a 0.8, b 2.4, ρ 0.005/day, the seasonal profile of
tests/test_fit_twostate.py: month multipliers, Spring Festival 0.5, 618 2.0, Double 11 3.0),
orders to 2024-12-30, ``--seed`` 99 by default.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.fitting.calendar import (  # noqa: E402
    DEFAULT_FESTIVALS,
    SeasonalProfile,
    normalise_months,
)
from model.fitting.orders import read_orders, rfm_summary, to_transactions  # noqa: E402
from model.fitting.pipeline import fit_order_log  # noqa: E402
from model.fitting.synthetic import simulate_two_state_orders  # noqa: E402

SEASONAL_MONTHS = [0.8, 0.6, 0.9, 1.0, 1.0, 1.2, 0.9, 0.9, 1.0, 1.1, 1.4, 1.3]
SEASONAL_LIFTS = {"spring_festival": 0.5, "mid_year_618": 2.0, "double_11": 3.0}


def read_cdnow(path: Path) -> pd.DataFrame:
    """Read the CDNOW text layout into ``customer_id, date, amount`` orders."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str)
    raw = raw[raw[0] != "customer_id"]
    if raw.shape[1] == 5:  # CDNOW_sample: customer id, master id, date, quantity, amount
        raw = raw[[0, 2, 3, 4]]
    raw.columns = ["customer_id", "date", "quantity", "amount"]
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].to_numpy(),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d").to_numpy(),
            "amount": raw["amount"].astype(float).to_numpy(),
        }
    )


def simulated_log(n_customers: int, seed: int) -> pd.DataFrame:
    """The realistic log of ``--simulate``: returns from dormancy and a seasonal profile."""
    import numpy as np

    profile = SeasonalProfile(
        tuple(normalise_months(np.array(SEASONAL_MONTHS))), SEASONAL_LIFTS, DEFAULT_FESTIVALS
    )
    orders = simulate_two_state_orders(
        n_customers,
        r=0.5,
        alpha_days=60.0,
        a=0.8,
        b=2.4,
        return_rate_per_day=0.005,
        horizon_days=730,
        cohort_days=365,
        rng=np.random.default_rng(seed),
        start="2023-01-01",
        profile=profile,
    )
    return orders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("orders", type=Path, nargs="?", help="ORDERS.csv or a CDNOW .txt file")
    parser.add_argument("--simulate", type=int, metavar="N", help="a simulated log instead")
    parser.add_argument("--seed", type=int, default=99, help="for --simulate (99)")
    parser.add_argument("--calibration-end", help="YYYY-MM-DD (default: the midpoint)")
    parser.add_argument("--holdout-end", help="YYYY-MM-DD (default: the last order)")
    parser.add_argument("--time-unit", choices=["day", "week"], default="week")
    parser.add_argument("--seasonality", choices=["auto", "none"], default="auto")
    args = parser.parse_args()

    if args.simulate:
        orders = simulated_log(args.simulate, args.seed)  # same-day orders merged below
        name = f"simulated log ({args.simulate} customers, seed {args.seed})"
    elif args.orders is None:
        parser.error("give ORDERS.csv, a CDNOW .txt file or --simulate N")
    else:
        txt = args.orders.suffix == ".txt"
        orders = read_cdnow(args.orders) if txt else read_orders(args.orders)
        name = args.orders.name
    tx = to_transactions(orders)
    first, last = tx["date"].min(), tx["date"].max()
    cal_end = (
        pd.Timestamp(args.calibration_end)
        if args.calibration_end
        else first + pd.Timedelta(days=int((last - first).days) // 2)
    )
    hold_end = pd.Timestamp(args.holdout_end) if args.holdout_end else last
    summary = rfm_summary(tx, cal_end, hold_end, args.time_unit)
    cal_days = (cal_end - first).days + 1
    hold_days = (hold_end - cal_end).days
    print(
        f"{name}: {len(orders)} orders, {len(tx)} transactions, "
        f"{len(summary)} customers first buying by {cal_end.date()}"
    )
    print(
        f"split: calibration {first.date()} … {cal_end.date()} ({cal_days} days, "
        f"{cal_days / 7:.1f} weeks), holdout to {hold_end.date()} ({hold_days} days, "
        f"{hold_days / 7:.1f} weeks); time unit {args.time_unit}"
    )
    start = time.perf_counter()
    fit = fit_order_log(tx, summary, cal_end, hold_end, args.time_unit, args.seasonality)
    elapsed = time.perf_counter() - start
    bg, ts = fit.bgnbd, fit.two_state
    print(f"fitted in {elapsed:.1f} s (both models, backtest included)")
    print("BG/NBD:    " + ", ".join(f"{k}={v:.4g}" for k, v in bg.params_.items()))
    print("two-state: " + ", ".join(f"{k}={v:.4g}" for k, v in ts.params_.items()))
    print(
        f"log-likelihood: BG/NBD {bg.loglik_:.1f}, two-state {ts.loglik_:.1f} "
        f"(LR {2 * (ts.loglik_ - bg.loglik_):.1f}); seasonal profile: {fit.seasonality}"
    )
    actual = fit.holdout["bgnbd"].actual_repeat
    print(f"holdout repeat transactions: actual {actual}")
    print(f"{'model':<10} {'forecast':>9} {'error':>8} {'RMSE':>7} {'corr':>6}")
    for name, label in (("bgnbd", "BG/NBD"), ("two_state", "two-state")):
        h = fit.holdout[name]
        print(
            f"{label:<10} {h.predicted_repeat:9.1f} {h.error_pct:+7.2f}% {h.rmse:7.4f} "
            f"{h.correlation:6.4f}"
        )
    table = fit.holdout["bgnbd"].by_frequency[["n_customers", "actual_per_customer"]].copy()
    for name in ("bgnbd", "two_state"):
        table[name] = fit.holdout[name].by_frequency["predicted_per_customer"]
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
