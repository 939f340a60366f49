"""Measurements the cost claims (T7, R1, B1) rest on, each beside the closed form predicting it.

* :func:`equivalence_errors` — linear vs quadratic, float64, values and ``jax.grad``;
* :func:`counted_vs_model` — operations read off the traced program vs :mod:`theorem.symbolic.flops`;
* :func:`grad_counted`, :func:`no_square_arrays` — the same for ``jax.grad``, and the shapes it builds;
* :func:`time_vs_n` / :func:`time_vs_dk` — timings of one method over a sweep, with the fitted
  exponent beside the FLOP model's;
* :func:`crossover_sweep` — CSQ linear vs quadratic over n, the measured :math:`n^*` beside the
  cost model's and the pure FLOP count's.

Timings use :func:`theorem.numeric.attention_timing.measure` (AOT-compiled, warmed up, interleaved,
min of calls).  The equivalence is a float64 statement (:func:`~theorem.util.precision.float64` scopes
it); the counts and timings run in float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from theorem.attention import attention
from theorem.numeric.attention_timing import cost_counts, inputs, measure, time_interleaved
from theorem.numeric.linear_jaxpr import array_shapes, count_flops, square_arrays
from theorem.numeric.scaling_fits import fit_exponent, measured_crossover
from theorem.symbolic.flops import PURE_FLOPS, MachineBalance, cost, crossover_value, this_machine
from theorem.util.precision import float64

__all__ = [
    "equivalence_errors",
    "counted_vs_model",
    "grad_counted",
    "time_vs_n",
    "time_vs_dk",
    "grad_time_vs_n",
    "crossover_sweep",
    "no_square_arrays",
]


def _qkv(n: int, dk: int, dv: int, seed: int, offset: float = 0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, n, dk))
    v = rng.standard_normal((n, dv))
    return q.astype(dtype), (k + offset).astype(dtype), v.astype(dtype)


@float64
def equivalence_errors(cases) -> list[dict]:
    """For each ``(n, dk, dv, causal, chunk, seed)``: max |linear − quadratic| of the outputs and of
    ``jax.grad`` of ⟨w, output⟩ w.r.t. (q, k, v), float64, keys offset by 3 (a shared key mean)."""
    rows = []
    for n, dk, dv, causal, chunk, seed in cases:
        q, k, v = _qkv(n, dk, dv, seed, offset=3.0)
        w = np.random.default_rng(seed + 1).standard_normal((n, dv))

        def loss(q, k, v, algorithm):
            out = attention(q, k, v, kernel="csq", causal=causal, algorithm=algorithm,
                            chunk=chunk if algorithm == "linear" else None)
            return jnp.sum(out * w), out

        (_, oq), gq = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(q, k, v, "quadratic")
        (_, ol), gl = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(q, k, v, "linear")
        out_err = float(jnp.max(jnp.abs(oq - ol)))
        grad_err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(gq, gl))
        grad_ref = max(float(jnp.max(jnp.abs(a))) for a in gq)
        rows.append({"n": n, "dk": dk, "dv": dv, "causal": causal, "chunk": chunk, "output_error": out_err,
                     "grad_error": grad_err, "grad_scale": grad_ref, "eps": float(np.finfo(np.float64).eps)})
    return rows


def counted_vs_model(sizes, kernel: str = "csq", algorithms=("quadratic", "linear")) -> list[dict]:
    """Operations of the traced ``algorithms`` vs the symbolic counts, per size ``(n, dk, dv, causal,
    chunk)`` (``n`` a multiple of ``chunk``; ``chunk`` is also the block)."""
    rows = []
    for n, dk, dv, causal, chunk in sizes:
        x, v = jnp.zeros((n, dk), jnp.float32), jnp.zeros((n, dv), jnp.float32)
        for algo in algorithms:
            m = count_flops(lambda a, b, c: attention(a, b, c, kernel=kernel, causal=causal, algorithm=algo,
                                                      chunk=chunk), x, x, v)
            c = cost(kernel, algo, causal).at(n=n, dk=dk, dv=dv, chunk=chunk, block=chunk)
            rows.append({"n": n, "dk": dk, "dv": dv, "causal": causal, "chunk": chunk, "algorithm": algo,
                         "measured_matmul": m.matmul, "predicted_matmul": c["matmul"],
                         "measured_elementwise": m.elementwise, "predicted_elementwise": c["elementwise"]})
    return rows


def grad_counted(n: int, dk: int, dv: int, causal: bool, chunk: int) -> dict:
    """FLOPs of the forward and of forward+backward (``jax.grad`` w.r.t. q, k, v) of the linear form."""
    x, v = jnp.zeros((n, dk), jnp.float32), jnp.zeros((n, dv), jnp.float32)

    def f(q, k, v):
        return attention(q, k, v, kernel="csq", causal=causal, algorithm="linear", chunk=chunk)

    fwd = count_flops(f, x, x, v)
    both = count_flops(jax.grad(lambda *a: jnp.sum(f(*a)), argnums=(0, 1, 2)), x, x, v)
    return {"n": n, "dk": dk, "dv": dv, "causal": causal, "chunk": chunk, "forward": fwd.total,
            "forward_and_backward": both.total, "ratio": both.total / fwd.total}


def no_square_arrays(n: int, dk: int, dv: int, causal: bool, chunk: int) -> dict:
    """Shapes in the traced linear program (forward, and forward+backward) with two axes ≥ n."""
    x, v = jnp.zeros((n, dk), jnp.float32), jnp.zeros((n, dv), jnp.float32)

    def f(q, k, v):
        return attention(q, k, v, kernel="csq", causal=causal, algorithm="linear", chunk=chunk)

    def g(q, k, v):
        return jax.grad(lambda *a: jnp.sum(f(*a)), argnums=(0, 1, 2))(q, k, v)

    shapes = array_shapes(f, x, x, v)
    biggest = max(shapes, key=lambda s: math.prod(s))
    quad = square_arrays(lambda a, b, c: attention(a, b, c, kernel="csq", causal=causal), n, x, x, v)
    return {"n": n, "dk": dk, "dv": dv, "causal": causal, "chunk": chunk,
            "forward_square": square_arrays(f, n, x, x, v), "backward_square": square_arrays(g, n, x, x, v),
            "largest_array": list(biggest), "quadratic_square": [list(s) for s in quad[:1]]}


def _exponent(xs, ys) -> float:
    return fit_exponent(xs, ys)["exponent"]


def time_vs_n(method: str, ns, dk: int, dv: int | None = None, rounds: int = 5) -> dict:
    """Seconds of ``method`` at each n (min of interleaved calls), the fitted exponent of n and the
    FLOP model's exponent over the same range."""
    dv = dv or dk
    rows = []
    for n in ns:
        t = measure([method], n, dk, dv, min_rounds=3, max_rounds=rounds, min_seconds=0.02)[method]
        rows.append({"n": n, "seconds": t.best, "flops": cost_counts(method, n, dk, dv)["flops"]})
    return {"method": method, "dk": dk, "dv": dv, "rows": rows,
            "exponent": _exponent([r["n"] for r in rows], [r["seconds"] for r in rows]),
            "model_exponent": _exponent([r["n"] for r in rows], [r["flops"] for r in rows])}


def time_vs_dk(method: str, n: int, dks, rounds: int = 5) -> dict:
    """Seconds of ``method`` at each d_k = d_v, the fitted exponent and the FLOP model's."""
    rows = []
    for dk in dks:
        t = measure([method], n, dk, dk, min_rounds=3, max_rounds=rounds, min_seconds=0.02)[method]
        rows.append({"dk": dk, "seconds": t.best, "flops": cost_counts(method, n, dk, dk)["flops"]})
    return {"method": method, "n": n, "rows": rows,
            "exponent": _exponent([r["dk"] for r in rows], [r["seconds"] for r in rows]),
            "model_exponent": _exponent([r["dk"] for r in rows], [r["flops"] for r in rows])}


def grad_time_vs_n(ns, dk: int, causal: bool = False, rounds: int = 5) -> dict:
    """Seconds of ``jax.grad`` (w.r.t. q, k, v) through the linear form at each n, float32, and the exponent."""
    rows = []
    for n in ns:
        args = inputs(n, dk, dk)

        def loss(q, k, v):
            return jnp.sum(attention(q, k, v, kernel="csq", causal=causal, algorithm="linear"))

        g = jax.jit(jax.grad(loss, argnums=(0, 1, 2))).lower(*args).compile()
        f = jax.jit(loss).lower(*args).compile()
        ts = time_interleaved({"grad": g, "fwd": f}, args, min_rounds=3, max_rounds=rounds, min_seconds=0.02)
        rows.append({"n": n, "grad_seconds": min(ts["grad"]), "forward_seconds": min(ts["fwd"])})
    return {"dk": dk, "causal": causal, "rows": rows,
            "exponent": _exponent([r["n"] for r in rows], [r["grad_seconds"] for r in rows]),
            "grad_over_forward": [r["grad_seconds"] / r["forward_seconds"] for r in rows]}


def crossover_sweep(dk: int, ns, causal: bool = False, rounds: int = 5,
                    balance: MachineBalance | None = None) -> dict:
    """CSQ linear vs quadratic over ``ns``: the measured crossover beside the cost model's (``balance``:
    this machine's calibrated one when not given) and the pure FLOP count's."""
    balance = balance or this_machine()
    names = ["csq-quadratic-causal", "csq-linear-causal"] if causal else ["csq-quadratic", "csq-linear"]
    rows = []
    ahead = 0
    for n in ns:
        res = measure(names, n, dk, dk, min_rounds=3, max_rounds=rounds, min_seconds=0.01)
        q, lin = res[names[0]].best, res[names[1]].best
        rows.append({"n": n, "quadratic": q, "linear": lin})
        ahead = ahead + 1 if q > 3 * lin else 0
        if ahead >= 2:
            break
    meas = measured_crossover([r["n"] for r in rows], [r["quadratic"] for r in rows], [r["linear"] for r in rows])
    return {"dk": dk, "causal": causal, "rows": rows, "measured": meas,
            "model_n_star": crossover_value("csq", dk, dk, causal, balance), "model_balance": balance.source,
            "flop_count_n_star": crossover_value("csq", dk, dk, causal, PURE_FLOPS),
            "d_squared": dk * dk}
