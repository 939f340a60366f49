"""``matching_bottleneck``: the best error of a head with d_k < n on fine-grained patterns, |S| ≤ 8 (R4).

Permutation, banded and random sparse targets, softmax and CSQ, fitted by Adam with restarts
(:func:`theorem.training.bottleneck_fit.bottleneck_sweep`), the full-rank baseline d_k = n and the
closed forms beside them.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.training.bottleneck_fit import bottleneck_sweep

NAME = "matching_bottleneck"
DESCRIPTION = "low-rank bottleneck: best fitted error per kernel, pattern, n and d_k, with closed forms"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"ns": [8, 16, 32], "dks": [2], "bound": 8.0, "steps": 1000, "restarts": 1}
FULL: dict[str, Any] = {"ns": [8, 16, 32, 64, 128], "dks": [2, 4, 8], "bound": 8.0, "steps": 3000, "restarts": 4}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    rows = bottleneck_sweep(tuple(settings["ns"]), tuple(settings["dks"]), bound=settings["bound"],
                            steps=settings["steps"], restarts=settings["restarts"])
    log(f"{len(rows)} fits")
    return {"rows": rows}
