"""What a calibration and a forecast are made of: months, series, priors, defaults.

Plain Python only (no numpy, pandas or the simulator): the command line builds its help from
these names and defaults without loading the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from model.errors import InputError

#: A month is 30 simulated days: month 1 is days 0–29, month m is days 30(m−1) … 30m−1.
DAYS_PER_MONTH = 30
#: The simulator's longest horizon (3650 days) in whole months.
MAX_MONTHS = 3650 // DAYS_PER_MONTH

#: Series a monthly CSV may hold (any non-empty subset), in display order.
SERIES_COLUMNS = ("n_private", "joins", "unfollows", "orders", "n_public")
#: Every monthly metric the aggregation can produce (the forecast uses the extra ones).
MONTHLY_METRICS = (*SERIES_COLUMNS, "n_lapsed", "contribution", "cum_contribution")
#: KPIs of the forecast, one fan-chart panel each: customers by domain (month end), orders and
#: contribution in the month, and contribution so far.
FORECAST_METRICS = (
    "n_public",
    "n_private",
    "n_lapsed",
    "orders",
    "contribution",
    "cum_contribution",
)

#: ABC-SMC defaults: generations (finished ones in ``abc.db`` included), accepted particles
#: per generation, and posterior draws simulated for the posterior-predictive check.
DEFAULT_POPULATIONS = 4
DEFAULT_POPULATION_SIZE = 100
DEFAULT_PREDICTIVE_DRAWS = 40
#: Forecast defaults: months ahead and replicates.
DEFAULT_MONTHS = 12
DEFAULT_REPLICATES = 40

#: Default parameters and uniform prior ranges (DESIGN §7 says to sweep them; sources there).
DEFAULT_PRIORS: dict[str, tuple[float, float]] = {
    # Diversion: "8% of platform orders with a ¥3 red packet", no traceable source (D), sweep
    # 2–20%. With the baseline's p_join_base 0.03 and ¥3 of ¥5 scale, the join rate is
    # 0.03 + (p_join_max − 0.03)·0.45, so p_join_max 0.03–0.40 spans join rates 3–20%.
    # (The schema needs p_join_max ≥ p_join_base: the low end is raised to the scenario's base.)
    "diversion.p_join_max": (0.03, 0.40),
    # Unfollow per push at fatigue 1: email 0.1–0.3% (Mailchimp, B) to SMS 0.5–3.7% (B/C).
    "outreach.p_unfollow_base": (0.001, 0.037),
    # Referral conversion per invitation: no source at all (D); 0 to 4× the default 0.05.
    "referral.p_convert": (0.0, 0.20),
}


@dataclass(frozen=True)
class ParamRange:
    """One calibrated parameter: a dotted scenario key with a uniform prior on [low, high]."""

    key: str
    low: float
    high: float

    @property
    def width(self) -> float:
        """Width of the prior range."""
        return self.high - self.low


def parse_param(text: str) -> ParamRange:
    """Parse ``--param dotted.key=LOW:HIGH``.

    Raises:
        InputError: malformed text, a value that is not a number, or LOW ≥ HIGH.
    """
    if "=" not in text or ":" not in text.split("=", 1)[1]:
        raise InputError(
            f"--param {text!r}: expected dotted.key=LOW:HIGH, e.g. diversion.p_join_max=0.05:0.30"
        )
    key, bounds = (s.strip() for s in text.split("=", 1))
    low_s, high_s = (s.strip() for s in bounds.split(":", 1))
    try:
        low, high = float(low_s), float(high_s)
    except ValueError:
        raise InputError(
            f"--param {text!r}: bounds {low_s!r} and {high_s!r} must be numbers"
        ) from None
    return _checked(key, low, high, f"--param {text!r}")


def _checked(key: str, low: float, high: float, shown: str) -> ParamRange:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError(f"{shown}: bounds must be finite numbers")
    if low >= high:
        raise InputError(f"{shown}: LOW = {low:g} must be below HIGH = {high:g}")
    if not key:
        raise InputError(f"{shown}: the key before '=' is empty")
    return ParamRange(key, float(low), float(high))


def param_ranges(
    params: Mapping[str, tuple[float, float]] | Iterable[str | ParamRange],
) -> list[ParamRange]:
    """The calibrated parameters from ``{key: (low, high)}`` or ``KEY=LOW:HIGH`` texts.

    Raises:
        InputError: a malformed range (see :func:`parse_param`).
    """
    if isinstance(params, Mapping):
        out = []
        for key, bounds in params.items():
            shown = f"--param {key}={bounds!r}"
            try:
                low, high = (float(b) for b in bounds)
            except (TypeError, ValueError):
                raise InputError(f"{shown}: expected (LOW, HIGH), two numbers") from None
            out.append(_checked(str(key).strip(), low, high, shown))
        return out
    return [p if isinstance(p, ParamRange) else parse_param(p) for p in params]


def default_params(raw: dict[str, Any]) -> list[ParamRange]:
    """The default calibrated parameters with their prior ranges for this scenario."""
    out = []
    for key, (low, high) in DEFAULT_PRIORS.items():
        if key == "diversion.p_join_max":
            low = max(low, float(raw.get("diversion", {}).get("p_join_base", 0.0)))
        out.append(ParamRange(key, low, high))
    return out
