r"""(d) Contrast, measured: the smallest score gap :math:`\Delta^*` giving the best key half the mass.

The best key sits at score ``level + gap``, ``n − 1`` distractors at ``level`` (d_k = 1, q = 1), and the
weights come from the kernel's own code.  The closed forms are derived in
:func:`theorem.symbolic.matching.contrast_gap`; :func:`contrast_table` sets each measurement beside
its closed form's value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorem.kernels import Kernel
from theorem.numeric.matching.cases import MatchingCase, matching_kernel, query_weights
from theorem.symbolic.matching import contrast_gap, contrast_gap_value

__all__ = ["CONTRAST_LEVELS", "contrast_case", "best_key_mass", "measure_contrast_gap", "contrast_table"]

#: distractor levels at which each kernel's contrast is measured (scores; rbf: RBF score)
CONTRAST_LEVELS: dict[str, tuple[float, ...]] = {
    "softmax": (0.5, -3.0),
    "rbf": (-40.0,),
    "linear": (1.0, -8.0),
    "poly2": (1.0, -1.0),
    "csq": (0.3, -2.0),
    "csq-uncentered": (1.0, -3.0),
}


def contrast_case(kernel_name: "str | Kernel", n: int, level: float, gap: float) -> MatchingCase:
    r"""One query, a best key at score ``level + gap`` and ``n − 1`` distractors at ``level``.

    d_k = 1 and q = 1, so the score of key ``k`` is ``k`` itself (linear: the dot product
    ``q·k = k``).  For ``rbf`` the level is the RBF score :math:`-(q-k)^2/2` (q = 0), which
    must stay ``≤ 0``: the key is :math:`\sqrt{-2u}`.
    """
    if n < 3:
        raise ValueError(f"n: the contrast gap is defined for n ≥ 3 keys, got {n}")
    matching_kernel(kernel_name)
    if kernel_name == "rbf":
        if level + gap > 0:
            raise ValueError(f"level + gap: an RBF score must be ≤ 0, got {level + gap}")
        best, other = math.sqrt(-2.0 * (level + gap)), math.sqrt(-2.0 * level)
        return MatchingCase(np.zeros(1), np.array([[best]] + [[other]] * (n - 1)))
    return MatchingCase(np.ones(1), np.array([[level + gap]] + [[level]] * (n - 1)))


def best_key_mass(kernel_name: "str | Kernel", n: int, level: float, gap: float) -> float:
    """Weight of the best key in :func:`contrast_case` (computed by the kernel's own code)."""
    case = contrast_case(kernel_name, n, level, gap)
    return float(query_weights(matching_kernel(kernel_name), case.q, case.keys)[0])


def measure_contrast_gap(kernel_name: "str | Kernel", n: int, level: float, *, iterations: int = 80) -> dict[str, Any]:
    r"""Smallest gap :math:`\Delta \ge 0` with best-key mass :math:`\ge 1/2`, found numerically.

    Doubling finds a bracket, bisection its crossing; a grid of 32 gaps below the result is
    then checked to hold mass :math:`< 1/2` (so the crossing found is the first one).
    Returns ``gap``, ``mass_at_gap`` and ``first_crossing`` (the grid check).
    """
    if iterations < 1:
        raise ValueError(f"iterations: must be ≥ 1, got {iterations}")
    cap = -level if kernel_name == "rbf" else math.inf

    def mass(g: float) -> float:
        value = best_key_mass(kernel_name, n, level, g)
        if not math.isfinite(value):
            raise ArithmeticError(f"{kernel_name}: weight is {value} at n={n}, level={level}, gap={g}")
        return value

    if mass(0.0) >= 0.5:
        return {"gap": 0.0, "mass_at_gap": mass(0.0), "first_crossing": True}
    hi = 1e-3
    while mass(min(hi, cap)) < 0.5:
        if hi >= cap or hi > 1e12:
            raise ValueError(f"{kernel_name}: no gap gives half the mass at n={n}, level={level}")
        hi *= 2.0
    hi, lo = min(hi, cap), 0.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if mass(mid) >= 0.5:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 4 * np.finfo(float).eps * max(1.0, hi):
            break
    below = np.linspace(0.0, hi, 33)[:-1] * (1 - 1e-9)
    first = all(mass(g) < 0.5 for g in below)
    return {"gap": hi, "mass_at_gap": mass(hi), "first_crossing": bool(first)}


def contrast_table(kernels: tuple[str, ...], ns: tuple[int, ...], *, shift: float = 1.0) -> list[dict[str, Any]]:
    """Measured half-mass gap beside its closed form, per kernel, distractor level (:data:`CONTRAST_LEVELS`) and n."""
    rows = []
    for name in kernels:
        formula = str(contrast_gap(name).expr)
        for level in CONTRAST_LEVELS[name]:
            for n in ns:
                measured = measure_contrast_gap(name, n, level)
                predicted = contrast_gap_value(name, n, level, shift=shift)
                rows.append(
                    {
                        "kernel": name,
                        "level": level,
                        "n": n,
                        "measured": measured["gap"],
                        "predicted": predicted,
                        "formula": formula,
                        "rel_error": abs(measured["gap"] - predicted) / max(1.0, abs(predicted)),
                        "first_crossing": measured["first_crossing"],
                    }
                )
    return rows
