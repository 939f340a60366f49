"""``pullback_sweep``: the measured dimension of the pulled-back gradient space beside its closed form, over n
and over token families (T1; notebook 01, sections 3 and 4).

Three sweeps, each row one :func:`theorem.numeric.pullback_row.measure_row` (dense Jacobian in float64, numerical
rank with its tolerance and gap, the closed form and its invariants beside it), weights map:

* ``against_n`` — Gaussian tokens, n = 1 … 12, for each kernel and each (d, d_k) of ``configs``
  (``d_k = None``: θ = M, d×d; an int: θ = (W_Q, W_K));
* ``families`` — n = 12, d = 4, θ = M: Gaussian, LayerNorm with and without its affine part, repeated,
  rank-deficient and offset tokens, each kernel;
* ``layernorm_against_n`` — softmax, θ = M, d = 4, n = 2 … 15: Gaussian and LayerNorm tokens with and
  without the affine part (with it, 1 ∈ col X and the dimension is d(d − 1) at every n).

``QUICK`` (CI, seconds): softmax and poly2, d = 3, n ≤ 6, two families.  ``FULL`` (the committed record,
about a minute): the notebook's grid, 168 rows.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.numeric.pullback_row import measure_row
from theorem.util.tokens import TokenSpec

NAME = "pullback_sweep"
DESCRIPTION = "T1: measured dimension of the pulled-back gradient space beside its closed form, over n and token families"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run", "mismatches"]

QUICK: dict[str, Any] = {"kernels": ["softmax", "poly2"], "ns": [1, 2, 3, 4, 5, 6], "configs": [[3, None], [3, 2]],
                         "families": ["gaussian", "layernorm_affine"], "family_shape": [6, 3],
                         "layernorm_ns": [2, 4, 6], "layernorm_d": 3}
FULL: dict[str, Any] = {"kernels": ["softmax", "poly2", "csq"], "ns": list(range(1, 13)),
                        "configs": [[3, None], [5, None], [5, 2]],
                        "families": ["gaussian", "layernorm", "layernorm_affine", "repeated", "low_rank", "offset"],
                        "family_shape": [12, 4], "layernorm_ns": list(range(2, 16)), "layernorm_d": 4}

#: the token seeds of each sweep (as notebook 01 drew them before the sweep became a record)
_SEED_AGAINST_N, _SEED_FAMILIES, _SEED_LAYERNORM = 100, 7, 3
_LAYERNORM_FAMILIES = ("gaussian", "layernorm", "layernorm_affine")


def run(settings: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """The three sweeps of the module doc, with ``settings`` (:data:`QUICK` or :data:`FULL`)."""
    start = time.perf_counter()
    against_n = []
    for kernel in settings["kernels"]:
        for d, dk in settings["configs"]:
            for n in settings["ns"]:
                row = measure_row(TokenSpec(n, d, "gaussian", _SEED_AGAINST_N + n), kernel, {}, "weights", dk)
                against_n.append(row)
            log(f"{kernel}, d = {d}, d_k = {dk}: {len(settings['ns'])} values of n")
    n_fam, d_fam = settings["family_shape"]
    families = [dict(measure_row(TokenSpec(n_fam, d_fam, kind, _SEED_FAMILIES), kernel), family=kind)
                for kind in settings["families"] for kernel in settings["kernels"]]
    log(f"families: {len(families)} rows")
    layernorm = [dict(measure_row(TokenSpec(n, settings["layernorm_d"], kind, _SEED_LAYERNORM), "softmax"), family=kind)
                 for kind in _LAYERNORM_FAMILIES for n in settings["layernorm_ns"]]
    log(f"LayerNorm against n: {len(layernorm)} rows ({time.perf_counter() - start:.1f} s)")
    return {"against_n": against_n, "families": families, "layernorm_against_n": layernorm}


def mismatches(result: dict[str, Any]) -> list[dict]:
    """The rows of ``result`` whose well-defined measurement (rank status ok, closed form valid) differs from
    the closed form."""
    rows = [r for part in result.values() for r in part]
    return [r for r in rows if r["rank_status"] == "ok" and r["prediction_valid"] and r["measured"] != r["predicted"]]
