"""Write a fit's outputs: ``fit.json``, the scenario fragment, ``summary.csv`` and the plot."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from model.fitting.backtest import HoldoutResult
from model.fitting.bgnbd import HOMOGENEOUS_P, BetaGeoModel
from model.fitting.gamma_gamma import GammaGammaModel
from model.fitting.orders import TIME_UNITS

FIT_JSON = "fit.json"
FRAGMENT_TOML = "fitted_behaviour.toml"
SUMMARY_CSV = "summary.csv"
BACKTEST_PNG = "backtest.png"
BY_FREQUENCY_CSV = "backtest_by_frequency.csv"


def _num(value: float) -> float | None:
    # JSON has no NaN; a missing standard error is written as null.
    return None if value is None or not math.isfinite(value) else float(value)


def fit_record(
    *,
    source: str,
    time_unit: str,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp | None,
    summary: pd.DataFrame,
    bgnbd: BetaGeoModel,
    gamma_gamma: GammaGammaModel,
    holdout: HoldoutResult | None,
    date_format: str,
    n_orders: int,
    n_transactions: int,
) -> dict[str, Any]:
    """Assemble the content of ``fit.json`` (also returned to callers as a dict)."""
    record: dict[str, Any] = {
        "source": source,
        "time_unit": time_unit,
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_end": holdout_end.date().isoformat() if holdout_end is not None else None,
        "date_format": date_format,
        "n_orders": n_orders,
        "n_transactions": n_transactions,
        "n_customers": int(len(summary)),
        "n_repeat_customers": int((summary["frequency"] > 0).sum()),
        "bgnbd": {
            **{k: _num(v) for k, v in bgnbd.params_.items()},
            "se": {k: _num(v) for k, v in bgnbd.se_.items()},
            "loglik": _num(bgnbd.loglik_),
            "converged": bgnbd.converged_,
            "reference": "Fader, Hardie & Lee (2005), Marketing Science 24(2)",
        },
        "gamma_gamma": {
            **{k: _num(v) for k, v in gamma_gamma.params_.items()},
            "se": {k: _num(v) for k, v in gamma_gamma.se_.items()},
            "loglik": _num(gamma_gamma.loglik_),
            "converged": gamma_gamma.converged_,
            "n_customers": gamma_gamma.n_customers_,
            "mean_transaction_value": _num(_gg_mean(gamma_gamma.params_)),
            "corr_frequency_monetary": _num(gamma_gamma.corr_frequency_monetary_),
            "reference": "Fader, Hardie & Lee (2005), Journal of Marketing Research 42(4)",
        },
    }
    if holdout is not None:
        table = holdout.by_frequency.reset_index()
        record["holdout"] = {
            "duration": float(summary["duration_holdout"].iloc[0]),
            "actual_repeat": holdout.actual_repeat,
            "predicted_repeat": holdout.predicted_repeat,
            "error_pct": _num(holdout.error_pct),
            "by_frequency": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in table.to_dict(orient="records")
            ],
        }
    return record


def _gg_mean(params: dict[str, float]) -> float:
    # Population mean transaction value pγ/(q−1); infinite when q ≤ 1.
    q = params["q"]
    return params["p"] * params["gamma"] / (q - 1) if q > 1 else float("nan")


def write_fit_json(out: Path, record: dict[str, Any]) -> Path:
    """Write ``fit.json`` into ``out``."""
    path = out / FIT_JSON
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def behaviour_fragment(record: dict[str, Any], today: date | None = None) -> str:
    """Render the scenario fragment with the fitted ``[behaviour]`` keys in daily units.

    λ per day ~ Gamma(r, rate alpha_days): a weekly fit's λ_week = 7 λ_day, so
    alpha_days = 7 · alpha_weeks (and its se scales the same); a, b and the spend
    parameters do not depend on the time unit.
    """
    today = today or date.today()
    unit = TIME_UNITS[record["time_unit"]]
    bg, gg = record["bgnbd"], record["gamma_gamma"]
    rows = [
        ("r", bg["r"], bg["se"]["r"], "shape of λ per day ~ Gamma(r, rate alpha_days)"),
        ("alpha_days", bg["alpha"] * unit, _scaled(bg["se"]["alpha"], unit), "rate, days"),
        ("a", bg["a"], bg["se"]["a"], "dropout p ~ Beta(a, b) after each repeat purchase"),
        ("b", bg["b"], bg["se"]["b"], ""),
        ("gg_p", gg["p"], gg["se"]["p"], "order value ~ Gamma(gg_p, rate ν)"),
        ("gg_q", gg["q"], gg["se"]["q"], "ν ~ Gamma(gg_q, rate gg_gamma)"),
        ("gg_gamma", gg["gamma"], gg["se"]["gamma"], "yuan"),
    ]
    lines = [
        f"# Fitted by `run.py fit-orders {Path(record['source']).name}` on {today.isoformat()}; "
        "BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (FHL 2005, RFM and CLV) by MLE.",
        f"# Calibration period up to {record['calibration_end']}, "
        f"{record['n_customers']} customers, fitted in {record['time_unit']}s and converted "
        "to the simulator's daily unit. Comments give ± one standard error.",
    ]
    if "holdout" in record:
        h = record["holdout"]
        # error_pct is null when the holdout has no repeat transactions (nothing to divide by).
        error = "error undefined" if h["error_pct"] is None else f"{h['error_pct']:+.1f}%"
        lines.append(
            f"# Holdout to {record['holdout_end']}: {h['predicted_repeat']:.1f} repeat "
            f"transactions forecast vs {h['actual_repeat']} actual ({error})."
        )
    if bg["a"] + bg["b"] > HOMOGENEOUS_P:
        lines.append(
            f"# NOTE: a and b ran to the boundary (a + b = {bg['a'] + bg['b']:.3g}): the data "
            "cannot tell customers' dropout probabilities apart, so every customer has "
            f"p = a/(a+b) = {bg['a'] / (bg['a'] + bg['b']):.3g}; their standard errors mean "
            "nothing. A longer calibration period may resolve it."
        )
    if gg["q"] <= 1:
        lines.append(
            f"# WARNING: gg_q = {gg['q']:.3g} ≤ 1 makes the mean order value infinite; the "
            "scenario schema requires gg_q > 1, so set it by hand before using this file."
        )
    lines += [
        "#",
        "# Set base to the path of your baseline scenario, relative to THIS file's directory:",
        '# e.g. base = "../../scenarios/baseline.toml" while this file stays in out/fit/, or',
        '# base = "baseline.toml" after copying it into scenarios/. [behaviour] below then',
        "# replaces the baseline's values and everything else is inherited.",
        'base = "baseline.toml"',
        "",
        "[behaviour]",
    ]
    width = max(len(k) for k, *_ in rows)
    for key, value, se, note in rows:
        se_text = f"± {se:.2g}" if se is not None else "± n/a (information matrix singular)"
        comment = f"# {se_text}" + (f"; {note}" if note else "")
        lines.append(f"{key:<{width}} = {_fmt(value):<12} {comment}")
    return "\n".join(lines) + "\n"


def _scaled(se: float | None, unit: float) -> float | None:
    return None if se is None else se * unit


def _fmt(value: float) -> str:
    # Five significant digits is plenty for parameters with se of a few percent, and keeps the
    # file readable; repr-style 'g' never writes a TOML-invalid float.
    text = f"{value:.5g}"
    return text if any(c in text for c in ".en") else text + ".0"


def write_fragment(out: Path, record: dict[str, Any], today: date | None = None) -> Path:
    """Write ``fitted_behaviour.toml`` into ``out``."""
    path = out / FRAGMENT_TOML
    path.write_text(behaviour_fragment(record, today), encoding="utf-8")
    return path


def write_summary(out: Path, summary: pd.DataFrame) -> Path:
    """Write the per-customer table as ``summary.csv``."""
    path = out / SUMMARY_CSV
    table = summary.copy()
    table["first_date"] = pd.to_datetime(table["first_date"]).dt.date
    table.to_csv(path, float_format="%.6g")
    return path


def write_by_frequency(out: Path, holdout: HoldoutResult) -> Path:
    """Write the holdout comparison by calibration frequency as CSV."""
    path = out / BY_FREQUENCY_CSV
    holdout.by_frequency.to_csv(path, float_format="%.6g")
    return path


def plot_backtest(
    out: Path,
    tracking: pd.DataFrame,
    holdout: HoldoutResult,
    calibration_end: pd.Timestamp,
    time_unit: str,
) -> Path:
    """Save the tracking plot and the by-frequency comparison as ``backtest.png``."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    ax1.plot(tracking.index, tracking["actual"], color="black", label="actual")
    ax1.plot(tracking.index, tracking["model"], color="tab:blue", ls="--", label="BG/NBD E[X(t)]")
    ax1.axvline(calibration_end, color="grey", ls=":", label="calibration end")
    ax1.set_title("Cumulative repeat transactions")
    ax1.set_ylabel("repeat transactions")
    ax1.legend()
    ax1.tick_params(axis="x", labelrotation=30)

    table = holdout.by_frequency
    x = range(len(table))
    ax2.plot(x, table["actual_per_customer"], "o-", color="black", label="actual")
    ax2.plot(x, table["predicted_per_customer"], "s--", color="tab:blue", label="E[Y(t)|x,t_x,T]")
    ax2.set_xticks(list(x), table.index)
    ax2.set_xlabel("repeat transactions in calibration")
    ax2.set_ylabel("holdout transactions per customer")
    ax2.set_title(
        f"Holdout: {holdout.predicted_repeat:.0f} forecast vs {holdout.actual_repeat} actual "
        f"({holdout.error_pct:+.1f}%)"
    )
    ax2.legend()
    path = out / BACKTEST_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
