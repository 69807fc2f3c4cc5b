"""Backtest a BG/NBD fit on a holdout period: forecast against actual repeat transactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.fitting.bgnbd import bgnbd_conditional_expected, bgnbd_expected_repeat

# Frequency buckets 0, 1, …, 6 and "7+": the standard calibration/holdout comparison (FHL 2005
# fig. 4), where conditional forecasts usually fail first for heavy buyers.
TOP_BUCKET = 7


@dataclass(frozen=True)
class HoldoutResult:
    """Holdout comparison.

    Attributes:
        actual_repeat: Transactions in the holdout by calibration customers.
        predicted_repeat: Sum over customers of E[Y(t) | x, t_x, T].
        error_pct: 100 · (predicted − actual) / actual.
        by_frequency: One row per calibration-frequency bucket (``"0"`` … ``"7+"``) with
            ``n_customers``, ``actual_repeat``, ``predicted_repeat`` and per-customer means.
        per_customer: Predicted holdout transactions, indexed like the summary.
    """

    actual_repeat: int
    predicted_repeat: float
    error_pct: float
    by_frequency: pd.DataFrame
    per_customer: pd.Series


def holdout_comparison(summary: pd.DataFrame, params: dict[str, float]) -> HoldoutResult:
    """Compare the conditional forecast with what calibration customers did in the holdout.

    Args:
        summary: From :func:`model.fitting.orders.rfm_summary` with a holdout
            (``frequency_holdout`` and ``duration_holdout`` columns).
        params: BG/NBD ``r, alpha, a, b`` in the summary's time unit.

    Returns:
        The comparison (see :class:`HoldoutResult`).
    """
    pred = bgnbd_conditional_expected(
        summary["duration_holdout"].to_numpy(float),
        summary["frequency"].to_numpy(float),
        summary["recency"].to_numpy(float),
        summary["T"].to_numpy(float),
        **params,
    )
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
    table["actual_per_customer"] = table["actual_repeat"] / table["n_customers"].replace(0, np.nan)
    table["predicted_per_customer"] = table["predicted_repeat"] / table["n_customers"].replace(
        0, np.nan
    )
    table.index = pd.Index(labels, name="calibration_frequency")
    total_actual = float(actual.sum())
    total_pred = float(pred.sum())
    error = 100.0 * (total_pred - total_actual) / total_actual if total_actual > 0 else np.nan
    return HoldoutResult(
        actual_repeat=int(total_actual),
        predicted_repeat=total_pred,
        error_pct=float(error),
        by_frequency=table,
        per_customer=pd.Series(pred, index=summary.index, name="predicted_holdout"),
    )


def tracking_curves(
    transactions: pd.DataFrame,
    summary: pd.DataFrame,
    params: dict[str, float],
    end: pd.Timestamp,
    unit_days: float,
) -> pd.DataFrame:
    """Cumulative repeat transactions per day, actual against the model (tracking plot).

    The model curve is Σ_customers E[X(τ − s_i)], with s_i the customer's first purchase and
    E[X(t)] the unconditional FHL eq. (7) from the fitted parameters: it does not use anyone's
    history beyond their first purchase date, so it tests the parameters, not the
    conditioning. Customers are grouped by first-purchase day (cohorts) to evaluate E[X] once
    per cohort and day.

    Args:
        transactions: From :func:`model.fitting.orders.to_transactions`.
        summary: The calibration summary (defines the customers and their first dates).
        params: BG/NBD parameters in units of ``unit_days`` days.
        end: Last day of the curve (calibration end, or holdout end).
        unit_days: 1 for day fits, 7 for week fits.

    Returns:
        DataFrame indexed by ``date`` with ``actual`` and ``model`` cumulative repeat
        transactions.
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
    actual = daily.cumsum().to_numpy(float)

    cohorts = first.value_counts()
    grid = ((days - start) / day).to_numpy(float)  # days since the earliest first purchase
    offsets = ((cohorts.index - start) / day).to_numpy(float)
    t = (grid[None, :] - offsets[:, None]) / unit_days  # cohort × day, in model time units
    expected = bgnbd_expected_repeat(t, **params)  # 0 where t ≤ 0 (clipped)
    model = cohorts.to_numpy(float) @ expected
    return pd.DataFrame({"actual": actual, "model": model}, index=pd.Index(days, name="date"))
