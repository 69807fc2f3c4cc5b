"""A two-state (active / dormant) purchase model: BG/NBD whose dormancy is not forever.

The model (continuous time, in the fit's unit, days or weeks; with a seasonal profile, in
operational time, see :mod:`model.fitting.calendar`):

- While **active** a customer buys as a Poisson process with rate λ ~ Gamma(shape r, rate α).
- After each *repeat* purchase they turn **dormant** with probability p ~ Beta(a, b) (as in
  BG/NBD: the first purchase opens the clock and is never followed by a dropout).
- A dormant customer buys nothing and **returns** to active at rate ρ (the same for everyone);
  once back, they buy at their λ again. ρ = 0 is BG/NBD exactly.

So after a dropout the next inter-purchase time is Exp(ρ) ⊛ Exp(λ) instead of Exp(λ). Given
(λ, p) the purchase times form a renewal process, and the likelihood of a history with first
purchase at 0, repeat purchases at t_1 < … < t_x, observed to T, is

    L(λ, p) = λ^x e^{−λT} · Π_{m=1}^{x} [(1 − p) + p·g_m]          (x ≥ 1; e^{−λT} if x = 0)

where g_m = h(τ_{m+1}) for the inter-purchase intervals τ_2 … τ_x and g_x = H(T − t_x) for the
time since the last purchase:

    h(τ) = ρ·τ·φ((λ−ρ)τ),   H(c) = 1 + λ·c·φ((λ−ρ)c),   φ(z) = (e^z − 1)/z.

(h is the hypo-exponential density relative to λe^{−λτ}; H the survival after a dropout
relative to e^{−λc}, itself the sum of "returned, no purchase since" h(c) and "still dormant"
e^{(λ−ρ)c}.) With ρ = 0, h = 0 and H = e^{λc}, which is FHL 2005 eq. (6) before mixing.

**Mixing.** The product is a polynomial of degree x in p, Σ_k e_k p^k (1−p)^(x−k), with e_k the
elementary symmetric polynomials of g_1 … g_x. The Beta integral is therefore exact:
E_p[·] = Σ_k e_k B(a+k, b+x−k)/B(a, b), the e_k coming from the recursion
e_k ← e_k + g_m e_{k−1} (in linear scale with a running log scale, so that g = e^{λτ} cannot
overflow; cost O(x²) per customer and λ node). λ is integrated numerically on a per-customer grid
in log λ (the trapezoid rule, spectrally accurate for these smooth integrands) whose range and
step follow the customer's data (:func:`lambda_grid`); x = 0 customers have the closed form
(α/(α+T))^r. The gradient comes from the adjoint (backward) pass of the same recursion, which
yields each factor's posterior dropout probability.

**Forecasts.** Given (λ, p, ρ) the state is a two-state Markov chain (active → dormant at rate
λp, dormant → active at rate ρ, purchases at rate λ while active), so with κ = λp + ρ and
π = ρ/κ the expected purchases in (0, t] are

    m_A(t) = λ [π t + (1 − π)(1 − e^{−κt})/κ]       starting active,
    m_D(t) = λ π [t − (1 − e^{−κt})/κ]               starting dormant.

E[X(t)] after the first purchase is E_{λ,p}[m_A(t)] (the first purchase leaves the customer
active), computed by Gauss–Laguerre × Gauss–Jacobi quadrature; the conditional expectation
E[Y(t) | history] mixes m_A and m_D over the posterior of (λ, p, state at T), by quadrature on
the customer's λ grid and a Gauss–Jacobi rule in p (:func:`conditional_expected`).

The model belongs to the hidden-Markov family of Netzer, Lattin & Srinivasan (2008) and
Ma & Büschken (2011) (an absorbing-free active/inactive chain), kept in BG/NBD's
parameterisation so BG/NBD is its ρ = 0 special case and the simulator's customers gain one
rate.

Two variants were tested and are kept for such tests (``fit-orders`` uses neither): dropout
after the first purchase too (MBG/NBD's convention, ``histories(..., first_dropout=True)``),
and a Gamma-distributed return rate (:func:`loglik_gamma_return`); see the README.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from model.fitting._mle import covariance_at, fit_positive
from model.fitting.bgnbd import HOMOGENEOUS_P
from model.fitting.calendar import (
    DEFAULT_FESTIVALS,
    MONTH_DAYS,
    SeasonalProfile,
    normalise_months,
    operational_time,
)

PARAM_NAMES = ("r", "alpha", "a", "b", "rho")

# Trapezoid step in log λ: at most one posterior width 1/√(x+r) and at most 0.5 (the
# integrand is analytic in a strip of half-width < π/2 around the real axis, so the rule's
# error falls like exp(−2π·d/step)); together they keep it near 1e-7 relative (tested against
# adaptive quadrature). The range adds tails where the integrand has fallen by e^−22.
_STEP_PER_SD = 1.0
_MAX_STEP = 0.5
_LEFT_DECAY = 22.0
_MARGIN = 0.3  # extra log-λ on each side, for parameters (and op-time) far from the start
_MAX_NODES = 256  # a safety bound only: the step rule above sets K


def logsumexp(a: np.ndarray, axis=-1) -> np.ndarray:
    """Log Σ exp(a) along ``axis`` (−inf where every term is −inf); scipy's is slower here."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def log_phi(z: np.ndarray) -> np.ndarray:
    """log((e^z − 1)/z), stable for all real z (0 at z = 0)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-5
    zs = np.where(small, 1.0, z)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        pos = zs + np.log(-np.expm1(-zs)) - np.log(zs)
        neg = np.log(-np.expm1(zs)) - np.log(-zs)
    return np.where(small, z / 2 + z * z / 24, np.where(z > 0, pos, neg))


def dlog_phi(z: np.ndarray) -> np.ndarray:
    """d/dz log φ(z) = 1/(1 − e^{−z}) − 1/z (1/2 at z = 0)."""
    z = np.asarray(z, dtype=float)
    small = np.abs(z) < 1e-4
    zs = np.where(small, 1.0, z)
    with np.errstate(over="ignore", divide="ignore"):
        val = -1.0 / np.expm1(-zs) - 1.0 / zs
    return np.where(small, 0.5 + z / 12, val)


@dataclass(frozen=True)
class Histories:
    """Calibration histories as day numbers, arranged for the likelihood's recursion.

    Customers are those of the RFM summary (first purchase on or before calibration end), in
    its order. Segments are the pieces of each customer's observation window between events:
    an order on day d sits at the start of that day, so a segment (d0, d1) covers days d0 …
    d1−1. Their lengths in the model's time unit come from :meth:`lengths`.

    Attributes:
        index: Customer ids, in the summary's order.
        x: Repeat transactions in calibration, per customer.
        first_day: Day of the first transaction (days since ``origin``).
        end_day: Calibration end (its start, as T in the summary).
        origin: Calendar date of day 0 (the earliest first purchase).
        unit_days: 1 for a fit in days, 7 in weeks.
        seg_start, seg_end: Segment days.
        zero_seg: Segment (first day → end) of each x = 0 customer.
        rank: Customers with x ≥ 1 in recursion order (x descending).
        first_seg: Their first inter-purchase segment, in ``rank`` order.
        factor_seg: Segment of recursion factor m (1 … x) for each of them, grouped by m and
            in ``rank`` order within m: the interval after repeat m, or for m = x the time
            from the last purchase to the end.
        n_at_least: n_at_least[m] = number of customers with x ≥ m (m = 0 … x_max + 1).
        repeat_days: Days of all repeat purchases (for a seasonal profile's density term).
    """

    index: pd.Index
    x: np.ndarray
    first_day: np.ndarray
    end_day: int
    origin: pd.Timestamp
    unit_days: float
    seg_start: np.ndarray
    seg_end: np.ndarray
    zero_seg: np.ndarray
    rank: np.ndarray
    first_seg: np.ndarray
    factor_seg: np.ndarray
    n_at_least: np.ndarray
    repeat_days: np.ndarray
    first_dropout: bool = False

    @property
    def f_max(self) -> int:
        """Largest number of recursion factors (x, or x + 1 with ``first_dropout``)."""
        return len(self.n_at_least) - 2

    def lengths(self, op_time: np.ndarray | None = None) -> np.ndarray:
        """Segment lengths in the model's unit: calendar days, or operational days Λ."""
        if op_time is None:
            return (self.seg_end - self.seg_start) / self.unit_days
        return (op_time[self.seg_end] - op_time[self.seg_start]) / self.unit_days

    def factor_block(self, m: int) -> slice:
        """Positions in ``factor_seg`` of recursion step m (customers with x ≥ m)."""
        start = int(self.n_at_least[1:m].sum())
        return slice(start, start + int(self.n_at_least[m]))


def histories(
    transactions: pd.DataFrame,
    summary: pd.DataFrame,
    calibration_end: pd.Timestamp | str,
    unit_days: float = 1.0,
    first_dropout: bool = False,
) -> Histories:
    """Arrange calibration transactions for the two-state likelihood.

    Args:
        transactions: ``customer_id, date`` rows (from
            :func:`model.fitting.orders.to_transactions`).
        summary: The RFM summary of the same transactions (defines the customers).
        calibration_end: Last calibration day (inclusive).
        unit_days: 1 (days) or 7 (weeks), as the summary.
        first_dropout: Whether a customer may turn dormant right after the first purchase
            too (MBG/NBD's convention, Batislam et al. 2007) instead of only after repeat
            purchases (BG/NBD's).

    Returns:
        The histories (see :class:`Histories`).
    """
    cal_end = pd.Timestamp(calibration_end)
    first_date = pd.to_datetime(summary["first_date"])
    origin = first_date.min().normalize()
    day = np.timedelta64(1, "D")
    tx = transactions[
        transactions["customer_id"].isin(summary.index) & (transactions["date"] <= cal_end)
    ]
    tx = tx.sort_values(["customer_id", "date"], kind="stable")
    pos = pd.Index(summary.index).get_indexer(tx["customer_id"])
    days = ((pd.to_datetime(tx["date"]) - origin) / day).to_numpy().astype(np.int64)
    order = np.lexsort((days, pos))
    pos, days = pos[order], days[order]
    n = len(summary)
    counts = np.bincount(pos, minlength=n)
    x = counts - 1
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first_day = days[start]
    end_day = int((cal_end.normalize() - origin) / day)
    is_first = np.zeros(len(days), dtype=bool)
    is_first[start] = True
    repeat_days = days[~is_first]

    # Recursion factors: one per interval that may follow a dropout, i.e. after each repeat
    # purchase (and after the first one too when first_dropout). Customers with at least one
    # factor, by number of factors descending (stable in summary order).
    shift = 1 if first_dropout else 0
    n_fac = x + shift
    has = np.flatnonzero(n_fac >= 1)
    rank = has[np.argsort(-n_fac[has], kind="stable")]
    f_max = int(n_fac.max()) if len(n_fac) else 0
    n_at_least = np.array([(n_fac >= m).sum() for m in range(f_max + 2)], dtype=np.int64)

    seg_start, seg_end = [], []

    def add(s: np.ndarray, e: np.ndarray) -> np.ndarray:
        base = sum(len(v) for v in seg_start)
        seg_start.append(np.asarray(s, dtype=np.int64))
        seg_end.append(np.asarray(e, dtype=np.int64))
        return np.arange(base, base + len(s))

    empty = np.zeros(0, dtype=np.int64)
    zero_seg, first_seg = empty, empty
    if not first_dropout:
        zeros = np.flatnonzero(x == 0)
        zero_seg = add(first_day[zeros], np.full(len(zeros), end_day))
        first_seg = add(first_day[rank], days[start[rank] + 1])
    factor_parts = []
    for m in range(1, f_max + 1):
        who = rank[: n_at_least[m]]
        k = m - shift  # the factor's interval starts at purchase k (0 = the first)
        s = days[start[who] + k]
        more = x[who] > k
        e = np.where(more, days[np.minimum(start[who] + k + 1, len(days) - 1)], end_day)
        factor_parts.append(add(s, e))
    factor_seg = np.concatenate(factor_parts) if factor_parts else empty
    return Histories(
        index=pd.Index(summary.index),
        x=x.astype(np.int64),
        first_day=first_day.astype(np.int64),
        end_day=end_day,
        origin=origin,
        unit_days=float(unit_days),
        seg_start=np.concatenate(seg_start),
        seg_end=np.concatenate(seg_end),
        zero_seg=zero_seg,
        rank=rank,
        first_seg=first_seg,
        factor_seg=factor_seg,
        n_at_least=n_at_least,
        repeat_days=repeat_days,
        first_dropout=first_dropout,
    )


def lambda_grid(
    hist: Histories, lengths: np.ndarray, r0: float, alpha0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer nodes in v = log λ for the customers in the recursion (``rank`` order).

    The λ-posterior of a customer is a mixture of bumps near (x+r)/(α+A), A the time they
    were active, between their first inter-purchase time (0 with ``first_dropout``) and T;
    each bump is about 1/√(x+r) wide in log λ, falls like λ^(x+r) to the left (the weights of
    :func:`_log_weights` integrate that power tail beyond the first node exactly) and
    double-exponentially to the right. The grid spans all of them: on the left to where the
    integrand has fallen by e^−22 or λ(α+T) < 1e-6, on the right by e^−22, at a step of at most
    0.75 widths and 0.45. It depends on the data and a starting (r0, α0) only, so it stays
    fixed while the parameters move and the likelihood is smooth in them.

    Returns:
        ``(v, step)``: nodes (n, K) and each customer's step (n,).
    """
    xr = hist.x[hist.rank].astype(float) + r0
    T = _customer_T(hist, lengths)
    tau1 = lengths[hist.first_seg] if len(hist.first_seg) else np.zeros(len(xr))
    sd = 1.0 / np.sqrt(xr)
    mode_lo = np.log(xr / (alpha0 + T))
    lo = mode_lo - np.minimum(np.maximum(_LEFT_DECAY / xr, 5 * sd), np.log(xr * 1e6))
    # Right of a bump the integrand falls like exp(−(x+r)(e^u − 1 − u)) at u log-units.
    u = np.ones_like(xr)
    for _ in range(30):
        u = np.log1p(u + _LEFT_DECAY / xr)
    hi = np.log(xr / (alpha0 + tau1)) + u + _MARGIN
    lo = lo - _MARGIN
    need = np.ceil((hi - lo) / np.minimum(_STEP_PER_SD * sd, _MAX_STEP)).astype(int) + 1
    k = int(np.clip(need.max(initial=8), 8, _MAX_NODES))
    step = (hi - lo) / (k - 1)
    v = lo[:, None] + step[:, None] * np.arange(k)[None, :]
    return v, step


def _log_weights(r: float, alpha: float, v: np.ndarray, step: np.ndarray, xs: np.ndarray):
    """Log quadrature weights of the λ grid under Gamma(r, α), and their r- and α-derivatives.

    Trapezoid weights in log λ times the Gamma density of log λ (λ^r e^{−αλ} α^r/Γ(r)); the
    first node also carries the integral of the power tail f(v_0)·e^{(x+r)(v−v_0)} to its
    left, 1/(x+r).
    """
    lam = np.exp(v)
    trap = np.broadcast_to(step[:, None], v.shape).copy()
    trap[:, -1] /= 2
    trap[:, 0] = step / 2 + 1.0 / (r + xs)
    log_w = r * np.log(alpha) + r * v - alpha * lam - gammaln(r) + np.log(trap)
    d_r = np.log(alpha) + v - digamma(r)
    d_r[:, 0] -= 1.0 / (r + xs) ** 2 / trap[:, 0]
    d_alpha = r / alpha - lam
    return log_w, d_r, d_alpha


def _customer_T(hist: Histories, lengths: np.ndarray) -> np.ndarray:
    """T (first purchase to calibration end) for the recursion's customers, in rank order."""
    T = np.zeros(len(hist.rank))
    if len(hist.first_seg):
        T += lengths[hist.first_seg]
    for m in range(1, hist.f_max + 1):
        blk = hist.factor_block(m)
        T[: hist.n_at_least[m]] += lengths[hist.factor_seg[blk]]
    return T


@dataclass
class LogLik:
    """Total log-likelihood and its gradient.

    Attributes:
        value: Σ_i log L_i.
        per_customer: log L_i in the summary's order.
        grad: ∂/∂(r, alpha, a, b, rho).
        grad_per_customer: The same per customer, (n, 5) in the summary's order.
        grad_lengths: ∂/∂(segment length), for a seasonal profile's chain rule.
    """

    value: float
    per_customer: np.ndarray
    grad: np.ndarray
    grad_per_customer: np.ndarray
    grad_lengths: np.ndarray


def loglik(
    params: np.ndarray | tuple[float, ...],
    hist: Histories,
    lengths: np.ndarray,
    v: np.ndarray,
    step: np.ndarray,
) -> LogLik:
    """Log-likelihood of every history and its gradient (forward and adjoint recursion).

    Args:
        params: (r, alpha, a, b, rho) in the model's time unit.
        hist: From :func:`histories`.
        lengths: Segment lengths (``hist.lengths(op_time)``).
        v: λ nodes from :func:`lambda_grid`.
        step: Their steps.

    Returns:
        A :class:`LogLik`.
    """
    r, alpha, a, b, rho = (float(p) for p in params)
    n = len(hist.x)
    per = np.zeros(n)
    gpc = np.zeros((n, 5))
    glen = np.zeros(len(lengths))

    # x = 0 (unless first_dropout): L = (α/(α+T))^r.
    Tz = lengths[hist.zero_seg]
    per[np.flatnonzero(hist.x == 0) if len(Tz) else []] = r * (np.log(alpha) - np.log(alpha + Tz))
    zero = np.flatnonzero(hist.x == 0) if len(Tz) else np.zeros(0, dtype=int)
    gpc[zero, 0] = np.log(alpha) - np.log(alpha + Tz)
    gpc[zero, 1] = r / alpha - r / (alpha + Tz)
    glen[hist.zero_seg] = -r / (alpha + Tz)
    if len(hist.rank) == 0:
        return LogLik(float(per.sum()), per, gpc.sum(axis=0), gpc, glen)

    lam = np.exp(v)
    log_rho = np.log(rho)
    xs = hist.x[hist.rank].astype(float)
    T = _customer_T(hist, lengths)
    n_at = hist.n_at_least
    f_max = hist.f_max

    # Forward recursion, e_k ← e_k + g e_{k−1}, in linear scale with a log scale per row:
    # each step multiplies by A = e^{−max(log g, 0)} and B = g·A (both ≤ 1, so nothing
    # overflows however large g = e^{λτ} gets), and every few steps divides by the maximum.
    K = v.shape[1]
    E = [np.ones((n_at[1], K, 1))]
    S = [np.zeros((n_at[1], K))]
    LG, AB, DZ = [None], [None], [None]
    log_j = np.empty((len(hist.rank), K))
    d_a = np.empty_like(log_j)
    d_b = np.empty_like(log_j)
    psi_ab = digamma(a + b)
    for m in range(1, f_max + 1):
        nm, nxt = n_at[m], n_at[m + 1]
        c = lengths[hist.factor_seg[hist.factor_block(m)]][:, None]
        lg, dl_c, dl_rho = _log_g(lam[:nm], c, rho, log_rho, nxt)
        top = np.maximum(lg, 0.0)
        fa, fb = np.exp(-top), np.exp(lg - top)
        prev = E[m - 1][:nm]
        cur = np.empty((nm, K, m + 1))
        np.multiply(prev, fa[..., None], out=cur[..., :m])
        cur[..., m] = 0.0
        cur[..., 1:] += prev * fb[..., None]
        scale = S[m - 1][:nm] + top
        if m % 8 == 0:
            scale = scale + _renormalise(cur)
        E.append(cur)
        S.append(scale)
        LG.append(lg)
        AB.append((top, fa, fb))
        DZ.append((dl_c, dl_rho))
        if nxt < nm:  # customers whose x = m finish here
            k = np.arange(m + 1)
            lw = betaln(a + k, b + m - k) - betaln(a, b)
            terms = cur[nxt:] * np.exp(lw - lw.max())
            j_lin = terms.sum(axis=-1)
            with np.errstate(divide="ignore"):
                log_j[nxt:nm] = np.log(j_lin) + scale[nxt:] + lw.max()
            post = terms / j_lin[..., None]
            d_a[nxt:nm] = post @ digamma(a + k) - digamma(a + b + m) - digamma(a) + psi_ab
            d_b[nxt:nm] = post @ digamma(b + m - k) - digamma(a + b + m) - digamma(b) + psi_ab

    # Mix over λ: weights Gamma(r, α) in log λ times the trapezoid step.
    log_w, dw_r, dw_alpha = _log_weights(r, alpha, v, step, xs)
    log_l = xs[:, None] * v - lam * T[:, None] + log_j
    tot = log_w + log_l
    ll = logsumexp(tot, axis=1)
    omega = np.exp(tot - ll[:, None])  # posterior over λ nodes
    per[hist.rank] = ll
    rows = hist.rank
    gpc[rows, 0] = np.sum(omega * dw_r, axis=1)
    gpc[rows, 1] = np.sum(omega * dw_alpha, axis=1)
    gpc[rows, 2] = np.sum(omega * d_a, axis=1)
    gpc[rows, 3] = np.sum(omega * d_b, axis=1)
    d_rho = np.zeros(len(rows))
    if len(hist.first_seg):
        glen[hist.first_seg] = -np.sum(omega * lam, axis=1)

    # Adjoint recursion ē_k ← ē_k + g ē_{k+1} from ē = (Beta weights)/J at each customer's
    # own x, scaled as above; D_m = g_m Σ_k ē_k e_{k−1} / J = ∂ log J/∂ log g_m, the posterior
    # probability (given λ) that the customer was dormant in the interval of factor m.
    nxt_bar = nxt_scale = None
    for m in range(f_max, 0, -1):
        nm, nxt = n_at[m], n_at[m + 1]
        cur = np.empty((nm, K, m + 1))
        scale = np.empty((nm, K))
        if nxt:
            top, fa, fb = AB[m + 1]
            np.multiply(nxt_bar[..., : m + 1], fa[..., None], out=cur[:nxt])
            cur[:nxt] += nxt_bar[..., 1:] * fb[..., None]
            scale[:nxt] = nxt_scale + top
        if nxt < nm:
            k = np.arange(m + 1)
            lw = betaln(a + k, b + m - k) - betaln(a, b)
            cur[nxt:] = np.exp(lw - lw.max())
            scale[nxt:] = lw.max() - log_j[nxt:nm]
        if m % 8 == 0:
            scale = scale + _renormalise(cur)
        dot = np.einsum("nkj,nkj->nk", cur[..., 1:], E[m - 1][:nm])
        with np.errstate(divide="ignore"):
            D = np.exp(LG[m] + np.log(dot) + scale + S[m - 1][:nm])
        dl_c, dl_rho = DZ[m]
        om = omega[:nm]
        d_rho[:nm] += np.sum(om * D * dl_rho, axis=1)
        blk = hist.factor_seg[hist.factor_block(m)]
        glen[blk] = np.sum(om * (D * dl_c - lam[:nm]), axis=1)
        nxt_bar, nxt_scale = cur, scale
    gpc[rows, 4] = d_rho
    return LogLik(float(per.sum()), per, gpc.sum(axis=0), gpc, glen)


def _renormalise(arr: np.ndarray) -> np.ndarray:
    """Divide each row (last axis) by its maximum in place; return the log of the maxima."""
    top = arr.max(axis=-1)
    top = np.where(top > 0, top, 1.0)
    arr /= top[..., None]
    return np.log(top)


def _log_g(lam: np.ndarray, c: np.ndarray, rho: float, log_rho: float, n_inner: int):
    """Log g, ∂ log g/∂c and ∂ log g/∂ρ for one recursion step.

    Rows [0, n_inner) are intervals between purchases (g = h), the rest the time since the
    last purchase (g = H).
    """
    z = (lam - rho) * c
    lphi = log_phi(z)
    dphi = dlog_phi(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(c)
        inv_c = np.where(c > 0, 1.0 / np.where(c > 0, c, 1.0), 0.0)
    lg = np.empty(z.shape)
    dc = np.empty(z.shape)
    dr = np.empty(z.shape)
    i = slice(0, n_inner)
    lg[i] = log_rho + log_c[i] + lphi[i]
    dc[i] = inv_c[i] + (lam[i] - rho) * dphi[i]
    dr[i] = 1.0 / rho - c[i] * dphi[i]
    o = slice(n_inner, None)
    inner = np.log(lam[o]) + log_c[o] + lphi[o]
    lg[o] = np.logaddexp(0.0, inner)
    share = -np.expm1(-lg[o])  # u/(1+u): the part of H that depends on c and ρ
    dc[o] = share * (inv_c[o] + (lam[o] - rho) * dphi[o])
    dr[o] = share * (-c[o] * dphi[o])
    # A zero-length segment has g = 0 (h) or 1 (H) and no derivative.
    dc = np.where(c > 0, dc, 0.0)
    dr = np.where(np.isfinite(dr), dr, 0.0)
    return lg, dc, dr


def _gamma_rule(shape: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes y and weights of E_{y ~ Gamma(shape, rate 1)}[f(y)], Gauss–Laguerre.

    Golub–Welsch on the generalised Laguerre recurrence, whose eigenvectors give the weights
    already normalised: scipy's weights carry Γ(shape + n) and overflow past shape ≈ 170.
    """
    k = np.arange(n_nodes)
    off = np.sqrt(k[1:] * (k[1:] + shape - 1))
    y, vec = np.linalg.eigh(np.diag(2 * k + shape) + np.diag(off, 1) + np.diag(off, -1))
    return y, vec[0] ** 2


def _return_rule(shape: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes g and weights of E_{g ~ Gamma(shape, rate shape)}[f(g)] (mean 1)."""
    y, w = _gamma_rule(shape, n_nodes)
    return y / shape, w


def loglik_gamma_return(
    params: np.ndarray | tuple[float, ...],
    hist: Histories,
    lengths: np.ndarray,
    v: np.ndarray,
    step: np.ndarray,
    n_nodes: int = 8,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood when the return rate varies across customers: ρ = ρ̄·g, g ~ Gamma(s, s).

    L_i = E_g[L_i(ρ̄ g)] by generalised Gauss–Laguerre in g (n_nodes), each node one run of
    :func:`loglik`. Used to test whether the data support heterogeneous returns.

    Args:
        params: (r, alpha, a, b, rho_mean, rho_shape).
        hist: From :func:`histories`.
        lengths: Segment lengths.
        v: λ nodes from :func:`lambda_grid`.
        step: Their steps.
        n_nodes: Gauss–Laguerre nodes in g.

    Returns:
        ``(value, grad, per_customer)``.
    """
    params = np.asarray(params, dtype=float)
    rho_bar, shape = params[4], params[5]
    g, w = _return_rule(shape, n_nodes)
    eps = 1e-5 * shape
    g_up, w_up = _return_rule(shape + eps, n_nodes)
    g_dn, w_dn = _return_rule(shape - eps, n_nodes)
    dg = (g_up - g_dn) / (2 * eps)
    dlw = (np.log(w_up) - np.log(w_dn)) / (2 * eps)
    runs = [loglik(np.r_[params[:4], rho_bar * gj], hist, lengths, v, step) for gj in g]
    per = np.stack([res.per_customer for res in runs], axis=1) + np.log(w)
    total = logsumexp(per, axis=1)
    post = np.exp(per - total[:, None])  # (n, nodes)
    gpc = np.stack([res.grad_per_customer for res in runs], axis=1)  # (n, nodes, 5)
    grad = np.empty(6)
    grad[:4] = np.einsum("nj,njk->k", post, gpc[..., :4])
    grad[4] = float(np.einsum("nj,j,nj->", post, g, gpc[..., 4]))
    grad[5] = float(np.sum(post * (dlw + rho_bar * dg * gpc[..., 4])))
    return float(total.sum()), grad, total


# --- forecasts -------------------------------------------------------------------------------


def expected_given_state(t, lam, p, rho):
    """(m_A(t), m_D(t)): expected purchases in (0, t] from active / dormant, given λ, p, ρ."""
    kappa = lam * p + rho
    pi = np.where(kappa > 0, rho / np.where(kappa > 0, kappa, 1.0), 0.0)
    # (1 − e^{−κt})/κ, → t as κ → 0.
    frac = np.where(kappa * t > 1e-12, -np.expm1(-kappa * t) / np.where(kappa > 0, kappa, 1.0), t)
    m_a = lam * (pi * t + (1 - pi) * frac)
    m_d = lam * pi * (t - frac)
    return m_a, m_d


def _jacobi_rule(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of E_{p ~ Beta(a, b)}[f(p)] ≈ Σ w f(p), Gauss–Jacobi.

    Golub–Welsch on the monic Jacobi recurrence (weight (1−x)^(b−1) (1+x)^(a−1) on [−1, 1],
    p = (x+1)/2), whose eigenvectors give normalised weights: scipy's carry 2^(a+b) and
    overflow once a + b passes about a thousand. Where a + b is so large that Beta(a, b) is a
    point mass (a fit can run there, as BG/NBD's does, when the data cannot tell customers'
    dropout probabilities apart), the rule is that point.
    """
    if a + b > HOMOGENEOUS_P:
        return np.array([a / (a + b)]), np.array([1.0])
    al, be = b - 1.0, a - 1.0
    k = np.arange(n, dtype=float)
    s2 = 2 * k + al + be
    diag = np.where(
        k == 0, (be - al) / (al + be + 2), (be**2 - al**2) / np.where(k == 0, 1, s2 * (s2 + 2))
    )
    k1 = k[1:]
    t = 2 * k1 + al + be
    off2 = np.where(
        k1 == 1,
        4 * (1 + al) * (1 + be) / ((2 + al + be) ** 2 * (3 + al + be)),
        4
        * k1
        * (k1 + al)
        * (k1 + be)
        * (k1 + al + be)
        / (t**2 * (t + 1) * np.where(k1 == 1, 1, t - 1)),
    )
    off = np.sqrt(off2)
    x, vec = np.linalg.eigh(np.diag(diag) + np.diag(off, 1) + np.diag(off, -1))
    return (x + 1) / 2, vec[0] ** 2


def expected_repeat(
    t, r, alpha, a, b, rho, first_dropout: bool = False, n_nodes: int = 64
) -> np.ndarray:
    """Unconditional E[X(t)] = E_{λ,p}[m_A(t)] after a first purchase at 0.

    (With ``first_dropout`` the first purchase may leave the customer dormant:
    E_{λ,p}[(1−p) m_A(t) + p m_D(t)].)

    λ ~ Gamma(r, α) by generalised Gauss–Laguerre, p ~ Beta(a, b) by Gauss–Jacobi, both with
    the mixing density as the rule's weight, so the smooth m_A is all that is approximated.

    Args:
        t: Time(s) since the first purchase, in the model's unit (operational time with a
            seasonal profile); negative values count as 0.
        r: Shape of λ ~ Gamma(r, rate alpha) while active.
        alpha: Rate of λ's distribution, in the model's unit.
        a: First shape of the dropout probability p ~ Beta(a, b).
        b: Second shape of p ~ Beta(a, b).
        rho: Return rate from dormancy.
        first_dropout: As in :func:`histories`.
        n_nodes: Nodes per dimension.

    Returns:
        E[X(t)], same shape as ``t``.
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, None)
    z, wl = _gamma_rule(r, n_nodes)
    lam = z / alpha
    p, wp = _jacobi_rule(a, b, n_nodes)
    flat = t.reshape(-1)
    out = np.empty(flat.shape)
    for i in range(0, len(flat), 256):
        tt = flat[i : i + 256, None, None]
        m_a, m_d = expected_given_state(tt, lam[None, :, None], p[None, None, :], rho)
        if first_dropout:
            m_a = (1 - p) * m_a + p * m_d
        out[i : i + 256] = np.einsum("tlp,l,p->t", m_a, wl, wp)
    return out.reshape(t.shape)


def conditional_expected(
    t: np.ndarray,
    params: dict[str, float],
    hist: Histories,
    lengths: np.ndarray,
    v: np.ndarray,
    step: np.ndarray,
    n_p: int = 48,
) -> tuple[np.ndarray, np.ndarray]:
    """E[Y(t) | history] and P(active at T | history) per customer (summary order).

    For x ≥ 1 the posterior over (λ node, p node, state at T) is the likelihood's integrand
    with the last factor split into "active at T" ((1−p) + p·h(c)) and "dormant at T"
    (p·e^{(λ−ρ)c}); p uses a Gauss–Jacobi rule with the Beta(a, b) weight (exact in p for
    calibration frequencies up to 2·n_p − 1, where the integrand is a polynomial, before
    multiplying by the smooth m_A/m_D). For x = 0 the customer is active with
    λ ~ Gamma(r, α+T).

    Args:
        t: Forecast horizon per customer (summary order), in the model's (operational) unit.
        params: Model parameters.
        hist: From :func:`histories`.
        lengths: Segment lengths.
        v: λ nodes from :func:`lambda_grid`.
        step: Their steps.
        n_p: Gauss–Jacobi nodes in p.

    Returns:
        ``(expected, p_active)``.
    """
    r, alpha, a, b, rho = (params[k] for k in PARAM_NAMES)
    t = np.broadcast_to(np.asarray(t, dtype=float), hist.x.shape)
    out = np.empty(len(hist.x))
    p_active = np.ones(len(hist.x))
    zero = np.flatnonzero(hist.x == 0) if not hist.first_dropout else np.zeros(0, dtype=int)
    if len(zero):
        Tz = lengths[hist.zero_seg]
        out[zero] = _expected_fresh(t[zero], r, alpha + Tz, a, b, rho)
    if len(hist.rank) == 0:
        return out, p_active

    p, wp = _jacobi_rule(a, b, n_p)
    log_p, log_q = np.log(p), np.log1p(-p)
    lam = np.exp(v)
    xs = hist.x[hist.rank].astype(float)
    T = _customer_T(hist, lengths)
    # log Π over factors m < x of [(1−p) + p h], per customer, λ node and p node.
    acc = np.zeros((len(hist.rank), v.shape[1], n_p))
    tail_a = np.empty_like(acc)
    tail_d = np.empty_like(acc)
    for m in range(1, hist.f_max + 1):
        nm, nxt = hist.n_at_least[m], hist.n_at_least[m + 1]
        c = lengths[hist.factor_seg[hist.factor_block(m)]][:, None]
        z = (lam[:nm] - rho) * c
        with np.errstate(divide="ignore"):
            log_h = np.log(rho) + np.log(c) + log_phi(z)
        mix = np.logaddexp(log_q, log_p + log_h[..., None])
        acc[:nxt] += mix[:nxt]
        # Finishing customers: the last factor splits into active / dormant at T.
        tail_a[nxt:nm] = mix[nxt:]
        tail_d[nxt:nm] = log_p + z[nxt:, :, None]
    log_w, _, _ = _log_weights(r, alpha, v, step, xs)
    base = (log_w + xs[:, None] * v - lam * T[:, None])[..., None] + acc + np.log(wp)
    la, ld = base + tail_a, base + tail_d
    norm = np.logaddexp(logsumexp(la, axis=(1, 2)), logsumexp(ld, axis=(1, 2)))
    tt = t[hist.rank][:, None, None]
    m_a, m_d = expected_given_state(tt, lam[..., None], p[None, None, :], rho)
    ea = np.sum(np.exp(la - norm[:, None, None]) * m_a, axis=(1, 2))
    ed = np.sum(np.exp(ld - norm[:, None, None]) * m_d, axis=(1, 2))
    out[hist.rank] = ea + ed
    p_active[hist.rank] = np.exp(logsumexp(la, axis=(1, 2)) - norm)
    return out, p_active


def _expected_fresh(t, r, beta, a, b, rho, n_nodes: int = 48):
    """E_{λ~Gamma(r, β), p~Beta(a, b)}[m_A(t)] for per-customer t and β (x = 0 customers)."""
    z, wl = _gamma_rule(r, n_nodes)
    p, wp = _jacobi_rule(a, b, n_nodes)
    t = np.asarray(t, dtype=float)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), t.shape)
    # Customers share few distinct (t, β) pairs: evaluate each once.
    pairs, inv = np.unique(np.stack([t, beta], axis=1), axis=0, return_inverse=True)
    vals = np.empty(len(pairs))
    for i in range(0, len(pairs), 128):
        tt = pairs[i : i + 128, 0][:, None, None]
        lam = z[None, :, None] / pairs[i : i + 128, 1][:, None, None]
        m_a, _ = expected_given_state(tt, lam, p[None, None, :], rho)
        vals[i : i + 128] = np.einsum("tlp,l,p->t", m_a, wl, wp)
    return vals[inv.reshape(-1)]


# --- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeasonDesign:
    """What a seasonal fit needs about the calibration days.

    Attributes:
        month: Month index 0–11 of each day 0 … end_day (+1).
        fest: Index into ``festivals`` of each day's window, −1 outside (or not estimated).
        festivals: Festivals whose window lies at least once wholly inside calibration.
        profile_festivals: All festival windows the profile knows (for the output profile).
    """

    month: np.ndarray
    fest: np.ndarray
    festivals: tuple
    profile_festivals: tuple

    @property
    def n_params(self) -> int:
        """11 relative month factors (January is the reference) and one lift per festival."""
        return 11 + len(self.festivals)

    def multipliers(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Daily s(day) and the normalised month multipliers for seasonal parameters θ."""
        rel = np.concatenate([[1.0], theta[:11]])
        months = normalise_months(rel)
        lifts = np.concatenate([theta[11:], [1.0]])
        return months[self.month] * lifts[self.fest], months

    def profile(self, theta: np.ndarray) -> SeasonalProfile:
        """The fitted profile (festivals not covered by calibration keep no lift)."""
        _, months = self.multipliers(theta)
        lifts = {f.name: float(v) for f, v in zip(self.festivals, theta[11:], strict=True)}
        return SeasonalProfile(tuple(map(float, months)), lifts, self.festivals, "estimated")


def season_design(hist: Histories, festivals=DEFAULT_FESTIVALS) -> SeasonDesign:
    """Month and festival of every calibration day; keep festivals seen whole at least once."""
    days = pd.date_range(hist.origin, periods=hist.end_day + 1, freq="D")
    first, last = days[0].date(), days[-1].date()
    covered = tuple(
        f for f in festivals if any(s >= first and e <= last for s, e in f.windows(first, last))
    )
    fest = SeasonalProfile(festivals=covered).festival_index(days)
    return SeasonDesign(days.month.to_numpy() - 1, fest, covered, tuple(festivals))


def seasonal_loglik(theta: np.ndarray, hist: Histories, design: SeasonDesign, v, step):
    """Log-likelihood with a seasonal profile, and its gradient in (model params, θ_season).

    The purchase model runs in operational time; each repeat purchase's density in calendar
    time also carries s(its day), so log L gains Σ_j log s(d_j). θ_season holds the relative
    month factors for February … December (January = 1 before normalisation) and the
    festivals' lifts; the gradient is returned with respect to their logs.
    """
    base, season = theta[:5], theta[5:]
    s_day, _ = design.multipliers(season)
    op = np.concatenate([[0.0], np.cumsum(s_day)])
    lengths = hist.lengths(op)
    res = loglik(base, hist, lengths, v, step)
    # Σ_j log s(d_j) over repeat purchases.
    log_s = np.log(s_day)
    value = res.value + float(log_s[hist.repeat_days].sum())
    # ∂/∂u_j (u = log of relative month factor j = 1 … 11), through normalisation q_j.
    rel = np.concatenate([[1.0], season[:11]])
    q = MONTH_DAYS * rel / float(MONTH_DAYS @ rel)
    onehot_m = np.eye(12)[design.month]  # day × month
    cum_m = np.vstack([np.zeros(12), np.cumsum(s_day[:, None] * onehot_m, axis=0)])
    seg_m = (cum_m[hist.seg_end] - cum_m[hist.seg_start]) / hist.unit_days
    seg_len = lengths
    g_month = res.grad_lengths @ (seg_m - seg_len[:, None] * q[None, :])
    n_rep = np.bincount(design.month[hist.repeat_days], minlength=12)
    g_month = g_month + n_rep - len(hist.repeat_days) * q
    grads = [res.grad, g_month[1:]]
    n_f = len(design.festivals)
    if n_f:
        onehot_f = (design.fest[:, None] == np.arange(n_f)[None, :]).astype(float)
        cum_f = np.vstack([np.zeros(n_f), np.cumsum(s_day[:, None] * onehot_f, axis=0)])
        seg_f = (cum_f[hist.seg_end] - cum_f[hist.seg_start]) / hist.unit_days
        g_fest = (
            res.grad_lengths @ seg_f
            + np.bincount(design.fest[hist.repeat_days] + 1, minlength=n_f + 1)[1:]
        )
        grads.append(g_fest)
    return value, np.concatenate(grads), res


@dataclass
class TwoStateModel:
    """The two-state model fitted by maximum likelihood (scikit-learn style).

    Attributes set by :meth:`fit`: ``params_`` (r, alpha, a, b, rho in the fit's time unit),
    ``se_``, ``cov_`` (over params and seasonal parameters), ``loglik_``, ``converged_``,
    ``profile_`` (the :class:`SeasonalProfile` used: estimated, given or none),
    ``profile_se_`` (standard errors of the estimated month multipliers and lifts),
    ``n_customers_``.
    """

    def fit(
        self,
        hist: Histories,
        start: dict[str, float],
        profile: SeasonalProfile | None = None,
        estimate_seasonality: bool = False,
    ) -> TwoStateModel:
        """Fit to calibration histories.

        Args:
            hist: From :func:`histories`.
            start: Starting r, alpha, a, b (the BG/NBD estimates serve well).
            profile: A fixed seasonal profile (ignored when estimating one).
            estimate_seasonality: Estimate month multipliers and festival lifts jointly.

        Returns:
            self.
        """
        self.hist_ = hist
        r0, alpha0, a0, b0 = (start[k] for k in ("r", "alpha", "a", "b"))
        a0, b0 = min(a0, 50.0), min(b0, 200.0)  # a BG/NBD fit at the boundary is no start
        rate = r0 / alpha0
        starts = [(r0, alpha0, a0, b0, 0.1 * rate)]
        design = season_design(hist) if estimate_seasonality else None
        if design is not None:
            starts = [s + tuple(_seasonal_start(hist, design, start)) for s in starts]
            op = None
        else:
            profile = profile or SeasonalProfile()
            op = self._op_time(profile)
        n = float(len(hist.x))

        theta = np.asarray(starts[0], dtype=float)
        # The λ grid follows (r, α) and the operational lengths: fit on the grid for the start,
        # rebuild it at the estimate, and refit only if the new grid reaches outside the old
        # one or needs a finer step (rare: a seasonal fit far from flat, or r, α far from
        # BG/NBD's).
        grid = None
        for _ in range(3):
            lengths = hist.lengths(op if design is None else self._op_from(design, theta))
            new = lambda_grid(hist, lengths, theta[0], theta[1])
            if grid is not None and _grid_covers(grid, new):
                break
            grid = new
            nll = self._objective(hist, design, lengths, *grid)
            # Tolerances: the mean log-likelihood per customer to ~1e-12 relative (its total
            # to well under 1e-3 even for millions of customers), far inside any standard
            # error; tighter ones only buy iterations.
            fitted = fit_positive(nll, [theta], scale=n, covariance=False, ftol=1e-12, gtol=1e-7)
            theta = fitted.params
        v, step = grid
        res = covariance_at(nll, theta)
        self.params_ = dict(zip(PARAM_NAMES, map(float, theta[:5]), strict=True))
        self.se_ = dict(zip(PARAM_NAMES, map(float, res.se[:5]), strict=True))
        self.cov_ = res.cov
        self.loglik_ = res.loglik
        self.converged_ = fitted.converged
        self.n_customers_ = len(hist.x)
        self.n_params_ = len(theta)
        if design is not None:
            self.profile_ = design.profile(theta[5:])
            self.profile_se_ = _profile_se(design, theta[5:], res.cov[5:, 5:])
            self.op_time_ = self._op_from(design, theta)
        else:
            self.profile_ = profile
            self.profile_se_ = None
            self.op_time_ = op
        self.lengths_ = hist.lengths(self.op_time_)
        self.grid_ = (v, step)
        return self

    @staticmethod
    def _objective(hist, design, lengths, v, step):
        """θ ↦ (−log L, −gradient in natural parameters), on a fixed λ grid."""
        if design is None:

            def nll(th):
                res = loglik(th, hist, lengths, v, step)
                return -res.value, -res.grad

            return nll

        def nll_seasonal(th):
            value, g, _ = seasonal_loglik(th, hist, design, v, step)
            g = g.copy()
            g[5:] = g[5:] / th[5:]  # seasonal gradients come in log-parameters
            return -value, -g

        return nll_seasonal

    def _op_time(self, profile: SeasonalProfile, extra_days: int = 0) -> np.ndarray | None:
        hist = self.hist_
        if profile.is_flat():
            return None
        return operational_time(profile, hist.origin, hist.end_day + 1 + extra_days)

    @staticmethod
    def _op_from(design: SeasonDesign, theta: np.ndarray) -> np.ndarray:
        s_day, _ = design.multipliers(theta[5:])
        return np.concatenate([[0.0], np.cumsum(s_day)])

    def op_duration(self, start_day: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Operational length, in the fit's unit, of ``days`` calendar days from start_day."""
        start_day = np.asarray(start_day, dtype=np.int64)
        end = start_day + np.asarray(days, dtype=np.int64)
        if self.profile_.is_flat():
            return (end - start_day) / self.hist_.unit_days
        op = operational_time(self.profile_, self.hist_.origin, int(end.max()) + 1)
        return (op[end] - op[start_day]) / self.hist_.unit_days

    def conditional_expected(self, holdout_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per customer (summary order): E[Y | history] and P(active at calibration end).

        Y counts repeat purchases in the ``holdout_days`` calendar days after calibration end
        (turned into operational time by the profile).
        """
        hist = self.hist_
        t = self.op_duration(np.full(len(hist.x), hist.end_day), holdout_days)
        v, step = self.grid_
        return conditional_expected(t, self.params_, hist, self.lengths_, v, step)

    def aic(self) -> float:
        """Akaike's information criterion, −2 log L + 2 k."""
        return -2.0 * self.loglik_ + 2.0 * self.n_params_


def _seasonal_start(hist: Histories, design: SeasonDesign, bg: dict[str, float]) -> np.ndarray:
    """Starting seasonal parameters: observed over BG/NBD-expected repeat purchases by day.

    The stationary BG/NBD fit's expected repeat purchases per calendar day (its E[X] summed
    over first-purchase cohorts) against the observed ones give each month's and each
    festival window's ratio; far closer to the optimum than 1 everywhere, they save most of
    the optimiser's iterations.
    """
    from model.fitting.bgnbd import bgnbd_expected_repeat

    n_days = hist.end_day + 1
    cohorts = np.bincount(hist.first_day, minlength=n_days).astype(float)
    ages = np.arange(n_days + 1) / hist.unit_days
    params = {k: bg[k] for k in ("r", "alpha", "a", "b")}
    daily = np.diff(bgnbd_expected_repeat(ages, **params))  # per customer, by age in days
    expected = np.convolve(cohorts, daily)[:n_days]  # by calendar day
    observed = np.bincount(hist.repeat_days, minlength=n_days).astype(float)[:n_days]
    plain = design.fest < 0
    month_ratio = np.ones(12)
    for m in range(12):
        sel = plain & (design.month == m)
        if expected[sel].sum() > 0 and observed[sel].sum() > 0:
            month_ratio[m] = observed[sel].sum() / expected[sel].sum()
    lifts = np.ones(len(design.festivals))
    for k in range(len(design.festivals)):
        sel = design.fest == k
        base = float(np.sum(expected[sel] * month_ratio[design.month[sel]]))
        if base > 0 and observed[sel].sum() > 0:
            lifts[k] = observed[sel].sum() / base
    return np.concatenate([month_ratio[1:] / month_ratio[0], lifts])


def _grid_covers(old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether the old λ grid spans the new one's range at least as finely (within 5%)."""
    (v0, s0), (v1, s1) = old, new
    return bool(
        np.all(v0[:, 0] <= v1[:, 0] + 1e-9)
        and np.all(v0[:, -1] >= v1[:, -1] - 1e-9)
        and np.all(s0 <= 1.05 * s1)
    )


def _profile_se(design: SeasonDesign, theta: np.ndarray, cov: np.ndarray) -> dict:
    """Standard errors of the normalised month multipliers and the lifts (delta method)."""
    rel = np.concatenate([[1.0], theta[:11]])
    months = normalise_months(rel)
    q = MONTH_DAYS * rel / float(MONTH_DAYS @ rel)
    # log M_m = u_m − log Σ n_j e^{u_j} + const, u_0 = 0 fixed: J = I[:, 1:] − q[1:].
    jac = np.eye(12)[:, 1:] - q[None, 1:]
    cov_u = cov[:11, :11] / np.outer(theta[:11], theta[:11])  # natural → log
    var = np.einsum("mi,ij,mj->m", jac, cov_u, jac)
    se_m = months * np.sqrt(np.where(var > 0, var, np.nan))
    se_f = np.sqrt(np.where(np.diag(cov)[11:] > 0, np.diag(cov)[11:], np.nan))
    return {
        "month_multipliers": [float(v) for v in se_m],
        "lifts": {f.name: float(s) for f, s in zip(design.festivals, se_f, strict=True)},
    }


def cohort_curve(model: TwoStateModel):
    """E[X] by first-purchase cohort and day for the tracking plot (see backtest.CohortCurve).

    Without a seasonal profile the ages are whole days and E[X] is computed exactly at each
    distinct one; with a profile the operational ages are all different, so E[X(t)] is
    computed exactly on 1,025 points and interpolated by a cubic spline (E[X] is smooth; the
    interpolation error is below 1e-7 of the value, see the tests).
    """
    from scipy.interpolate import CubicSpline

    hist, prm = model.hist_, model.params_
    args = (prm["r"], prm["alpha"], prm["a"], prm["b"], prm["rho"])

    def curve(offsets: np.ndarray, grid: np.ndarray) -> np.ndarray:
        if model.profile_.is_flat():
            age = np.clip(grid[None, :] - offsets[:, None], 0, None)
            uniq, inv = np.unique(age, return_inverse=True)
            values = expected_repeat(uniq / hist.unit_days, *args, hist.first_dropout)
            return values[inv].reshape(age.shape)
        op = operational_time(model.profile_, hist.origin, int(grid.max()) + 1)
        age = np.clip(op[grid][None, :] - op[offsets][:, None], 0, None) / hist.unit_days
        knots = np.linspace(0.0, float(age.max()) + 1e-9, 1025)
        spline = CubicSpline(knots, expected_repeat(knots, *args, hist.first_dropout))
        return spline(age)

    return curve
