"""``eps_rank_small_d``: ε-rank of softmax attention at small head dimension (d = 2 to 4) and large n (T3.c).

At ``d = 64`` the n-independent Taylor bound ``min(n, C(r + p, p))`` (``r = rank S``, ``p`` the Taylor degree
for the score bound ``B``) equals ``n`` at every swept size: vacuous.  At ``d = r ≤ 4`` it is far below ``n``
for moderate ``B``, so the measurement can be set beside a bound with content.

Inputs (setting ``tokens``): ``"bounded"`` — Alman & Song 2023's class: the entries of ``Q, K`` i.i.d. uniform on
``[−√B, √B]`` and ``S = QKᵀ/d`` (:func:`theorem.numeric.eps_rank.bounded_entry_scores`), so ``|S_ij| ≤ B``: ``B`` is
the score bound, their entry bound squared, and their transition is at ``B`` of order ``ln n``
(:func:`theorem.numeric.eps_rank.alman_song_threshold`); ``"gaussian"`` — Gaussian tokens of a head with
``d = d_k``, scores rescaled to ``max|S_ij| = B`` (:func:`theorem.numeric.eps_rank.softmax_scores`; the bulk of
the scores then shrinks as n grows, since the maximum of n² Gaussian products does).

For ``n > 600`` the ε-rank comes from the randomized range finder with its certified interval
(:func:`theorem.numeric.eps_rank.eps_ranks`, ``method="randomized"``, the sketch doubled up to ``k_max`` from
``k0`` or, at the next n of the same ``(d, B)``, from the power of two at least twice the previous upper end; an
interval left open at ``k_max`` is recorded as it is), for ``n ≤ 600`` from the full SVD.

``QUICK`` (CI-sized): d = 2, 3 and n ≤ 1024.  ``FULL``: d = 2, 3, 4 and n up to 8192 at every (d, B).
``MEDIUM`` (the committed record; FULL's n = 4096 and 8192 points at d = 3, 4 need sketches of up to 1024
columns and did not fit a shared 2-core machine): n up to 8192 at d = 2, 4096 at d = 3, 2048 at d = 4 (setting
``n_max``, per d), ``B`` from 1 to 64.  ``python -m theorem.experiments.eps_rank_small_d`` writes it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.experiments.command import main as experiments_main
from theorem.numeric.eps_rank import (
    alman_song_threshold,
    bounded_entry_scores,
    eps_ranks,
    softmax_attention,
    softmax_scores,
    taylor_degree,
    taylor_eps_rank_bound,
)

NAME = "eps_rank_small_d"
DESCRIPTION = "T3.c: epsilon-rank of softmax attention at d = 2-4 and n up to 8192 beside the Taylor bound"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "MEDIUM", "TOKENS", "run", "measure", "scores"]

TOKENS = ("bounded", "gaussian")

QUICK: dict[str, Any] = {"ns": [256, 512, 1024], "ds": [2, 3], "bounds": [1.0, 8.0, 64.0], "eps": [0.001],
                         "tokens": "bounded", "k0": 16, "k_max": 512, "seed": 0}
FULL: dict[str, Any] = {"ns": [512, 1024, 2048, 4096, 8192], "ds": [2, 3, 4],
                        "bounds": [1.0, 4.0, 8.0, 16.0, 64.0, 256.0], "eps": [0.01, 0.001],
                        "tokens": "bounded", "k0": 64, "k_max": 1024, "seed": 0}
MEDIUM: dict[str, Any] = {"ns": [512, 1024, 2048, 4096, 8192], "ds": [2, 3, 4], "n_max": {"2": 8192, "3": 4096, "4": 2048},
                          "bounds": [1.0, 4.0, 8.0, 16.0, 64.0], "eps": [0.01, 0.001],
                          "tokens": "bounded", "k0": 64, "k_max": 1024, "seed": 0}


def scores(n: int, d: int, b: float, *, tokens: str = "bounded", seed: int = 0):
    """The score matrix of one swept point (module doc, ``tokens``)."""
    if tokens not in TOKENS:
        raise ValueError(f"tokens must be one of {', '.join(TOKENS)}, got {tokens!r}")
    if tokens == "bounded":
        return bounded_entry_scores(n, d, b, seed=seed)
    return softmax_scores(n, d, b, seed=seed)


def measure(n: int, d: int, b: float, eps: list[float], *, k0: int, k_max: int, seed: int,
            tokens: str = "bounded") -> list[dict]:
    """One record per ε at ``(n, d, B)``: the certified interval and estimate of the ε-rank, the route, the
    sketch width reached, the Taylor bound with ``r = d`` and its degree, ``max|S_ij|`` and ``ln n``."""
    start = time.perf_counter()
    s = scores(n, d, b, tokens=tokens, seed=seed)
    a = softmax_attention(s)
    method = "svd" if n <= 600 else "randomized"
    res = eps_ranks(a, eps, method=method, k0=min(k0, n), k_max=min(k_max, n), seed=seed)
    seconds = round(time.perf_counter() - start, 3)
    return [{"n": n, "d": d, "B": float(b), "eps": e, "tokens": tokens, "max_abs_score": float(abs(s).max()),
             "rank": res[e].rank, "lower": res[e].lower, "upper": res[e].upper, "method": res[e].method,
             "sketch": int(res[e].singular_values.size), "failure_probability": res[e].failure_probability,
             "taylor_bound": taylor_eps_rank_bound(b, e, d, n), "taylor_degree": taylor_degree(b, e),
             "log_n": float(alman_song_threshold(n)), "seconds": seconds} for e in eps]


def _next_k0(k0: int, previous_upper: int | None) -> int:
    """The first sketch width: ``k0``, or the power of two ≥ twice the previous n's upper end (same d, B)."""
    if previous_upper is None:
        return k0
    k = k0
    while k < 2 * previous_upper:
        k *= 2
    return k


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """``{"records": [...]}``, one per ``(n, d, B, ε)`` (:func:`measure`), n ascending in the outer loop, n up to
    ``n_max[str(d)]`` where the setting has one."""
    records: list[dict] = []
    tokens = settings["tokens"]
    previous: dict[tuple[int, float], int] = {}
    for n in sorted(settings["ns"]):
        for d in settings["ds"]:
            if n > settings.get("n_max", {}).get(str(d), n):
                continue
            for b in settings["bounds"]:
                k0 = _next_k0(settings["k0"], previous.get((d, b)))
                recs = measure(n, d, b, list(settings["eps"]), k0=k0, k_max=settings["k_max"],
                               seed=settings["seed"], tokens=tokens)
                records += recs
                r = min(recs, key=lambda r: r["eps"])
                previous[(d, b)] = r["upper"]
                log(f"n={n} d={d} B={b:g}: ε-rank [{r['lower']}, {r['upper']}] (Taylor bound {r['taylor_bound']}, "
                    f"{r['method']}, sketch {r['sketch']}, {r['seconds']:.1f}s)")
    return {"records": records}


def main() -> int:
    """Run MEDIUM and write the record (profile ``medium``): ``python -m theorem.experiments eps_rank_small_d --profile medium``."""
    return experiments_main([NAME, "--profile", "medium"])


if __name__ == "__main__":
    raise SystemExit(main())
