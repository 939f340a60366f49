"""The softmax ε-rank sweep: ε-ranks of ``A = rownorm(exp S)`` over ``(n, B)``, beside the Taylor bound."""

from __future__ import annotations

import functools
import math
import time
from typing import Callable, Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Float

from theorem.kernels import Softmax
from theorem.numeric.eps_rank.result import METHODS, check_eps
from theorem.numeric.eps_rank.routes import eps_ranks, gram_floor
from theorem.numeric.eps_rank.taylor import alman_song_threshold, taylor_degree, taylor_eps_rank_bound
from theorem.numeric.head import Head
from theorem.util.precision import float64

__all__ = ["softmax_scores", "bounded_entry_scores", "softmax_attention", "softmax_eps_rank_sweep",
           "cached_softmax_sweep"]


def softmax_scores(n: int, d: int, b: float, *, dk: int | None = None, seed: int = 0) -> Float[np.ndarray, "n n"]:
    """Scores ``S = X W_Q (X W_K)ᵀ/√d_k`` of a :class:`~theorem.numeric.head.Head` with Gaussian tokens,
    rescaled so ``max|S_ij| = B``.

    ``X``, ``W_Q``, ``W_K`` (entries N(0, 1), N(0, 1/d), N(0, 1/d)) are drawn in that order from
    ``np.random.default_rng([seed, n, d, d_k])``.  ``rank S = min(n, d, d_k)`` (generic).  Rescaling is a
    temperature.  ``B`` bounds the scores; Alman & Song 2023 bound the entries of ``Q, K`` instead, by ``√B``
    in their normalization ``A = exp(QKᵀ/d)`` (:func:`~theorem.numeric.eps_rank.taylor.alman_song_threshold`).
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
    s = Head(x, wq, wk).scores()
    top = float(np.max(np.abs(s)))
    return s * (b / top) if top > 0 else s


def bounded_entry_scores(n: int, d: int, b: float, *, seed: int = 0) -> Float[np.ndarray, "n n"]:
    """Scores ``S = Q Kᵀ/d`` with the entries of ``Q, K`` (n×d) i.i.d. uniform on ``[−B_e, B_e]``, ``B_e = √B``:
    Alman & Song 2023's input class (entries bounded by ``B_e``, ``A = exp(QKᵀ/d)``), so ``|S_ij| ≤ B_e² = B``
    and ``B`` is the score bound in the units of :func:`~theorem.numeric.eps_rank.taylor.alman_song_threshold`.

    As a :class:`~theorem.numeric.head.Head`: tokens ``X = [Q, K]/d^{1/4}`` (n×2d), ``W_Q = [I_d; 0]``,
    ``W_K = [0; I_d]``, ``d_k = d``, so ``X W_Q (X W_K)ᵀ/√d_k = Q Kᵀ/d``; ``rank S = d`` (generic).  ``Q`` then
    ``K`` are drawn from ``np.random.default_rng([seed, n, d, 1])``.
    """
    for name, v in (("n", n), ("d", d)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (math.isfinite(b) and b >= 0):
        raise ValueError(f"B must be a finite number ≥ 0, got {b!r}")
    rng = np.random.default_rng([seed, n, d, 1])
    be = math.sqrt(b)
    q = rng.uniform(-be, be, (n, d))
    k = rng.uniform(-be, be, (n, d))
    eye, zero = np.eye(d), np.zeros((d, d))
    head = Head(np.hstack([q, k]) / d**0.25, np.vstack([eye, zero]), np.vstack([zero, eye]))
    return head.scores()


@float64
def softmax_attention(scores: Float[np.ndarray, "n n"]) -> Float[np.ndarray, "n n"]:
    """``A = rownorm(exp(S))`` in float64, as :class:`theorem.kernels.Softmax` computes it."""
    s = jnp.asarray(np.asarray(scores, dtype=np.float64))
    return np.asarray(Softmax().weights_from_scores(s))


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
    ``min(n, C(r+p, p))`` beside it, ``r = min(n, d, d_k)``, and ``ln n`` (the Alman–Song threshold in
    score units, :func:`~theorem.numeric.eps_rank.taylor.alman_song_threshold`).  With
    ``method="auto"``, an ``(n, B)`` whose ε-rank at a previous ``n ≥ 512`` exceeded a quarter
    of that ``n`` skips the sketch and goes straight to the dense route.
    """
    eps_list = check_eps(list(eps))
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
                chosen = "gram" if e_min >= gram_floor(n) else "svd"
            res = eps_ranks(a, eps_list, method=chosen, seed=seed)
            r = min(n, d, d if dk is None else dk)
            for e in eps_list:
                er = res[e]
                records.append({
                    "n": n, "B": float(b), "eps": e, "d": d, "dk": d if dk is None else dk,
                    "rank": er.rank, "lower": er.lower, "upper": er.upper, "method": er.method,
                    "taylor_bound": taylor_eps_rank_bound(b, e, r, n),
                    "taylor_degree": taylor_degree(b, e),
                    "log_n": float(alman_song_threshold(n)),
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
