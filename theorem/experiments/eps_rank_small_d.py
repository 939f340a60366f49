"""``eps_rank_small_d``: ε-rank of softmax attention at small head dimension (d = 2 to 4) and large n (T3.c).

At ``d = 64`` the n-independent Taylor bound ``min(n, C(r + p, p))`` (``r = rank S``, ``p`` the Taylor degree
for the score bound ``B``) equals ``n`` at every swept size: vacuous.  At ``d = r ≤ 4`` it is far below ``n``
for moderate ``B``, so the measurement can be set beside a bound with content.  Gaussian tokens, ``d = d_k``,
scores rescaled to ``max|S_ij| = B`` (:func:`theorem.numeric.eps_rank.softmax_scores`), ``B`` in score units, so
the Alman–Song transition is at ``B`` of order ``ln n`` (:func:`theorem.numeric.eps_rank.alman_song_threshold`).
For ``n > 600`` the ε-rank comes from the randomized range finder with its certified interval
(:func:`theorem.numeric.eps_rank.eps_ranks`, ``method="randomized"``, the sketch doubled from ``k0`` up to
``k_max``; an interval left open at ``k_max`` is recorded as it is), for ``n ≤ 600`` from the full SVD.

``QUICK`` (CI-sized, seconds): d = 2, 3 and n ≤ 1024.  ``FULL``: d = 2, 3, 4 and n up to 8192.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.numeric.eps_rank import (
    alman_song_threshold,
    eps_ranks,
    softmax_attention,
    softmax_scores,
    taylor_degree,
    taylor_eps_rank_bound,
)

NAME = "eps_rank_small_d"
DESCRIPTION = "T3.c: epsilon-rank of softmax attention at d = 2-4 and n up to 8192 beside the Taylor bound"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run", "measure"]

QUICK: dict[str, Any] = {"ns": [256, 512, 1024], "ds": [2, 3], "bounds": [1.0, 4.0, 16.0, 64.0], "eps": [0.001],
                         "k0": 16, "k_max": 256, "seed": 0}
FULL: dict[str, Any] = {"ns": [512, 1024, 2048, 4096, 8192], "ds": [2, 3, 4],
                        "bounds": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0], "eps": [0.01, 0.001],
                        "k0": 64, "k_max": 1024, "seed": 0}


def measure(n: int, d: int, b: float, eps: list[float], *, k0: int, k_max: int, seed: int) -> list[dict]:
    """One record per ε at ``(n, d, B)``: the certified interval and estimate of the ε-rank, the route, the
    Taylor bound with ``r = d`` and its degree, and ``ln n``."""
    start = time.perf_counter()
    a = softmax_attention(softmax_scores(n, d, b, seed=seed))
    method = "svd" if n <= 600 else "randomized"
    res = eps_ranks(a, eps, method=method, k0=min(k0, n), k_max=min(k_max, n), seed=seed)
    seconds = round(time.perf_counter() - start, 3)
    return [{"n": n, "d": d, "B": float(b), "eps": e, "rank": res[e].rank, "lower": res[e].lower,
             "upper": res[e].upper, "method": res[e].method, "failure_probability": res[e].failure_probability,
             "taylor_bound": taylor_eps_rank_bound(b, e, d, n), "taylor_degree": taylor_degree(b, e),
             "log_n": float(alman_song_threshold(n)), "seconds": seconds} for e in eps]


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """``{"records": [...]}``, one per ``(d, B, n, ε)`` (:func:`measure`)."""
    records: list[dict] = []
    for d in settings["ds"]:
        for b in settings["bounds"]:
            for n in sorted(settings["ns"]):
                recs = measure(n, d, b, list(settings["eps"]), k0=settings["k0"], k_max=settings["k_max"],
                               seed=settings["seed"])
                records += recs
                r = min(recs, key=lambda r: r["eps"])
                log(f"d={d} B={b:g} n={n}: ε-rank [{r['lower']}, {r['upper']}] (Taylor bound {r['taylor_bound']}, "
                    f"{r['method']}, {r['seconds']:.1f}s)")
    return {"records": records}
