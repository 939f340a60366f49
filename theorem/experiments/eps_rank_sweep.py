"""``eps_rank_sweep``: ε-rank of softmax attention against n for several score bounds B (T3.c, T2.b, notebook 02).

Gaussian tokens, ``d = d_k = 64``, scores rescaled to ``max|S_ij| = B``; for every ``(n, B, ε)`` the certified
interval and estimate of the ε-rank, the n-independent Taylor bound and ``ln n`` (the Alman–Song threshold in score units)
(:func:`theorem.numeric.eps_rank.softmax_eps_rank_sweep`).  ``FULL`` is the sweep notebook 02 plots
(n ≤ 4096, about 3 minutes on 2 cores with ``OPENBLAS_NUM_THREADS=1``); ``QUICK`` its sizes n ≤ 512, which
the notebook recomputes live to compare with the record.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.numeric.eps_rank import softmax_eps_rank_sweep

NAME = "eps_rank_sweep"
DESCRIPTION = "T3.c/T2.b: epsilon-rank of softmax attention vs n for score bounds B (d = 64)"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

_BOUNDS = [0.25, 0.5, 1.0, 2.0, 2.5, 4.0, 8.0]
_EPS = [0.01, 0.001]

QUICK: dict[str, Any] = {"ns": [64, 128, 256, 512], "bounds": _BOUNDS, "eps": _EPS, "d": 64}
FULL: dict[str, Any] = {"ns": [64, 128, 256, 512, 1024, 2048, 4096], "bounds": _BOUNDS, "eps": _EPS, "d": 64}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """``{"records": [...]}``: one record per ``(n, B, ε)`` (keys of :func:`softmax_eps_rank_sweep`)."""
    records = softmax_eps_rank_sweep(settings["ns"], settings["bounds"], settings["eps"], d=settings["d"],
                                     progress=log)
    return {"records": records}
