"""Randomized range finder with a certified residual bound (Halko, Martinsson & Tropp 2011; Dixon 1983)."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sl
from jaxtyping import Float

from theorem.numeric.eps_rank.result import STARTS, STEPS, THETA, check_matrix

__all__ = ["randomized_range", "power_failure_probability", "residual_norm_bound", "randomized_svd"]


def randomized_range(
    a: Float[np.ndarray, "m n"], k: int, *, power_iters: int = 2, seed: int = 0
) -> Float[np.ndarray, "m k"]:
    """Orthonormal ``Q`` (m×k) spanning ``(AAᵀ)^q A Ω`` for a Gaussian ``Ω`` (n×k).

    The intermediate power steps are renormalized by a pivoted LU factor (it keeps the
    span and is cheaper than QR, HMT 2011 §4.5); only the last step is orthonormalized by QR.
    """
    a = check_matrix(a)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(a.shape):
        raise ValueError(f"k must be an integer in [1, {min(a.shape)}], got {k!r}")
    if power_iters < 0:
        raise ValueError(f"power_iters must be ≥ 0, got {power_iters}")
    rng = np.random.default_rng(seed)
    y = a @ rng.standard_normal((a.shape[1], k))
    for _ in range(power_iters):
        y = sl.lu(y, permute_l=True)[0]
        z = sl.lu(a.T @ y, permute_l=True)[0]
        y = a @ z
    return sl.qr(y, mode="economic")[0]


def power_failure_probability(n: int, theta: float, steps: int) -> float:
    """``P(‖C^m x‖^{1/m} < λ_max(C)/θ)`` for a Gaussian start ``x`` and PSD ``C`` (n×n), m = ``steps``.

    ``‖C^m x‖²/‖x‖² ≥ λ₁^{2m} t`` with ``t = (x·u₁)²/‖x‖² ~ Beta(1/2, (n−1)/2)``, whose density
    is at most ``t^{−1/2}/B(1/2, (n−1)/2)`` (n ≥ 3); so the failure probability is at most
    ``P(t < θ^{−2m}) ≤ 2 θ^{−m} / B(1/2, (n−1)/2)`` (≈ ``0.8 √n θ^{−m}``, the bound of Dixon 1983).
    """
    if n < 3:
        return 0.0 if n >= 1 else 1.0
    log_beta = math.lgamma(0.5) + math.lgamma((n - 1) / 2) - math.lgamma(n / 2)
    return min(1.0, 2.0 * math.exp(-steps * math.log(theta) - log_beta))


def residual_norm_bound(
    a: Float[np.ndarray, "m n"], q: Float[np.ndarray, "m k"], *, theta: float = THETA, steps: int = STEPS,
    starts: int = STARTS, seed: int = 1,
) -> tuple[float, float]:
    """``(ρ, p_fail)``: ``‖(I − QQᵀ)A‖₂ ≤ ρ`` except with probability ``p_fail``.

    Power method on ``C = RᵀR``, ``R = (I − QQᵀ)A``, from ``starts`` Gaussian vectors:
    ``λ̂ = max ‖C^m x‖^{1/m}`` (``m = steps``, ``x`` normalized) and ``ρ = √(θ·λ̂)``; it fails
    only if every start does (:func:`power_failure_probability`, raised to ``starts``).
    """
    if steps < 1 or theta <= 1 or starts < 1:
        raise ValueError(f"steps, starts must be ≥ 1 and theta > 1, got {steps}, {starts}, {theta}")
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    v = rng.standard_normal((n, starts))
    v /= np.linalg.norm(v, axis=0)
    log_norm = np.zeros(starts)
    for _ in range(steps):
        y = a @ v
        y -= q @ (q.T @ y)
        v = a.T @ y
        norms = np.linalg.norm(v, axis=0)
        if np.any(norms == 0):
            return 0.0, 0.0
        log_norm += np.log(norms)
        v /= norms
    lam = float(np.exp(np.max(log_norm) / steps))
    return math.sqrt(theta * lam), power_failure_probability(n, theta, steps) ** starts


def randomized_svd(
    a: Float[np.ndarray, "m n"], k: int, *, oversample: int = 10, power_iters: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-``k`` truncated SVD ``U diag(s) Vᵀ`` from a ``k + oversample`` range (HMT 2011)."""
    a = check_matrix(a)
    width = min(k + oversample, min(a.shape))
    q = randomized_range(a, width, power_iters=power_iters, seed=seed)
    u, s, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    return (q @ u)[:, :k], s[:k], vt[:k]
