"""``matching_penalty``: CSQ heads trained with the soft vertex penalty, per (λ, seed); softmax as reference (T6.e).

One head (d = d_k = 8, n = 16) on the matching task of :mod:`theorem.numeric.matching.penalty`, 1000
Adam steps (:func:`theorem.training.penalty_sweep.penalty_sweep`); held-out task loss, target mass,
(a) violations, keys below the vertex and the percentiles of t = s̃ + c.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.training.penalty_sweep import penalty_sweep

NAME = "matching_penalty"
DESCRIPTION = "CSQ soft penalty: held-out violations and task loss per penalty weight and seed"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"lams": [0.0, 100.0], "seeds": [0, 1], "steps": 1000, "softmax_reference": False}
FULL: dict[str, Any] = {"lams": [0.0, 1.0, 10.0, 100.0, 1000.0], "seeds": [0, 1, 2, 3, 4], "steps": 1000,
                        "softmax_reference": True}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    lams, seeds, steps = tuple(settings["lams"]), tuple(settings["seeds"]), settings["steps"]
    rows = [r.to_dict() | {"kernel": "csq"} for r in penalty_sweep(lams, seeds=seeds, steps=steps)]
    log(f"csq: {len(rows)} runs")
    if settings["softmax_reference"]:
        ref = penalty_sweep((0.0,), seeds=seeds, steps=steps, kernel_name="softmax")
        rows += [r.to_dict() | {"kernel": "softmax"} for r in ref]
        log(f"softmax: {len(ref)} runs")
    return {"rows": rows}
