"""ε-ranks by three routes (full SVD, Gram eigenvalues, randomized sketch), each with a certified interval."""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import scipy.linalg as sl
from jaxtyping import Float

from theorem.numeric.eps_rank.randomized import randomized_range, residual_norm_bound
from theorem.numeric.eps_rank.result import (
    EPS,
    METHODS,
    TAU,
    EpsRank,
    check_eps,
    check_matrix,
    eps_rank_from_singular_values,
)

__all__ = ["eps_ranks", "eps_rank", "gram_floor"]


def gram_floor(n: int) -> float:
    """The smallest ε the Gram route certifies comfortably at size ``n``: ``100·√(4n·eps)``."""
    return math.sqrt(4 * n * EPS) * 100


def _intervals_from_bounds(lo_sq, hi_sq, s1_lo, s1_hi, eps) -> tuple[int, int]:
    """Counts with ``σ_j² ∈ [lo_sq_j, hi_sq_j]`` and ``σ₁ ∈ [s1_lo, s1_hi]``."""
    lower = int(np.sum(lo_sq > (eps * s1_hi) ** 2))
    upper = int(np.sum(hi_sq > (eps * s1_lo) ** 2))
    return lower, upper


def _svd_route(a, eps_list, t0) -> dict[float, EpsRank]:
    n = max(a.shape)
    s = sl.svdvals(a)
    delta = n * EPS * s[0]
    lo = np.maximum(s - delta, 0.0) ** 2
    hi = (s + delta) ** 2
    out = {}
    for e in eps_list:
        lower, upper = _intervals_from_bounds(lo, hi, max(s[0] - delta, 0.0), s[0] + delta, e)
        out[e] = EpsRank(e, eps_rank_from_singular_values(s, e), lower, upper, "svd", n, s, delta, 0.0,
                         time.perf_counter() - t0)
    return out


def _gram_route(a, eps_list, t0) -> dict[float, EpsRank]:
    m, n = a.shape
    g = a @ a.T if m <= n else a.T @ a
    size = g.shape[0]
    lam = sl.eigvalsh(g, driver="evd")[::-1]
    top = max(float(lam[0]), 0.0)
    inner = max(a.shape)
    gamma = inner * EPS / (1 - inner * EPS)
    abs_norm = top if np.all(a >= 0) else float(np.sum(a * a))
    delta = gamma * abs_norm + size * EPS * top
    lo = lam - delta
    hi = lam + delta
    s_est = np.sqrt(np.maximum(lam, 0.0))
    out = {}
    for e in eps_list:
        lower, upper = _intervals_from_bounds(lo, hi, math.sqrt(max(top - delta, 0.0)), math.sqrt(top + delta), e)
        upper = min(upper, size)
        out[e] = EpsRank(e, eps_rank_from_singular_values(s_est, e), lower, upper, "gram", max(a.shape), s_est,
                         delta, 0.0, time.perf_counter() - t0)
    return out


def _randomized_route(a, eps_list, t0, *, k0, k_max, power_iters, seed) -> tuple[dict[float, EpsRank], bool]:
    size = min(a.shape)
    e_min = min(eps_list)
    k = min(k0, size)
    while True:
        q = randomized_range(a, k, power_iters=power_iters, seed=seed)
        s = np.linalg.svd(q.T @ a, compute_uv=False)
        rho, p_fail = residual_norm_bound(a, q, seed=seed + 7919)
        certified = bool(rho <= TAU * e_min * s[0]) or k == size
        if certified or 2 * k > k_max:
            break
        k = min(2 * k, size)
    full = np.zeros(size)
    full[: s.size] = s
    lo = full**2
    hi = full**2 + rho**2
    out = {}
    for e in eps_list:
        lower, upper = _intervals_from_bounds(lo, hi, s[0], math.sqrt(s[0] ** 2 + rho**2), e)
        out[e] = EpsRank(e, eps_rank_from_singular_values(s, e), lower, upper, "randomized", max(a.shape), s, rho,
                         p_fail, time.perf_counter() - t0)
    return out, certified


def eps_ranks(
    a: Float[np.ndarray, "m n"],
    eps: Sequence[float],
    *,
    method: str = "auto",
    k0: int = 64,
    k_max: int | None = None,
    power_iters: int = 2,
    seed: int = 0,
) -> dict[float, EpsRank]:
    """ε-ranks of ``a`` for every ``ε`` in ``eps``, sharing one decomposition (module doc).

    ``method="randomized"`` doubles the sketch from ``k0`` up to ``k_max`` (default
    ``min(m, n)``) and returns the (possibly wide) interval it reached; ``"auto"`` caps it at
    ``n/8`` and then falls back to ``"gram"``/``"svd"``.
    """
    a = check_matrix(a)
    eps_list = check_eps(list(eps))
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(k0, (int, np.integer)) or k0 < 1:
        raise ValueError(f"k0 must be a positive integer, got {k0!r}")
    t0 = time.perf_counter()
    size = min(a.shape)
    if method == "svd":
        return _svd_route(a, eps_list, t0)
    if method == "gram":
        return _gram_route(a, eps_list, t0)
    if method == "randomized":
        cap = size if k_max is None else int(k_max)
        return _randomized_route(a, eps_list, t0, k0=k0, k_max=cap, power_iters=power_iters, seed=seed)[0]
    # auto
    if max(a.shape) <= 600:
        return _svd_route(a, eps_list, t0)
    cap = max(k0, size // 8) if k_max is None else int(k_max)
    out, certified = _randomized_route(a, eps_list, t0, k0=k0, k_max=cap, power_iters=power_iters, seed=seed)
    if certified:
        return out
    if min(eps_list) >= gram_floor(max(a.shape)):
        return _gram_route(a, eps_list, t0)
    return _svd_route(a, eps_list, t0)


def eps_rank(a: Float[np.ndarray, "m n"], eps: float, **kwargs) -> EpsRank:
    """The ε-rank of ``a`` for one ``ε`` (see :func:`eps_ranks`)."""
    return eps_ranks(a, [eps], **kwargs)[float(eps)]
