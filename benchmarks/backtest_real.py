"""Backtest BG/NBD and the two-state model on a real order log.

    python benchmarks/backtest_real.py ORDERS.csv [--calibration-end D] [--holdout-end D]
    python benchmarks/backtest_real.py CDNOW_master.txt

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
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.fitting.orders import read_orders, rfm_summary, to_transactions  # noqa: E402
from model.fitting.pipeline import fit_order_log  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("orders", type=Path, help="ORDERS.csv or a CDNOW .txt file")
    parser.add_argument("--calibration-end", help="YYYY-MM-DD (default: the midpoint)")
    parser.add_argument("--holdout-end", help="YYYY-MM-DD (default: the last order)")
    parser.add_argument("--time-unit", choices=["day", "week"], default="week")
    parser.add_argument("--seasonality", choices=["auto", "none"], default="auto")
    args = parser.parse_args()

    orders = read_cdnow(args.orders) if args.orders.suffix == ".txt" else read_orders(args.orders)
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
        f"{args.orders.name}: {len(orders)} orders, {len(tx)} transactions, "
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
