r"""Fitting the machine balance of the cost model to the bench's timings.

:func:`fit_balance` fits :math:`t = t_0 + [\mathrm{linear}]\,\delta + (F_{mm} + \rho_{q|l} F_{ew} + \omega L
+ [n^2 > \mathrm{LLC}]\,\rho_{mem} F_{ew})/R` by non-negative least squares on relative errors; the
calibration run's fit is the record that :func:`theorem.util.machine.this_machine` reads.  The two
curve fits of :mod:`theorem.numeric.scaling_fits` are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import nnls

from theorem.numeric.scaling_fits import fit_exponent, measured_crossover

__all__ = ["fit_balance", "fit_exponent", "measured_crossover"]

_FIT_METHODS = {"csq-quadratic": ("quadratic", False), "csq-quadratic-causal": ("quadratic", True),
                "csq-linear": ("linear", False), "csq-linear-causal": ("linear", True)}


def fit_balance(grid, crossover_points=(), n_max: int | None = 8192, llc_bytes: int = 32 * 2**20) -> dict:
    r"""Fit :math:`t = t_0 + [\mathrm{linear}]\,\delta + (F_{mm} + \rho_{q|l} F_{ew} + \omega L
    + [n^2 > \mathrm{LLC}]\,\rho_{mem} F_{ew})/R` to CSQ timings.

    Non-negative least squares on relative errors (each row divided by its time), over the
    bench's grid records (``method, n, seconds_min, matmul, elementwise, loops``) and crossover
    points, sizes up to ``n_max``.  Returns :math:`R` (matmul FLOP/s), :math:`\rho`, :math:`\omega`,
    :math:`\kappa = \delta R`, :math:`\rho_q, \rho_l, \rho_{mem}` and the fit's relative residuals.
    """
    n_llc = math.sqrt(llc_bytes / 4)
    rows = []
    for r in grid:
        if r.get("method") in _FIT_METHODS and r.get("seconds_min") and (n_max is None or r["n"] <= n_max):
            algo = _FIT_METHODS[r["method"]][0]
            rows.append((algo, r["n"], r["seconds_min"], r["matmul"], r["elementwise"], r.get("loops") or 0.0))
    for p in crossover_points:
        if n_max is not None and p["n"] > n_max:
            continue
        for algo in ("quadratic", "linear"):
            if p.get(algo):
                rows.append((algo, p["n"], p[algo], p[f"matmul_{algo}"], p[f"elementwise_{algo}"],
                             p.get(f"loops_{algo}") or 0.0))
    if len(rows) < 7:
        raise ValueError(f"need at least 7 timings to fit the balance, got {len(rows)}")
    t = np.array([r[2] for r in rows])
    lin = np.array([1.0 if r[0] == "linear" else 0.0 for r in rows])
    out_of_cache = np.array([1.0 if r[0] == "quadratic" and r[1] > n_llc else 0.0 for r in rows])
    mm, ew, loops = (np.array([r[i] for r in rows]) for i in (3, 4, 5))
    # columns: t0, δ⁺, δ⁻ (δ may be negative), F_mm, F_ew (quadratic), F_ew (linear), L,
    # F_ew of the quadratic rows whose n×n arrays leave the cache
    x = np.column_stack([np.ones(len(t)), lin, -lin, mm, ew * (1 - lin), ew * lin, loops, ew * out_of_cache])
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls((x / scale) / t[:, None], np.ones(len(t)))
    coef = coef / scale
    t0, dp, dm, a, bq, bl, w, bm = coef
    if a <= 0:
        raise ValueError("the fit gave no matmul term")
    pred = x @ coef
    rel = pred / t - 1.0
    return {
        "flops_per_second": 1.0 / a, "rho_q": bq / a, "rho_l": bl / a, "omega": w / a, "kappa": (dp - dm) / a,
        "rho_mem": bm / a,
        "t0": t0, "llc_bytes": llc_bytes, "points": len(rows), "n_max": n_max,
        "relative_residual_rms": float(np.sqrt(np.mean(rel**2))), "relative_residual_max": float(np.max(np.abs(rel))),
    }
