"""``matching_contrast``: the half-mass gap Δ* measured by bisection beside its SymPy closed form (T4.d, T6.c).

Every kernel of :data:`theorem.numeric.matching.CONTRAST_LEVELS`, at its distractor levels, over ``ns``
(:func:`theorem.numeric.matching.contrast_table`, CSQ shift c = 1).
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.numeric.matching import CONTRAST_LEVELS, contrast_table
from theorem.util.precision import float64

NAME = "matching_contrast"
DESCRIPTION = "half-mass score gap per kernel and n: bisection on the kernels' weights vs closed forms"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"kernels": list(CONTRAST_LEVELS), "ns": [3, 10, 100]}
FULL: dict[str, Any] = {"kernels": list(CONTRAST_LEVELS), "ns": [3, 5, 10, 30, 100, 300, 1000]}


@float64
def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    rows = contrast_table(tuple(settings["kernels"]), tuple(settings["ns"]))
    log(f"{len(rows)} gaps; largest relative error {max(r['rel_error'] for r in rows):.1e}")
    return {"rows": rows}
