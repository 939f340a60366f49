"""``spans``: what the query–key parameters explore along training and across data (T1, T5; issue 13 §1).

For each (kernel, token family, stream, seed) one teacher–student fit of a head with θ = M
(:func:`theorem.training.spans.trajectory`, the harness's :func:`~theorem.training.loop.fit`) is run and three
spans are measured beside their closed forms (:mod:`theorem.symbolic.spans`, :mod:`theorem.numeric.spans`):

* ``one_point`` — ``dim P(M_0, X_0)``, the pulled-back space at the starting point (closed form
  :func:`theorem.numeric.predicted.predict_rank`);
* ``union`` — ``dim Σ_{t<T} P(M_t, X_t)`` for every trajectory length ``T`` (closed form: softmax and CSQ
  ``r·ρ_∪`` at every T; poly2 ``r² − par``);
* ``grads`` — ``dim span{∇L(M_t; X_t)}_{t<T}``, the gradients met, beside the ceiling ``min(T, union)``;
* ``data`` — ``dim Σ_{i<K} P(M_0, X_i)`` over the first ``K`` matrices of the stream at the starting point
  (closed form: softmax and CSQ ``r·ρ_∪``; poly2 ``r² − 1``).

Streams: ``fresh`` (a new token matrix each step) or ``fixed`` (``X_0`` every step).  Families
(:data:`theorem.numeric.spans.STREAM_FAMILIES`): Gaussian, LayerNorm with one shared affine part (one layer's
γ, β), LayerNorm with a new γ, β per matrix, LayerNorm without affine (rank d − 1: outside the claim's regime).

``QUICK`` (CI, seconds): d = 4, n = 8, 20 steps, softmax and poly2, Gaussian and shared-affine LayerNorm, one
seed.  ``FULL``: d = 4 and 5 (n = 2d), 40 steps, softmax, poly2 and CSQ, every family, both streams, 3 seeds.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import sympy as sp

from theorem.kernels import get_kernel
from theorem.numeric.head import Head
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.numeric.spans import predicted_union, prefix_ranks, prefix_span_ranks, token_stream
from theorem.symbolic.spans import T, gradient_ceiling, span_formula
from theorem.training.spans import trajectory

NAME = "spans"
DESCRIPTION = "T1/T5: span of the gradients met along training and of the pulled-back spaces across data"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "KERNEL_PARAMS", "run", "measure"]

KERNEL_PARAMS: dict[str, dict] = {"softmax": {}, "poly2": {}, "csq": {"shift": 1.0, "center": True}}

QUICK: dict[str, Any] = {"kernels": ["softmax", "poly2"], "families": ["gaussian", "layernorm_affine_shared"],
                         "streams": ["fresh"], "seeds": [0], "shapes": [[8, 4]], "steps": 20, "data_count": 8,
                         "learning_rate": 0.05}
FULL: dict[str, Any] = {"kernels": ["softmax", "poly2", "csq"],
                        "families": ["gaussian", "layernorm_affine_shared", "layernorm_affine", "layernorm"],
                        "streams": ["fresh", "fixed"], "seeds": [0, 1, 2], "shapes": [[8, 4], [10, 5]], "steps": 40,
                        "data_count": 12, "learning_rate": 0.05}


_UNION = sp.Symbol("union")
#: min(T, union) (:func:`theorem.symbolic.spans.gradient_ceiling`), compiled once to a plain function
_CEILING = sp.lambdify((T, _UNION), gradient_ceiling(_UNION))


def _ranks(results) -> dict[str, list]:
    return {"rank": [r.rank for r in results], "status": [r.status for r in results],
            "gap": [None if np.isinf(r.gap) else float(r.gap) for r in results]}


def _in_regime(xs: np.ndarray) -> bool:
    """Every matrix in the claim's regime: d ≥ 2, n > d, rank X = d."""
    n, d = xs.shape[1:]
    return d >= 2 and n > d and all(int(np.linalg.matrix_rank(x)) == d for x in xs)


def measure(kernel: str, family: str, stream: str, seed: int, n: int, d: int, *, steps: int, data_count: int,
            learning_rate: float) -> dict[str, Any]:
    """One fit and its four spans (module docstring), each measured beside its closed form."""
    start = time.perf_counter()
    kern = get_kernel(kernel, **KERNEL_PARAMS[kernel])
    xs = token_stream(family, max(steps, data_count), n, d, seed)
    tr = trajectory(kern, xs, steps=steps, learning_rate=learning_rate, seed=seed, fixed=stream == "fixed")
    lengths = list(range(1, steps + 1))
    problem = PullbackProblem.from_head(Head(tr["xs"][0], tr["ms"][0], np.eye(d), form="M"), kern)
    one, pred_one = measure_rank(problem, route="dense"), predict_rank(problem)
    union = prefix_ranks(tr["xs"], tr["ms"], kern, lengths)
    union_pred = [predicted_union(kernel, "trajectory", tr["xs"][:t], tr["ms"][:t],
                                  one_point_valid=pred_one.valid)["value"] for t in lengths]
    ceiling = [None if u is None else int(_CEILING(t, u)) for t, u in zip(lengths, union_pred)]
    grads = prefix_span_ranks(tr["grads"], lengths)
    counts = list(range(1, data_count + 1))
    data_xs = xs[:data_count]
    data = prefix_ranks(data_xs, [tr["ms"][0]] * data_count, kern, counts)
    data_pred = [predicted_union(kernel, "data", data_xs[:k], [tr["ms"][0]] * k, one_point_valid=pred_one.valid)
                 for k in counts]
    return {
        "kernel": kernel, "family": family, "stream": stream, "seed": seed, "n": n, "d": d, "steps": steps,
        "d_squared": d * d, "in_regime": _in_regime(xs[: max(steps, data_count)]),
        "one_point": {"rank": one.rank.rank, "status": one.rank.status, "predicted": pred_one.rank,
                      "formula": pred_one.formula, "valid": pred_one.valid},
        "lengths": lengths, "union": _ranks(union), "union_predicted": union_pred,
        "union_formula": str(span_formula(kernel, "trajectory")),
        "grads": _ranks(grads), "grads_ceiling": ceiling,
        "data_counts": counts, "data": _ranks(data), "data_predicted": [p["value"] for p in data_pred],
        "data_formula": str(span_formula(kernel, "data")), "data_invariants": data_pred[-1]["invariants"],
        "loss_first": float(tr["losses"][0]), "loss_last": float(tr["losses"][-1]), "diverged": tr["diverged"],
        "seconds": round(time.perf_counter() - start, 3),
    }


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """``{"rows": [...]}``, one per (shape, kernel, family, stream, seed) (:func:`measure`)."""
    rows = []
    for n, d in settings["shapes"]:
        for kernel in settings["kernels"]:
            for family in settings["families"]:
                for stream in settings["streams"]:
                    for seed in settings["seeds"]:
                        row = measure(kernel, family, stream, seed, n, d, steps=settings["steps"],
                                      data_count=settings["data_count"], learning_rate=settings["learning_rate"])
                        rows.append(row)
                        log(f"n={n} d={d} {kernel} {family} {stream} seed {seed}: one point {row['one_point']['rank']}, "
                            f"union at T={row['steps']} {row['union']['rank'][-1]} (closed form "
                            f"{row['union_predicted'][-1]}), gradients met {row['grads']['rank'][-1]}, across data "
                            f"{row['data']['rank'][-1]} (closed form {row['data_predicted'][-1]})")
    return {"rows": rows}
