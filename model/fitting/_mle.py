"""Shared maximum-likelihood machinery for models whose parameters are all positive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# Bounds on log-parameters keep the optimiser out of overflow (e^±20 ≈ 5e8 / 2e-9), far
# outside any plausible value for these models.
_LOG_BOUND = 20.0


@dataclass(frozen=True)
class MLEResult:
    """Outcome of :func:`fit_positive`."""

    params: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool
    message: str


def fit_positive(
    negloglik: Callable[[np.ndarray], float],
    starts: Sequence[Sequence[float]],
    scale: float = 1.0,
) -> MLEResult:
    """Minimise a negative log-likelihood over positive parameters.

    The optimiser (L-BFGS-B with central-difference gradients) works on log-parameters, so
    positivity needs no constraint and parameters of very different sizes (r ≈ 0.2 next to
    α ≈ 60 days or γ ≈ 50 yuan) are equally well scaled. The best of several starts is kept
    because BG/NBD's surface can have a flat ridge in (a, b).

    Standard errors come from the inverse of the observed information in the natural
    parameters. The Hessian is taken by central differences in log-parameters u = log θ (steps
    of 1e-4, i.e. relative steps in θ, which suits every parameter's scale) and mapped to θ by
    the chain rule: H_θ = D⁻¹ (H_u − diag(g_u)) D⁻¹ with D = diag(θ), where g_u is the
    log-space gradient (≈ 0 at the optimum, kept for exactness).

    Args:
        negloglik: Negative log-likelihood of the natural parameters.
        starts: Starting points in natural parameters.
        scale: Divide the objective by this while optimising (the number of customers) so
            the optimiser's tolerances mean the same at any data size.

    Returns:
        The fit; ``se`` is NaN where the information matrix is not positive definite.
    """

    def objective(u: np.ndarray) -> float:
        value = negloglik(np.exp(u)) / scale
        return float(value) if np.isfinite(value) else 1e300

    best = None
    for start in starts:
        u0 = np.log(np.asarray(start, dtype=float))
        res = minimize(
            objective,
            u0,
            method="L-BFGS-B",
            jac="3-point",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(u0),
            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    theta = np.exp(best.x)
    cov = _covariance(negloglik, best.x)
    se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    return MLEResult(
        params=theta,
        se=se,
        cov=cov,
        loglik=-float(negloglik(theta)),
        converged=bool(best.success),
        message=str(best.message),
    )


def _covariance(negloglik: Callable[[np.ndarray], float], u: np.ndarray) -> np.ndarray:
    h = 1e-4
    k = len(u)

    def f(v: np.ndarray) -> float:
        return float(negloglik(np.exp(v)))

    f0 = f(u)
    hess = np.empty((k, k))
    grad = np.empty(k)
    eye = np.eye(k) * h
    for i in range(k):
        fp, fm = f(u + eye[i]), f(u - eye[i])
        grad[i] = (fp - fm) / (2 * h)
        hess[i, i] = (fp - 2 * f0 + fm) / h**2
        for j in range(i):
            hess[i, j] = hess[j, i] = (
                f(u + eye[i] + eye[j])
                - f(u + eye[i] - eye[j])
                - f(u - eye[i] + eye[j])
                + f(u - eye[i] - eye[j])
            ) / (4 * h**2)
    theta = np.exp(u)
    d_inv = np.diag(1.0 / theta)
    hess_theta = d_inv @ (hess - np.diag(grad)) @ d_inv
    try:
        cov = np.linalg.inv(hess_theta)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)
    if not np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0):
        return np.full((k, k), np.nan)
    return cov
