"""Write a fit's outputs: ``fit.json``, the scenario fragment, ``summary.csv`` and the plot."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.fitting.backtest import HoldoutResult
from model.fitting.bgnbd import HOMOGENEOUS_P
from model.fitting.orders import TIME_UNITS
from model.fitting.pipeline import MODELS, OrderFit

FIT_JSON = "fit.json"
FRAGMENT_TOML = "fitted_behaviour.toml"
TWO_STATE_TOML = "fitted_two_state.toml"
SUMMARY_CSV = "summary.csv"
BACKTEST_PNG = "backtest.png"
BY_FREQUENCY_CSV = "backtest_by_frequency.csv"
LABELS = {"bgnbd": "BG/NBD", "two_state": "two-state"}


def _num(value: float) -> float | None:
    # JSON has no NaN; a missing standard error is written as null.
    return None if value is None or not math.isfinite(value) else float(value)


def fit_record(
    *,
    source: str,
    time_unit: str,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp | None,
    fit: OrderFit,
    date_format: str,
    n_orders: int,
    n_transactions: int,
) -> dict[str, Any]:
    """Assemble the content of ``fit.json`` (also returned to callers as a dict)."""
    summary, bg, ts, gg = fit.summary, fit.bgnbd, fit.two_state, fit.gamma_gamma
    profile = ts.profile_
    lr = 2.0 * (ts.loglik_ - bg.loglik_)
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
            **{k: _num(v) for k, v in bg.params_.items()},
            "se": {k: _num(v) for k, v in bg.se_.items()},
            "loglik": _num(bg.loglik_),
            "aic": _num(-2 * bg.loglik_ + 2 * 4),
            "converged": bg.converged_,
            "reference": "Fader, Hardie & Lee (2005), Marketing Science 24(2)",
        },
        "two_state": {
            **{k: _num(v) for k, v in ts.params_.items()},
            "se": {k: _num(v) for k, v in ts.se_.items()},
            "loglik": _num(ts.loglik_),
            "aic": _num(ts.aic()),
            "converged": ts.converged_,
            "mean_dormancy": _num(1.0 / ts.params_["rho"]),
            "lr_vs_bgnbd": _num(lr),
            "n_params": ts.n_params_,
            "mean_p_active_at_calibration_end": _num(float(np.mean(fit.p_active))),
            "model": "active/dormant: λ ~ Gamma(r, alpha) while active, dormant with p ~ "
            "Beta(a, b) after each repeat purchase, back to active at rate rho",
        },
        "seasonality": _season_record(profile, ts.profile_se_, fit.seasonality),
    }
    record["gamma_gamma"] = {
        **{k: _num(v) for k, v in gg.params_.items()},
        "se": {k: _num(v) for k, v in gg.se_.items()},
        "loglik": _num(gg.loglik_),
        "converged": gg.converged_,
        "n_customers": gg.n_customers_,
        "mean_transaction_value": _num(_gg_mean(gg.params_)),
        "corr_frequency_monetary": _num(gg.corr_frequency_monetary_),
        "reference": "Fader, Hardie & Lee (2005), Journal of Marketing Research 42(4)",
    }
    if fit.holdout is not None:
        first = fit.holdout["bgnbd"]
        block: dict[str, Any] = {
            "duration": float(summary["duration_holdout"].iloc[0]),
            "actual_repeat": first.actual_repeat,
        }
        for name in MODELS:
            h = fit.holdout[name]
            table = h.by_frequency.reset_index()
            block[name] = {
                "predicted_repeat": h.predicted_repeat,
                "error_pct": _num(h.error_pct),
                "rmse": _num(h.rmse),
                "correlation": _num(h.correlation),
                "by_frequency": [
                    {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in table.to_dict(orient="records")
                ],
            }
        record["holdout"] = block
    return record


def _season_record(profile, se, why: str) -> dict[str, Any]:
    out: dict[str, Any] = {"source": profile.source, "why": why}
    if profile.source == "none":
        return out
    out["month_multipliers"] = [_num(v) for v in profile.month_multipliers]
    out["lifts"] = {k: _num(v) for k, v in profile.lifts.items()}
    out["festivals"] = [
        {
            "name": f.name,
            "anchor": f.anchor,
            "days_before": f.days_before,
            "days_after": f.days_after,
        }
        for f in profile.festivals
        if f.name in profile.lifts
    ]
    if se is not None:
        out["se"] = {
            "month_multipliers": [_num(v) for v in se["month_multipliers"]],
            "lifts": {k: _num(v) for k, v in se["lifts"].items()},
        }
    return out


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
    lines += _holdout_lines(record, "bgnbd")
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
    lines += _rows_lines(rows)
    # BG/NBD's world, whatever the base says: dormancy is forever and the rates are averages
    # over the calendar year (fitted without a seasonal profile).
    lines += [
        "return_rate_per_day = 0.0  # BG/NBD: dormancy is forever (the base may say otherwise)",
        "",
        "[calendar]",
        "enabled = false  # BG/NBD's rates are averages over the year, festivals included",
    ]
    return "\n".join(lines) + "\n"


def _holdout_lines(record: dict[str, Any], model: str) -> list[str]:
    if "holdout" not in record:
        return []
    h = record["holdout"]
    m = h[model]
    # error_pct (and the correlation) are null when the holdout has no repeat transactions.
    error = "error undefined" if m["error_pct"] is None else f"{m['error_pct']:+.1f}%"
    corr = "n/a" if m["correlation"] is None else f"{m['correlation']:.3f}"
    return [
        f"# Holdout to {record['holdout_end']}: {m['predicted_repeat']:.1f} repeat "
        f"transactions forecast vs {h['actual_repeat']} actual ({error}); "
        f"per-customer RMSE {m['rmse']:.3g}, correlation {corr}."
    ]


def _rows_lines(rows: list[tuple[str, float, float | None, str]]) -> list[str]:
    width = max(len(k) for k, *_ in rows)
    out = []
    for key, value, se, note in rows:
        se_text = f"± {se:.2g}" if se is not None else "± n/a"
        comment = f"# {se_text}" + (f"; {note}" if note else "")
        out.append(f"{key:<{width}} = {_fmt(value):<12} {comment}")
    return out


def two_state_fragment(record: dict[str, Any], start_date: date, today: date | None = None) -> str:
    """Render the two-state model's scenario fragment: ``[behaviour]`` and ``[calendar]``.

    The keys are those the simulator reads for return from dormancy (daily units):
    ``r, alpha_days, a, b`` of the two-state fit (not BG/NBD's: the four are estimated
    jointly with the return rate), ``return_rate_per_day`` (ρ; 0 would be BG/NBD), the
    Gamma-Gamma spend keys, and the ``[calendar]`` table (see
    :meth:`model.fitting.calendar.SeasonalProfile.to_toml_table`). A weekly fit's rates are
    divided by 7: alpha_days = 7·alpha_weeks, return_rate_per_day = rho_weeks / 7.
    """
    today = today or date.today()
    unit = TIME_UNITS[record["time_unit"]]
    ts, gg, season = record["two_state"], record["gamma_gamma"], record["seasonality"]
    rows = [
        ("r", ts["r"], ts["se"]["r"], "while active, λ per day ~ Gamma(r, rate alpha_days)"),
        ("alpha_days", ts["alpha"] * unit, _scaled(ts["se"]["alpha"], unit), "rate, days"),
        ("a", ts["a"], ts["se"]["a"], "dormant after each repeat purchase w.p. p ~ Beta(a, b)"),
        ("b", ts["b"], ts["se"]["b"], ""),
        (
            "return_rate_per_day",
            ts["rho"] / unit,
            _scaled(ts["se"]["rho"], 1 / unit),
            f"dormant → active; mean dormancy {ts['mean_dormancy'] * unit:.0f} days",
        ),
        ("gg_p", gg["p"], gg["se"]["p"], "order value ~ Gamma(gg_p, rate ν)"),
        ("gg_q", gg["q"], gg["se"]["q"], "ν ~ Gamma(gg_q, rate gg_gamma)"),
        ("gg_gamma", gg["gamma"], gg["se"]["gamma"], "yuan"),
    ]
    # Below one expected return per thousand customer-years, ρ sits at its boundary 0.
    boundary = ts["rho"] / unit * 365_000 < 1
    if boundary:
        rows[4] = (rows[4][0], 0.0, None, "no return detected: ρ ran to its boundary 0")
    lines = [
        f"# Fitted by `run.py fit-orders {Path(record['source']).name}` on {today.isoformat()}; "
        "the two-state (active/dormant) model with return from dormancy, by MLE.",
        f"# Calibration period up to {record['calibration_end']}, "
        f"{record['n_customers']} customers; log-likelihood {ts['loglik']:.1f} against "
        f"BG/NBD's {record['bgnbd']['loglik']:.1f} (LR {ts['lr_vs_bgnbd']:.1f}).",
        f"# Seasonal profile: {season['why']}.",
        *_holdout_lines(record, "two_state"),
        *(
            ["# NOTE: no customer returned from dormancy in this log: the model is BG/NBD here."]
            if boundary
            else []
        ),
        "# Comments give ± one standard error. Load it as a scenario (its base supplies "
        "everything else): run.py run fitted_two_state.toml.",
        'base = "baseline.toml"',
        "",
        "[behaviour]",
        *_rows_lines(rows),
        "",
    ]
    from model.calendar import SeasonalProfile

    profile = (
        SeasonalProfile(
            tuple(season["month_multipliers"]),
            season["lifts"],
            tuple(_festival(f) for f in season["festivals"]),
            season["source"],
        )
        if season["source"] != "none"
        else SeasonalProfile()
    )
    lines += profile.to_toml_table(start_date)
    if season.get("se"):
        se = season["se"]
        lines.append(
            "# ± se of month_multipliers: "
            + ", ".join("n/a" if v is None else f"{v:.2g}" for v in se["month_multipliers"])
        )
        for name, v in se["lifts"].items():
            lines.append(f"# ± se of {name}.lift: {'n/a' if v is None else f'{v:.2g}'}")
    return "\n".join(lines) + "\n"


def _festival(spec: dict[str, Any]):
    from model.calendar import Festival

    return Festival(spec["name"], spec["anchor"], spec["days_before"], spec["days_after"])


def _scaled(se: float | None, unit: float) -> float | None:
    return None if se is None else se * unit


def _fmt(value: float) -> str:
    # Five significant digits is plenty for parameters with se of a few percent, and keeps the
    # file readable; repr-style 'g' never writes a TOML-invalid float.
    text = f"{value:.5g}"
    return text if any(c in text for c in ".en") else text + ".0"


def write_fragment(out: Path, record: dict[str, Any], today: date | None = None) -> Path:
    """Write ``fitted_behaviour.toml`` (BG/NBD) into ``out``."""
    path = out / FRAGMENT_TOML
    path.write_text(behaviour_fragment(record, today), encoding="utf-8")
    return path


def write_two_state_fragment(
    out: Path, record: dict[str, Any], start_date: date, today: date | None = None
) -> Path:
    """Write ``fitted_two_state.toml`` into ``out``."""
    path = out / TWO_STATE_TOML
    path.write_text(two_state_fragment(record, start_date, today), encoding="utf-8")
    return path


def write_summary(out: Path, summary: pd.DataFrame) -> Path:
    """Write the per-customer table as ``summary.csv``."""
    path = out / SUMMARY_CSV
    table = summary.copy()
    table["first_date"] = pd.to_datetime(table["first_date"]).dt.date
    table.to_csv(path, float_format="%.6g")
    return path


def write_by_frequency(out: Path, holdout: dict[str, HoldoutResult]) -> Path:
    """Write both models' holdout comparison by calibration frequency as one CSV."""
    path = out / BY_FREQUENCY_CSV
    first = next(iter(holdout.values())).by_frequency
    table = first[["n_customers", "actual_repeat", "actual_per_customer"]].copy()
    for name, h in holdout.items():
        table[f"predicted_repeat_{name}"] = h.by_frequency["predicted_repeat"]
        table[f"predicted_per_customer_{name}"] = h.by_frequency["predicted_per_customer"]
    table.to_csv(path, float_format="%.6g")
    return path


def plot_backtest(
    out: Path,
    tracking: pd.DataFrame,
    holdout: dict[str, HoldoutResult],
    calibration_end: pd.Timestamp,
) -> Path:
    """Save the tracking plots and the by-frequency comparison as ``backtest.png``.

    Panels: cumulative repeat transactions, weekly repeat transactions (actual against each
    model's expectation), and holdout purchases per customer by calibration frequency.
    """
    import matplotlib.pyplot as plt

    colours = {"bgnbd": "tab:blue", "two_state": "tab:red"}
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(17, 4.8), constrained_layout=True)
    ax1.plot(tracking.index, tracking["actual"], color="black", label="actual")
    daily = tracking.diff().fillna(tracking.iloc[:1])
    # Whole weeks only: a partial first or last week would read as a collapse in buying.
    weeks = daily.resample("W")
    weekly = weeks.sum()[weeks.size() == 7]
    ax2.plot(weekly.index, weekly["actual"], color="black", label="actual")
    for name in holdout:
        ax1.plot(tracking.index, tracking[name], color=colours[name], ls="--", label=LABELS[name])
        ax2.plot(weekly.index, weekly[name], color=colours[name], ls="--", label=LABELS[name])
    for ax, title in ((ax1, "Cumulative repeat transactions"), (ax2, "Weekly repeat transactions")):
        ax.axvline(calibration_end, color="grey", ls=":", label="calibration end")
        ax.set_title(title)
        ax.set_ylabel("repeat transactions")
        ax.legend()
        ax.tick_params(axis="x", labelrotation=30)

    first = next(iter(holdout.values()))
    table = first.by_frequency
    x = range(len(table))
    ax3.plot(x, table["actual_per_customer"], "o-", color="black", label="actual")
    for name, h in holdout.items():
        ax3.plot(
            x,
            h.by_frequency["predicted_per_customer"],
            "s--",
            color=colours[name],
            label=f"{LABELS[name]}: {h.error_pct:+.1f}%, RMSE {h.rmse:.3g}",
        )
    ax3.set_xticks(list(x), table.index)
    ax3.set_xlabel("repeat transactions in calibration")
    ax3.set_ylabel("holdout transactions per customer")
    ax3.set_title(f"Holdout: {first.actual_repeat} actual repeat transactions")
    ax3.legend()
    path = out / BACKTEST_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
