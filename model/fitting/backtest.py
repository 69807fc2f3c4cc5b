"""Backtest purchase models on a holdout period: forecasts against actual repeat transactions.

Model-agnostic: each model contributes its per-customer conditional forecasts (for the holdout
comparison) and its expected cumulative repeat transactions by first-purchase cohort and day
(for the tracking plot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Frequency buckets 0, 1, …, 6 and "7+": the standard calibration/holdout comparison (FHL 2005
# fig. 4), where conditional forecasts usually fail first for heavy buyers.
TOP_BUCKET = 7


@dataclass(frozen=True)
class HoldoutResult:
    """Holdout comparison of one model.

    Attributes:
        actual_repeat: Transactions in the holdout by calibration customers.
        predicted_repeat: Sum over customers of E[Y(t) | history].
        error_pct: 100 · (predicted − actual) / actual.
        rmse: Root mean squared error of the per-customer forecasts (transactions).
        correlation: Pearson correlation of per-customer forecasts and actuals.
        by_frequency: One row per calibration-frequency bucket (``"0"`` … ``"7+"``) with
            ``n_customers``, ``actual_repeat``, ``predicted_repeat`` and per-customer means.
        per_customer: Predicted holdout transactions, indexed like the summary.
    """

    actual_repeat: int
    predicted_repeat: float
    error_pct: float
    rmse: float
    correlation: float
    by_frequency: pd.DataFrame
    per_customer: pd.Series


def holdout_comparison(summary: pd.DataFrame, predicted: np.ndarray) -> HoldoutResult:
    """Compare per-customer forecasts with what calibration customers did in the holdout.

    Args:
        summary: From :func:`model.fitting.orders.rfm_summary` with a holdout
            (``frequency_holdout``).
        predicted: E[Y(t) | history] per customer, in the summary's order.

    Returns:
        The comparison (see :class:`HoldoutResult`).
    """
    pred = np.asarray(predicted, dtype=float)
    actual = summary["frequency_holdout"].to_numpy(float)
    bucket = np.minimum(summary["frequency"].to_numpy(), TOP_BUCKET)
    labels = [str(k) for k in range(TOP_BUCKET)] + [f"{TOP_BUCKET}+"]
    frame = pd.DataFrame({"bucket": bucket, "actual": actual, "pred": pred})
    g = frame.groupby("bucket")
    table = pd.DataFrame(
        {
            "n_customers": g.size(),
            "actual_repeat": g["actual"].sum(),
            "predicted_repeat": g["pred"].sum(),
        }
    ).reindex(range(TOP_BUCKET + 1), fill_value=0)
    per = table["n_customers"].replace(0, np.nan)
    table["actual_per_customer"] = table["actual_repeat"] / per
    table["predicted_per_customer"] = table["predicted_repeat"] / per
    table.index = pd.Index(labels, name="calibration_frequency")
    total_actual = float(actual.sum())
    total_pred = float(pred.sum())
    error = 100.0 * (total_pred - total_actual) / total_actual if total_actual > 0 else np.nan
    varies = len(pred) > 1 and np.ptp(pred) > 0 and np.ptp(actual) > 0
    return HoldoutResult(
        actual_repeat=int(total_actual),
        predicted_repeat=total_pred,
        error_pct=float(error),
        rmse=float(np.sqrt(np.mean((pred - actual) ** 2))),
        correlation=float(np.corrcoef(pred, actual)[0, 1]) if varies else float("nan"),
        by_frequency=table,
        per_customer=pd.Series(pred, index=summary.index, name="predicted_holdout"),
    )


# A model's expected cumulative repeat transactions: (cohort first days, curve days) → matrix.
CohortCurve = Callable[[np.ndarray, np.ndarray], np.ndarray]


def tracking_curves(
    transactions: pd.DataFrame,
    summary: pd.DataFrame,
    end: pd.Timestamp,
    models: Mapping[str, CohortCurve],
) -> pd.DataFrame:
    """Cumulative repeat transactions per day, actual against each model (tracking plot).

    A model's curve is Σ_customers E[X(τ − s_i)], s_i the customer's first purchase and
    E[X(t)] its *unconditional* expectation from the fitted parameters: it uses nobody's
    history beyond their first purchase date, so it tests the parameters, not the
    conditioning. Customers are grouped by first-purchase day (cohorts).

    Args:
        transactions: From :func:`model.fitting.orders.to_transactions`.
        summary: The calibration summary (defines the customers and their first dates).
        end: Last day of the curve (calibration end, or holdout end).
        models: Name → function of (cohort first days, curve days), both as day numbers
            since the earliest first purchase, returning E[X] as a (cohort × day) matrix.

    Returns:
        DataFrame indexed by ``date`` with ``actual`` and one column per model (cumulative
        repeat transactions).
    """
    first = pd.to_datetime(summary["first_date"])
    start = first.min()
    days = pd.date_range(start, end, freq="D")
    day = np.timedelta64(1, "D")

    # Actual: transactions by summary customers that are not their first, up to `end`.
    tx = transactions[
        transactions["customer_id"].isin(summary.index) & (transactions["date"] <= end)
    ]
    # Every transaction but each customer's first is a repeat (also right for same_day="keep").
    ordered = tx.sort_values(["customer_id", "date"], kind="stable")
    is_repeat = ordered.groupby("customer_id").cumcount() > 0
    repeat_dates = tx.loc[is_repeat[is_repeat].index, "date"]
    daily = repeat_dates.value_counts().reindex(days, fill_value=0).sort_index()
    out = {"actual": daily.cumsum().to_numpy(float)}

    cohorts = first.value_counts()
    grid = np.arange(len(days), dtype=np.int64)  # days since the earliest first purchase
    offsets = ((cohorts.index - start) / day).to_numpy().astype(np.int64)
    for name, curve in models.items():
        expected = curve(offsets, grid)  # 0 where the day precedes the cohort
        out[name] = cohorts.to_numpy(float) @ expected
    return pd.DataFrame(out, index=pd.Index(days, name="date"))
