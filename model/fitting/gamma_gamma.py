"""Gamma-Gamma model of spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", Journal of Marketing Research 42(4); and Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value". Each transaction's value is Gamma(shape p, rate ν); a customer's ν
is Gamma(shape q, rate γ). The model is fitted on customers with at least one repeat
transaction, using the mean value m̄ of their x repeat transactions (the first purchase is
left out, as in FHL, because it often differs from later ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from model.fitting._mle import fit_positive

PARAM_NAMES = ("p", "q", "gamma")


def gamma_gamma_loglik(
    p: float, q: float, gamma: float, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Per-customer log-density of the mean repeat value m̄ given x transactions.

    Given ν, the mean of x Gamma(p, ν) values is Gamma(px, rate νx); integrating ν out:

    f(m̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · x^(px) · m̄^(px−1) / (γ + x m̄)^(px+q)

    Args:
        p: Shape of each transaction's value, Gamma(p, rate ν).
        q: Shape of the customer's ν ~ Gamma(q, rate gamma).
        gamma: Rate of ν's distribution (yuan).
        x: Number of repeat transactions (> 0).
        m: Mean value of those transactions (> 0).

    Returns:
        Array of log-densities, one per customer.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + px * np.log(x)
        + (px - 1) * np.log(m)
        - (px + q) * np.log(gamma + x * m)
    )


def gamma_gamma_loglik_grad(
    p: float, q: float, gamma: float, x: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-density of m̄ and its gradient in (p, q, gamma).

    - ∂/∂p = x [ψ(px+q) − ψ(px) + log x + log m̄ − log(γ + x m̄)]
    - ∂/∂q = ψ(px+q) − ψ(q) + log γ − log(γ + x m̄)
    - ∂/∂γ = q/γ − (px+q)/(γ + x m̄)

    Args:
        p: Shape of each transaction's value, Gamma(p, rate ν).
        q: Shape of the customer's ν ~ Gamma(q, rate gamma).
        gamma: Rate of ν's distribution (yuan).
        x: Number of repeat transactions (> 0).
        m: Mean value of those transactions (> 0).

    Returns:
        ``(loglik, grad)`` with shapes (n,) and (3, n).
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    log_gxm = np.log(gamma + x * m)
    psi = digamma(px + q)
    grad = np.stack(
        [
            x * (psi - digamma(px) + np.log(x) + np.log(m) - log_gxm),
            psi - digamma(q) + np.log(gamma) - log_gxm,
            q / gamma - (px + q) / (gamma + x * m),
        ]
    )
    return gamma_gamma_loglik(p, q, gamma, x, m), grad


def gamma_gamma_conditional_mean(
    p: float, q: float, gamma: float, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """E[transaction value | x, m̄] = p (γ + x m̄) / (p x + q − 1) (FHL 2005 RFM/CLV eq. 5).

    A weighted mean of the population mean pγ/(q−1) and the customer's own m̄; x = 0 gives
    the population mean.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    return p * (gamma + x * m) / (p * x + q - 1)


@dataclass
class GammaGammaModel:
    """Gamma-Gamma fitted by maximum likelihood.

    Attributes set by :meth:`fit`: ``params_`` (dict p, q, gamma), ``se_``, ``cov_``,
    ``loglik_``, ``n_customers_`` (customers used: frequency > 0 and monetary > 0),
    ``converged_``.
    """

    def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
        """Fit to a summary with columns ``frequency`` and ``monetary``.

        Customers with no repeat transaction carry no spend information and are skipped, as
        are those whose repeat transactions were all free (m̄ = 0 has zero density).

        Raises:
            ValueError: Fewer than 2 customers with repeat transactions.
        """
        use = (summary["frequency"] > 0) & (summary["monetary"] > 0)
        x = summary.loc[use, "frequency"].to_numpy(float)
        m = summary.loc[use, "monetary"].to_numpy(float)
        if len(x) < 2:
            raise ValueError("Gamma-Gamma needs at least 2 customers with repeat transactions")

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = gamma_gamma_loglik_grad(*theta, x, m)
            return -float(ll.sum()), -grad.sum(axis=1)

        # Starts whose population mean pγ/(q−1) equals the observed mean, so only the shapes
        # have to be found.
        mean = float(m.mean())
        starts = [(2.0, 3.0, mean * 2.0 / 2.0), (6.0, 4.0, mean * 3.0 / 6.0)]
        res = fit_positive(nll, starts, scale=len(x))
        self.params_ = dict(zip(PARAM_NAMES, map(float, res.params), strict=True))
        self.se_ = dict(zip(PARAM_NAMES, map(float, res.se), strict=True))
        self.cov_ = res.cov
        self.loglik_ = res.loglik
        self.n_customers_ = len(x)
        self.converged_ = res.converged
        # FHL assume spend is independent of purchase frequency; report the check.
        self.corr_frequency_monetary_ = (
            float(np.corrcoef(x, m)[0, 1]) if np.ptp(x) > 0 and np.ptp(m) > 0 else float("nan")
        )
        return self

    def conditional_mean(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected value of a customer's future transactions (see the module function)."""
        return gamma_gamma_conditional_mean(
            **self.params_, x=summary["frequency"], m=summary["monetary"]
        )
