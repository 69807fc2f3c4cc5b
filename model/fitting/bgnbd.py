"""BG/NBD: the beta-geometric / negative-binomial model of repeat purchasing.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). While alive a customer buys as a Poisson process
with rate λ ~ Gamma(shape r, rate α); after each repeat purchase they drop out with
probability p ~ Beta(a, b). Time is in whatever unit the summary uses (days or weeks).

All functions are pure and vectorised over customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1

from model.fitting._mle import fit_positive

PARAM_NAMES = ("r", "alpha", "a", "b")


def bgnbd_loglik(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """Per-customer log-likelihood, FHL 2005 eq. (6), computed in logs.

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + 1{x>0} B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    The two terms (alive at T; dropped out right after the last purchase) are combined with
    ``logaddexp`` so that customers with many purchases do not overflow the gamma functions.

    Args:
        r: Shape of the purchase-rate distribution λ ~ Gamma(r, rate alpha).
        alpha: Rate of that distribution, in the summary's time unit.
        a: First shape of the dropout probability p ~ Beta(a, b).
        b: Second shape of p ~ Beta(a, b).
        x: Repeat transactions in calibration (frequency).
        t_x: Time of the last transaction since the first (recency).
        T: Time from first transaction to the end of calibration.

    Returns:
        Array of log-likelihoods, one per customer.
    """
    common, alive, dead = _terms(r, alpha, a, b, *_arrays(x, t_x, T))
    return common + np.logaddexp(alive, dead)


def _arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def _terms(r, alpha, a, b, x, t_x, T):
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    # For x == 0 the second term is absent; b + x − 1 would be b − 1 (possibly < 0), so feed a
    # harmless value there and mask it to −inf.
    has = x > 0
    dead = np.where(
        has,
        betaln(a + 1, np.where(has, b + x - 1, b)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common, alive, dead


def bgnbd_loglik_grad(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (r, alpha, a, b).

    With w the weight of the 'alive' term in eq. (6) (so 1 − w is the 'dropped out' term's)
    and ψ the digamma function, ∂/∂p log B(p, q) = ψ(p) − ψ(p+q) gives

    - ∂/∂r = ψ(r+x) − ψ(r) + log α − w log(α+T) − (1−w) log(α+t_x)
    - ∂/∂α = r/α − (r+x) [w/(α+T) + (1−w)/(α+t_x)]
    - ∂/∂a = ψ(a+b) − ψ(a) + w [ψ(a) − ψ(a+b+x)] + (1−w) [ψ(a+1) − ψ(a+b+x)]
    - ∂/∂b = ψ(a+b) − ψ(b) + w [ψ(b+x) − ψ(a+b+x)] + (1−w) [ψ(b+x−1) − ψ(a+b+x)]

    Args:
        r: Shape of the purchase-rate distribution λ ~ Gamma(r, rate alpha).
        alpha: Rate of that distribution, in the summary's time unit.
        a: First shape of the dropout probability p ~ Beta(a, b).
        b: Second shape of p ~ Beta(a, b).
        x: Repeat transactions in calibration (frequency).
        t_x: Time of the last transaction since the first (recency).
        T: Time from first transaction to the end of calibration.

    Returns:
        ``(loglik, grad)`` with shapes (n,) and (4, n).
    """
    x, t_x, T = _arrays(x, t_x, T)
    common, alive, dead = _terms(r, alpha, a, b, x, t_x, T)
    both = np.logaddexp(alive, dead)
    w = np.exp(alive - both)  # share of the alive term; 1 where x = 0
    v = 1.0 - w
    psi_abx = digamma(a + b + x)
    b_dead = np.where(x > 0, b + x - 1, b)  # only used where v > 0, i.e. x > 0
    grad = np.stack(
        [
            digamma(r + x)
            - digamma(r)
            + np.log(alpha)
            - w * np.log(alpha + T)
            - v * np.log(alpha + t_x),
            r / alpha - (r + x) * (w / (alpha + T) + v / (alpha + t_x)),
            digamma(a + b)
            - digamma(a)
            + w * (digamma(a) - psi_abx)
            + v * (digamma(a + 1) - psi_abx),
            digamma(a + b)
            - digamma(b)
            + w * (digamma(b + x) - psi_abx)
            + v * (digamma(b_dead) - psi_abx),
        ]
    )
    return common + both, grad


def bgnbd_conditional_expected(
    t: float | np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    r: float,
    alpha: float,
    a: float,
    b: float,
) -> np.ndarray:
    """Expected repeat transactions in (T, T+t] given a customer's history, FHL 2005 eq. (10).

    E[Y(t) | x, t_x, T] =
        (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
        / [1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)]

    Evaluated with Euler's transformation ₂F₁(A,B;C;z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z),
    which turns the bracket into 1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z): the
    original form multiplies a ₂F₁ that diverges as t grows by a power that vanishes, and
    loses all precision for long horizons or large x.

    Args:
        t: Length of the forecast period (scalar or per customer).
        x: Repeat transactions in calibration (frequency).
        t_x: Time of the last transaction since the first (recency).
        T: Time from first transaction to the end of calibration.
        r: Shape of the purchase-rate distribution λ ~ Gamma(r, rate alpha).
        alpha: Rate of that distribution, in the summary's time unit.
        a: First shape of the dropout probability p ~ Beta(a, b).
        b: Second shape of p ~ Beta(a, b).

    Returns:
        Expected repeat transactions per customer.
    """
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    a = _away_from_one(a)
    z = t / (alpha + T + t)
    one_minus_z = (alpha + T) / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        bracket = 1.0 - one_minus_z ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1) * bracket
    # A fit can run a and b off to the boundary (a, b → ∞ with a/(a+b) fixed: every customer
    # has the same dropout p), where ₂F₁ overflows. Use that limit's closed form there:
    # E[Y(t) | alive] = (1 − ((α+T)/(α+T+p·t))^(r+x)) / p, λ's posterior being Gamma(r+x, α+T).
    p_bar = a / (a + b)
    if a + b > HOMOGENEOUS_P or not np.all(np.isfinite(head)):
        limit = -np.expm1(-(r + x) * np.log1p(p_bar * t / (alpha + T))) / p_bar
        head = np.where(np.isfinite(head) & (a + b <= HOMOGENEOUS_P), head, limit)
        # The alive odds below use a/(b+x−1), which tends to p/(1−p) in the same limit.
    # log of a/(b+x−1) · ((α+T)/(α+t_x))^(r+x); only used where x > 0.
    has = x > 0
    log_odds = np.where(
        has,
        np.log(a)
        - np.log(np.where(has, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return head / (1.0 + np.exp(log_odds))


def bgnbd_expected_repeat(t: float | np.ndarray, r: float, alpha: float, a: float, b: float):
    """Expected repeat transactions in (0, t] after the first purchase, FHL 2005 eq. (7).

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))],
    evaluated (like :func:`bgnbd_conditional_expected`, of which it is the case x = T = 0)
    through Euler's transformation for stability at long horizons.

    Args:
        t: Time since the first purchase (scalar or array; 0 where negative).
        r: Shape of the purchase-rate distribution λ ~ Gamma(r, rate alpha).
        alpha: Rate of that distribution, in the summary's time unit.
        a: First shape of the dropout probability p ~ Beta(a, b).
        b: Second shape of p ~ Beta(a, b).

    Returns:
        E[X(t)], same shape as ``t``.
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, None)
    zero = np.zeros_like(t)
    return bgnbd_conditional_expected(t, zero, zero, zero, r, alpha, a, b)


def bgnbd_p_alive(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """Probability a customer is still alive at T, FHL 2005 eq. (11)."""
    x = np.asarray(x, dtype=float)
    has = x > 0
    log_odds = np.where(
        has,
        np.log(a)
        - np.log(np.where(has, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + np.asarray(T)) - np.log(alpha + np.asarray(t_x))),
        -np.inf,
    )
    return 1.0 / (1.0 + np.exp(log_odds))


# Beyond this a + b the Beta mixing of dropout is a point mass for every practical purpose.
HOMOGENEOUS_P = 1e4


def _away_from_one(a: float) -> float:
    # Eq. (7)/(10) are 0/0 at a = 1 (the limit exists); a fitted a is never exactly 1, but a
    # user-supplied one might be, and a relative nudge of 1e-7 changes nothing visible.
    return a + 1e-7 if abs(a - 1.0) < 1e-7 else a


@dataclass
class BetaGeoModel:
    """BG/NBD fitted by maximum likelihood (scikit-learn style: configure, then ``fit``).

    Attributes set by :meth:`fit`: ``params_`` (dict r, alpha, a, b), ``se_`` (dict of
    standard errors), ``cov_`` (4×4 covariance in the natural parameters), ``loglik_``,
    ``n_customers_``, ``converged_``.
    """

    def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
        """Fit to a summary with columns ``frequency``, ``recency`` and ``T``.

        Identical (x, t_x, T) rows are collapsed with counts first: day-level exports repeat
        the same triple many times, and the likelihood is a weighted sum.
        """
        grouped = (
            pd.DataFrame(
                {
                    "x": summary["frequency"].to_numpy(float),
                    "t_x": summary["recency"].to_numpy(float),
                    "T": summary["T"].to_numpy(float),
                }
            )
            .value_counts()
            .reset_index()
        )
        x, t_x, T = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T"))
        w = grouped["count"].to_numpy(float)
        n = float(w.sum())

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = bgnbd_loglik_grad(*theta, x, t_x, T)
            return -float(w @ ll), -(grad @ w)

        # Start α at r / (mean purchase rate) so r/α, the mean λ, is right from the outset.
        rate = max(float((w * x).sum() / max((w * T).sum(), 1e-12)), 1e-6)
        starts = [(1.0, 1.0 / rate, 1.0, 3.0), (0.3, 0.3 / rate, 0.5, 1.5)]
        res = fit_positive(nll, starts, scale=n)
        self.params_ = dict(zip(PARAM_NAMES, map(float, res.params), strict=True))
        self.se_ = dict(zip(PARAM_NAMES, map(float, res.se), strict=True))
        self.cov_ = res.cov
        self.loglik_ = res.loglik
        self.n_customers_ = int(n)
        self.converged_ = res.converged
        return self

    def conditional_expected(self, t: float | np.ndarray, summary: pd.DataFrame) -> np.ndarray:
        """E[Y(t) | x, t_x, T] for each customer in ``summary`` (see eq. 10)."""
        return bgnbd_conditional_expected(
            t, summary["frequency"], summary["recency"], summary["T"], **self.params_
        )

    def expected_repeat(self, t: float | np.ndarray) -> np.ndarray:
        """Unconditional E[X(t)] for a customer who made a first purchase at 0."""
        return bgnbd_expected_repeat(t, **self.params_)

    def cohort_curve(self, unit_days: float):
        """E[X] by first-purchase cohort and day (for the tracking plot's cohorts)."""
        params = self.params_

        def curve(offsets: np.ndarray, grid: np.ndarray) -> np.ndarray:
            age = np.clip(grid[None, :] - offsets[:, None], 0, None)
            uniq, inv = np.unique(age, return_inverse=True)
            return bgnbd_expected_repeat(uniq / unit_days, **params)[inv].reshape(age.shape)

        return curve
