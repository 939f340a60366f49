r"""ε-rank of a matrix, with certified intervals, and the softmax ε-rank sweep.

**Definition.**  ``rank_ε(A) = #{j : σ_j(A) > ε·σ₁(A)}``: the smallest ``k`` such that some
rank-``k`` matrix lies within ``ε‖A‖₂`` of ``A`` (Eckart–Young).  Every method below returns
an interval ``[lower, upper]`` that contains it, and a point estimate.

**Methods.**

* ``"svd"`` — all singular values by LAPACK (``scipy.linalg.svdvals``), taken to be
  accurate to ``δ = n·eps·σ₁`` (backward stability, with the polynomial ``p(n)`` of the
  LAPACK error bound taken as ``n``).  ``O(n³)``.
* ``"randomized"`` — randomized subspace iteration (Halko, Martinsson & Tropp 2011):
  ``Q = orth((AAᵀ)^q A Ω)`` for a Gaussian ``Ω`` with ``k`` columns, doubled until certified.
  With ``P = QQᵀA``, ``R = A − P`` and ``s_j = σ_j(QᵀA)``:

  - ``s_j ≤ σ_j(A)`` (``AᵀA = PᵀP + RᵀR``, ``RᵀR ⪰ 0``) — deterministic;
  - ``σ_j(A)² ≤ s_j² + ‖R‖₂²`` (Weyl), with ``s_j = 0`` for ``j > k``;
  - ``‖R‖₂ ≤ ρ := √(θ·λ̂)`` where ``λ̂`` is the power-method estimate of ``λ_max(RᵀR)``
    after ``m`` steps from Gaussian starts; it fails only when ``(x·u₁)²/‖x‖² < θ^{−2m}``,
    probability ``≤ 2θ^{−m}/B(1/2, (n−1)/2) ≈ 0.8√n·θ^{−m}`` per start (derived in
    :func:`power_failure_probability`; Dixon 1983).  Here ``θ = 4``, ``m = 16``, two starts:
    failure probability below ``10⁻¹⁵`` at ``n = 4096``.

  Hence ``lower = #{s_j > ε·√(s₁² + ρ²)}`` and ``upper = #{√(s_j² + ρ²) > ε·s₁}`` (over all
  ``n`` indices).  It stops when ``ρ ≤ τ·ε·s₁`` (``τ = 1/4``), which leaves only the
  singular values in ``[0.97·ε σ₁, ε σ₁]`` undecided.  ``O(n² k)``: cheap when the ε-rank is
  small.
* ``"gram"`` — eigenvalues ``λ_j`` of ``G = AAᵀ`` (``σ_j² = λ_j(G)``).  Forming ``G`` in
  floating point errs by at most ``γ_n·‖|A||A|ᵀ‖₂`` (``γ_n = n·eps/(1 − n·eps)``; for
  ``A ≥ 0`` entrywise, ``‖|A||A|ᵀ‖₂ = ‖G‖₂``, else bounded by ``‖A‖_F²``) and the symmetric
  eigensolver by ``n·eps·‖G‖₂``; with ``δ`` their sum, ``σ_j² ∈ [λ_j − δ, λ_j + δ]``.  Squaring
  loses the singular values below ``≈ √(2n·eps)·σ₁``, so it certifies ``ε ≳ 10⁻⁵`` at
  ``n = 4096``.  ``O(n³)`` but several times faster than the SVD.
* ``"auto"`` — ``"svd"`` for ``n ≤ 600``; else ``"randomized"`` up to ``k = n/8``, then
  ``"gram"`` (or ``"svd"`` when ``ε`` is below what ``"gram"`` can certify).

**Softmax.**  For ``A = rownorm(exp(S))`` with ``|S_ij| ≤ B`` and ``rank S = r``:

``rank_ε(A) ≤ min(n, C(r + p, p))``, ``p = min{p : e^B·R_p(B) ≤ ε}``, ``R_p(B) = Σ_{k>p} B^k/k!``

— independent of ``n``.  Proof: ``P = Σ_{k≤p} S^{∘k}/k!`` has rank ``≤ Σ_{k≤p} C(r+k−1, k) =
C(r+p, p)`` (the ``k``-th Hadamard power of a rank-``r`` matrix lies in the span of
``r``-variate monomials of degree ``k``); ``|exp(S_ij) − P_ij| ≤ R_p(B)`` so
``‖D⁻¹(exp S − P)‖₂ ≤ (e^B/n)·n·R_p(B)``; and ``σ₁(A) ≥ 1`` because ``A1 = 1``.  The bound is
loose (polynomial approximations better than Taylor's exist: Alman & Song 2023 use them),
but it is the n-independence that matters: for bounded ``B`` the ε-rank saturates, while for
large ``B`` the degree ``p`` and with it the bound exceed ``n``.  Alman & Song 2023 place the
transition at ``B ≈ √(log n)`` (for ``d = O(log n)``, worst-case inputs, under SETH); the sweep
draws that curve beside measured ε-ranks of random inputs, which illustrate but cannot
prove a worst-case statement.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import scipy.linalg as sl
from jaxtyping import Float

__all__ = [
    "EpsRank",
    "eps_rank_from_singular_values",
    "eps_ranks",
    "eps_rank",
    "randomized_range",
    "residual_norm_bound",
    "power_failure_probability",
    "randomized_svd",
    "taylor_degree",
    "taylor_eps_rank_bound",
    "alman_song_threshold",
    "softmax_scores",
    "softmax_attention",
    "softmax_eps_rank_sweep",
    "cached_softmax_sweep",
    "METHODS",
]

EPS = float(np.finfo(np.float64).eps)
METHODS = ("auto", "svd", "randomized", "gram")
THETA = 4.0  # the power estimate may undershoot λ_max(RᵀR) by at most this factor ...
STEPS = 16  # ... after this many steps of RᵀR ...
STARTS = 2  # ... from every one of this many starts, except with probability ≈ (0.8√n·4^{−16})²
TAU = 0.25


@dataclass(frozen=True)
class EpsRank:
    """A measured ε-rank: the interval that contains it, the estimate and how it was found."""

    eps: float
    rank: int  # estimate #{ŝ_j > ε ŝ₁}
    lower: int
    upper: int
    method: str
    n: int
    singular_values: np.ndarray = field(repr=False)  # the estimates ŝ_j that were computed
    error: float  # half-width of the singular-value (svd), squared (gram) or residual (randomized) bound
    failure_probability: float  # probability that [lower, upper] is wrong (randomized only)
    seconds: float

    @property
    def resolved(self) -> bool:
        return self.lower == self.upper

    def to_dict(self) -> dict:
        return {
            "eps": self.eps,
            "rank": self.rank,
            "lower": self.lower,
            "upper": self.upper,
            "method": self.method,
            "n": self.n,
            "error": self.error,
            "failure_probability": self.failure_probability,
            "seconds": round(self.seconds, 4),
        }


def eps_rank_from_singular_values(sv: Float[np.ndarray, " k"], eps: float) -> int:
    """``#{σ_j > ε σ₁}`` for exact singular values ``sv`` (any order)."""
    sv = np.asarray(sv, dtype=np.float64)
    _check_eps([eps])
    if sv.size == 0 or not np.any(sv):
        return 0
    return int(np.sum(sv > eps * np.max(sv)))


def _check_eps(eps_list) -> list[float]:
    out = []
    for e in eps_list:
        if not isinstance(e, (int, float, np.floating)) or not (0 < e < 1) or not math.isfinite(e):
            raise ValueError(f"eps must be a number in (0, 1), got {e!r}")
        out.append(float(e))
    if not out:
        raise ValueError("eps: give at least one value")
    return out


def _check_matrix(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"A must be a non-empty 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("A contains NaN or Inf")
    return a


# ---------------------------------------------------------------------------------
# randomized range finder
# ---------------------------------------------------------------------------------


def randomized_range(
    a: Float[np.ndarray, "m n"], k: int, *, power_iters: int = 2, seed: int = 0
) -> Float[np.ndarray, "m k"]:
    """Orthonormal ``Q`` (m×k) spanning ``(AAᵀ)^q A Ω`` for a Gaussian ``Ω`` (n×k).

    The intermediate power steps are renormalized by a pivoted LU factor (it keeps the
    span and is cheaper than QR, HMT 2011 §4.5); only the last step is orthonormalized by QR.
    """
    a = _check_matrix(a)
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
    a = _check_matrix(a)
    width = min(k + oversample, min(a.shape))
    q = randomized_range(a, width, power_iters=power_iters, seed=seed)
    u, s, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    return (q @ u)[:, :k], s[:k], vt[:k]


# ---------------------------------------------------------------------------------
# ε-rank
# ---------------------------------------------------------------------------------


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
        certified = rho <= TAU * e_min * s[0] or k == size
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
    a = _check_matrix(a)
    eps_list = _check_eps(list(eps))
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
    gram_floor = math.sqrt(4 * max(a.shape) * EPS) * 100  # ε the Gram route certifies comfortably
    if min(eps_list) >= gram_floor:
        return _gram_route(a, eps_list, t0)
    return _svd_route(a, eps_list, t0)


def eps_rank(a: Float[np.ndarray, "m n"], eps: float, **kwargs) -> EpsRank:
    """The ε-rank of ``a`` for one ``ε`` (see :func:`eps_ranks`)."""
    return eps_ranks(a, [eps], **kwargs)[float(eps)]


# ---------------------------------------------------------------------------------
# softmax: the Taylor bound and the sweep
# ---------------------------------------------------------------------------------


def _log_taylor_tail(b: float, p: int) -> float:
    """``log R_p(B)``, ``R_p(B) = Σ_{k>p} B^k/k!`` (B > 0), summed in ratios to its largest term.

    The terms ``t_k = B^k/k!`` peak at ``k* = max(p+1, ⌊B⌋)``; the sum runs up from ``k*``
    (``t_{k+1} = t_k B/(k+1)``) and down to ``p + 1`` (``t_{k−1} = t_k k/B``), every ratio ≤ 1, so
    nothing overflows for any B (the direct sum overflows near B ≈ 700).
    """
    top = max(p + 1, int(b))
    total, rel, k = 0.0, 1.0, top
    while rel > 1e-18 * max(total, 1.0):  # upward from the peak
        total += rel
        k += 1
        rel *= b / k
    rel, k = 1.0, top
    while k > p + 1:  # downward to p + 1
        rel *= k / b
        k -= 1
        total += rel
        if rel < 1e-18 * total:
            break
    return top * math.log(b) - math.lgamma(top + 1) + math.log(total)


def taylor_degree(b: float, eps: float, max_degree: int = 100_000) -> int:
    """``p = min{p : e^B·R_p(B) ≤ ε}`` (module doc), by bisection on ``B + log R_p(B) ≤ log ε``
    (the tail decreases in ``p``)."""
    if not (isinstance(b, (int, float, np.floating)) and math.isfinite(b) and b >= 0):
        raise ValueError(f"B must be a finite number ≥ 0, got {b!r}")
    _check_eps([eps])
    if b == 0:
        return 0
    b = float(b)
    ok = lambda p: b + _log_taylor_tail(b, p) <= math.log(eps)  # noqa: E731
    if not ok(max_degree):
        raise ValueError(f"B = {b}: degree above {max_degree}")
    lo, hi = -1, max_degree  # ok(hi), and not ok(lo) by convention
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def taylor_eps_rank_bound(b: float, eps: float, r: int, n: int) -> int:
    """``min(n, C(r + p, p))`` with ``p = taylor_degree(B, ε)``: an n-independent ε-rank bound."""
    if r < 0 or n < 1:
        raise ValueError(f"r must be ≥ 0 and n ≥ 1, got r={r}, n={n}")
    p = taylor_degree(b, eps)
    return min(n, math.comb(r + p, p))


def alman_song_threshold(n) -> np.ndarray:
    """``√(ln n)``: the score bound where Alman & Song 2023 place the fast/hard transition
    (up to constants they leave unspecified)."""
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError("n must be ≥ 1")
    return np.sqrt(np.log(n))


def softmax_scores(n: int, d: int, b: float, *, dk: int | None = None, seed: int = 0) -> np.ndarray:
    """Scores ``S = X W_Q (X W_K)ᵀ/√d_k`` of Gaussian tokens, rescaled so ``max|S_ij| = B``.

    ``rank S = min(n, d, d_k)`` (generic).  Rescaling is a temperature: ``B`` is the score bound
    of Alman & Song 2023.
    """
    for name, v in (("n", n), ("d", d)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (math.isfinite(b) and b >= 0):
        raise ValueError(f"B must be a finite number ≥ 0, got {b!r}")
    dk = d if dk is None else dk
    rng = np.random.default_rng([seed, n, d, dk])
    x = rng.standard_normal((n, d))
    wq = rng.standard_normal((d, dk)) / math.sqrt(d)
    wk = rng.standard_normal((d, dk)) / math.sqrt(d)
    s = (x @ wq) @ (x @ wk).T / math.sqrt(dk)
    top = float(np.max(np.abs(s)))
    return s * (b / top) if top > 0 else s


def softmax_attention(scores: np.ndarray) -> np.ndarray:
    """``A = rownorm(exp(S))`` (row-max shifted) in float64."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.exp(s - s.max(axis=1, keepdims=True))
    return t / t.sum(axis=1, keepdims=True)


def softmax_eps_rank_sweep(
    ns: Sequence[int],
    bounds: Sequence[float],
    eps: Sequence[float],
    *,
    d: int = 64,
    dk: int | None = None,
    seed: int = 0,
    method: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """ε-rank of softmax attention for every ``(n, B)`` and every ``ε``.

    One record per ``(n, B, ε)`` with the measured interval, the estimate, the Taylor bound
    ``min(n, C(r+p, p))`` beside it, ``r = min(n, d, d_k)``, and ``√(ln n)``.  With
    ``method="auto"``, an ``(n, B)`` whose ε-rank at a previous ``n ≥ 512`` exceeded a quarter
    of that ``n`` skips the sketch and goes straight to the dense route.
    """
    eps_list = _check_eps(list(eps))
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    ns = sorted(int(v) for v in ns)
    if not ns or ns[0] < 1:
        raise ValueError(f"ns must be positive integers, got {ns}")
    records: list[dict] = []
    dense_from: dict[float, bool] = {}
    e_min = min(eps_list)
    for b in bounds:
        for n in ns:
            start = time.perf_counter()
            a = softmax_attention(softmax_scores(n, d, b, dk=dk, seed=seed))
            chosen = method
            if method == "auto" and dense_from.get(b) and n > 600:
                chosen = "gram" if e_min >= math.sqrt(4 * n * EPS) * 100 else "svd"
            res = eps_ranks(a, eps_list, method=chosen, seed=seed)
            r = min(n, d, d if dk is None else dk)
            for e in eps_list:
                er = res[e]
                records.append({
                    "n": n, "B": float(b), "eps": e, "d": d, "dk": d if dk is None else dk,
                    "rank": er.rank, "lower": er.lower, "upper": er.upper, "method": er.method,
                    "taylor_bound": taylor_eps_rank_bound(b, e, r, n),
                    "taylor_degree": taylor_degree(b, e),
                    "sqrt_log_n": float(alman_song_threshold(n)),
                    "seconds": round(time.perf_counter() - start, 3),
                })
            if n >= 512 and res[e_min].upper > n / 4:  # a sizeable fraction of n: the sketch would not pay off
                dense_from[b] = True
            if progress is not None:
                progress(f"B={b:g} n={n}: {res[e_min].method} [{res[e_min].lower}, {res[e_min].upper}] "
                         f"({time.perf_counter() - start:.1f}s)")
    return records


@functools.lru_cache(maxsize=8)
def _cached_sweep(ns: tuple, bounds: tuple, eps: tuple, d: int, seed: int) -> tuple:
    return tuple(softmax_eps_rank_sweep(ns, bounds, eps, d=d, seed=seed))


def cached_softmax_sweep(ns, bounds, eps, d: int = 64, seed: int = 0) -> list[dict]:
    """:func:`softmax_eps_rank_sweep` memoized on its arguments (readings that share a sweep
    compute it once per process); returns fresh copies of the records."""
    recs = _cached_sweep(tuple(int(v) for v in ns), tuple(float(b) for b in bounds),
                         tuple(float(e) for e in eps), int(d), int(seed))
    return [dict(r) for r in recs]
