r"""Two fits of measured curves: the exponent of a power law, and where two cost curves cross.

* :func:`fit_exponent` — least-squares slope :math:`p` of :math:`\log y` on :math:`\log x`
  (:math:`y \propto x^p`) and its :math:`R^2`;
* :func:`measured_crossover` — the :math:`n^*` where the linear form overtakes the quadratic one: the
  last sign change of :math:`\log(t_q/t_l)`, interpolated linearly in :math:`\log n`.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Sequence

import numpy as np

__all__ = ["fit_exponent", "measured_crossover"]


def fit_exponent(xs: Sequence[Real], ys: Sequence[Real]) -> dict[str, Any]:
    """Least-squares slope of ``log y`` on ``log x`` (the exponent ``p`` in ``y ∝ x^p``) and its R²."""
    x, y = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    if len(x) < 2:
        return {"exponent": None, "r2": None, "points": len(x)}
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss if ss > 0 else 1.0
    return {"exponent": float(slope), "r2": r2, "points": int(len(x))}


def measured_crossover(ns: Sequence[Real], t_quadratic: Sequence[Real | None],
                       t_linear: Sequence[Real | None]) -> dict[str, Any]:
    r"""Where the linear form overtakes: the last sign change of :math:`\log(t_q/t_l)`, interpolated in
    :math:`\log n`.  ``status``: ``ok``, ``below`` (linear faster at every n), ``above`` (never faster)."""
    pts = [(n, q, lin) for n, q, lin in zip(ns, t_quadratic, t_linear) if q is not None and lin is not None]
    if len(pts) < 2:
        return {"n_star": None, "status": "too few points"}
    logr = [math.log(q / lin) for _, q, lin in pts]
    if all(r > 0 for r in logr):
        return {"n_star": None, "status": "below", "bound": pts[0][0]}
    if all(r <= 0 for r in logr):
        return {"n_star": None, "status": "above", "bound": pts[-1][0]}
    last = max(i for i, r in enumerate(logr) if r <= 0)
    if last == len(pts) - 1:
        return {"n_star": None, "status": "above", "bound": pts[-1][0]}
    (n0, r0), (n1, r1) = (pts[last][0], logr[last]), (pts[last + 1][0], logr[last + 1])
    frac = -r0 / (r1 - r0) if r1 != r0 else 0.0
    n_star = math.exp(math.log(n0) + frac * (math.log(n1) - math.log(n0)))
    crossings = sum(1 for a, b in zip(logr, logr[1:]) if (a <= 0) != (b <= 0))
    return {"n_star": n_star, "status": "ok", "bracket": [n0, n1], "sign_changes": crossings}
