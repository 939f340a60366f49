r"""The cost of training with CSQ's soft penalty, read off the traced programs (T7.b, issue 13 §2).

The penalties are defined in :mod:`theorem.kernels.penalties` (the exact one as reconstructed,
:math:`\operatorname{mean}_{(i,j)} \operatorname{relu}(-(\tilde S_{ij} + c))^2`, and the linear-time candidates:
per-query moments, m sampled keys per query).  Here only their cost: :func:`penalty_profile` traces
``jax.grad`` of a penalty w.r.t. (q, k) at each n and reads off its jaxpr

* the operations of the forward and of forward + backward (:func:`~theorem.numeric.linear_jaxpr.count_flops`),
* the arrays with two axes ≥ n (:func:`~theorem.numeric.linear_jaxpr.square_arrays`), the largest array
  and the number of elements of all arrays the program creates;

:func:`growth_exponent` fits the exponent of n by least squares over every n traced, and
:func:`cost_table` puts the penalties beside the attention's own forward + backward
(:func:`~theorem.numeric.linear_scaling.grad_counted`, the linear form).  Counts, never timings.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import CSQ
from theorem.kernels.penalties import PenaltySpec
from theorem.numeric.linear_jaxpr import array_shapes, count_flops, square_arrays
from theorem.numeric.linear_scaling import grad_counted

__all__ = ["penalty_profile", "growth_exponent", "cost_table", "DEFAULT_SPECS"]

#: the penalties :func:`cost_table` traces by default
DEFAULT_SPECS = (PenaltySpec("exact"), PenaltySpec("moments", kappa=1.0), PenaltySpec("sampled", m=16))


def _spec(spec: PenaltySpec | str) -> PenaltySpec:
    return spec if isinstance(spec, PenaltySpec) else PenaltySpec(spec)


def penalty_profile(spec: PenaltySpec | str, ns, dk: int = 4, causal: bool = False,
                    kernel: CSQ = CSQ()) -> list[dict]:
    """For each n: the penalty's forward and forward+backward operations, its gradient program's arrays
    with two axes ≥ n, its largest array and the elements of all its arrays (float32 zeros, d_k = ``dk``)."""
    spec = _spec(spec)
    key = jax.random.PRNGKey(0)
    rows = []
    for n in ns:
        def f(q, k, spec=spec):
            return spec(kernel, q, k, key, causal)

        x = jnp.zeros((n, dk), jnp.float32)
        grad = jax.grad(f, argnums=(0, 1))
        shapes = array_shapes(grad, x, x)
        rows.append({"penalty": spec.name, "label": spec.label, "n": int(n), "dk": dk, "causal": causal,
                     "m": spec.m if spec.name == "sampled" else None,
                     "kappa": spec.kappa if spec.name == "moments" else None,
                     "forward": count_flops(f, x, x).total, "forward_and_backward": count_flops(grad, x, x).total,
                     "square": [list(s) for s in square_arrays(grad, n, x, x)],
                     "largest_array": list(max(shapes, key=math.prod)),
                     "array_elements": int(sum(math.prod(s) for s in shapes))})
    return rows


def growth_exponent(rows: list[dict], field: str = "forward_and_backward") -> float:
    """Least-squares slope of log ``field`` against log n over every row (1 for linear, 2 for quadratic)."""
    if len(rows) < 2:
        raise ValueError("growth_exponent: need at least two sizes")
    ns = np.log([r["n"] for r in rows])
    return float(np.polyfit(ns, np.log([r[field] for r in rows]), 1)[0])


def cost_table(ns, dk: int = 4, dv: int = 3, specs=DEFAULT_SPECS, causal: bool = False, chunk: int = 64) -> dict:
    """Every penalty's profile and growth exponents (operations, array elements) beside the attention's own
    forward + backward operations at the same n (the linear form, d_v = ``dv``)."""
    attention = [grad_counted(n, dk, dv, causal, chunk) for n in ns]
    penalties = []
    for spec in specs:
        rows = penalty_profile(spec, ns, dk, causal)
        penalties.append({"penalty": spec.name, "label": spec.label, "rows": rows,
                          "ops_exponent": growth_exponent(rows), "elements_exponent": growth_exponent(rows, "array_elements"),
                          "square_arrays": len(rows[-1]["square"])})
    return {"ns": [int(n) for n in ns], "dk": dk, "dv": dv, "causal": causal, "penalties": penalties,
            "attention": attention, "attention_ops_exponent": growth_exponent(attention)}
