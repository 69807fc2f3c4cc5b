"""Regenerate good.csv (run from the repo root: python tests/data/orders/make_good.py).

600 customers drawn from known parameters (model.fitting.synthetic, seed 7), acquired over the
first 90 days of 2024, orders to 2025-06-29. Some orders get a time of day, and every 25th is
split into two orders on the same day, to exercise the date and same-day rules.
"""

import numpy as np
import pandas as pd

from model.fitting.synthetic import simulate_orders

TRUTH = dict(r=0.5, alpha_days=60.0, a=0.8, b=2.4, gg_p=6.25, gg_q=3.74, gg_gamma=50.0)

if __name__ == "__main__":
    rng = np.random.default_rng(7)
    orders = simulate_orders(600, **TRUTH, horizon_days=545, cohort_days=90, rng=rng)
    date = orders["date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    with_time = rng.random(len(orders)) < 0.3
    minutes = rng.integers(0, 24 * 60, len(orders))
    pairs = zip(date[with_time], minutes[with_time], strict=True)
    date[with_time] = [f"{d} {m // 60:02d}:{m % 60:02d}:00" for d, m in pairs]
    orders["date"] = date
    split = orders.iloc[::25].copy()
    half = (split["amount"] / 2).round(2)
    orders.loc[split.index, "amount"] = (orders.loc[split.index, "amount"] - half).round(2)
    split["amount"] = half
    out = pd.concat([orders, split]).sort_index(kind="stable").reset_index(drop=True)
    out.to_csv("tests/data/orders/good.csv", index=False)
    print(len(out), "orders")
