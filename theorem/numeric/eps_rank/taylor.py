"""The n-independent Taylor bound on the ε-rank of softmax attention, and the Alman–Song threshold (score units)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from jaxtyping import Float

from theorem.numeric.eps_rank.result import check_eps

__all__ = ["taylor_degree", "taylor_eps_rank_bound", "alman_song_threshold", "alman_song_entry_threshold"]


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
    check_eps([eps])
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


def alman_song_threshold(n: int | float | Sequence[int | float] | np.ndarray) -> Float[np.ndarray, "*shape"]:
    r"""``ln n``: the order of the score bound at which Alman & Song 2023 place the fast/hard transition,
    in score units ``B_S = max|S_ij|``; elementwise, a 0-d array for a scalar ``n``.

    Alman & Song bound the *entries* of ``Q, K`` by ``B`` with ``A = exp(QKᵀ/d)``, so the scores obey
    ``|S_ij| ≤ d·B²/d = B²``.  Their upper bound (``d = O(log n)``, ``B = o(√log n)``: an ``n^{1+o(1)}``
    approximation to additive error ``1/poly(n)``) and their SETH lower bound (``B = Θ(√log n)``) place the
    transition at ``B² = Θ(log n)`` in score units: of order ``ln n``, with constants they leave unspecified.
    (Entry units: :func:`alman_song_entry_threshold`.)
    """
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError("n must be ≥ 1")
    return np.asarray(np.log(n))


def alman_song_entry_threshold(n: int | float | Sequence[int | float] | np.ndarray) -> Float[np.ndarray, "*shape"]:
    """``√(ln n)``: the same transition in Alman & Song 2023's own units, the bound ``B`` on the entries of
    ``Q`` and ``K`` (:func:`alman_song_threshold` is its square, the score bound)."""
    return np.asarray(np.sqrt(alman_song_threshold(n)))
