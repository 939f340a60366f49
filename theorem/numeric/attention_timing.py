r"""Timing the attention methods: the method registry, the interleaved timer, and each method's counts.

Methods (float32, one head, jit-compiled ahead of time and warmed up):

* ``softmax-jnp`` — ``attention(kernel="softmax")``, the jnp reference, :math:`O(n^2 d)`;
* ``softmax-dpa`` — ``jax.nn.dot_product_attention`` (XLA);
* ``csq-quadratic``, ``csq-quadratic-causal`` — CSQ through the :math:`n\times n` weights;
* ``csq-linear``, ``csq-linear-causal`` — the exact linear form (chunked when causal).

:func:`measure` times several methods at one size with their calls interleaved round by round (so a
change of the machine's load hits them alike) and keeps every call's time; the minimum is reported.
:func:`cost_counts` gives each method's operation count (:mod:`theorem.symbolic.flops`) at the chunk
and block the implementation uses (:mod:`theorem.util.tiling`).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from theorem.attention import attention
from theorem.numeric.process_memory import peak_rss_of_call
from theorem.symbolic import flops as fl
from theorem.util.tiling import default_block, optimal_chunk

__all__ = ["Method", "METHODS", "Timing", "inputs", "compile_method", "time_interleaved", "measure",
           "matmul_rate", "cost_counts", "predicted_quadratic_temp", "settle_after", "SETTLE_SECONDS",
           "state_emit_fraction"]


@dataclass(frozen=True)
class Method:
    """One timed program: its cost-model kernel, algorithm (``quadratic | linear | dpa``), mask and label."""

    name: str
    kernel: str
    algorithm: str
    causal: bool
    label: str

    def fn(self) -> Callable:
        """The program ``(q, k, v) -> output`` of this method."""
        causal = self.causal
        if self.algorithm == "dpa":
            def f(q, k, v):
                out = jax.nn.dot_product_attention(q[None, :, None, :], k[None, :, None, :], v[None, :, None, :],
                                                   is_causal=causal)
                return out[0, :, 0, :]
            return f
        kernel, algorithm = ("softmax" if self.kernel == "softmax" else "csq"), self.algorithm

        def g(q, k, v):
            return attention(q, k, v, kernel=kernel, causal=causal, algorithm=algorithm)
        return g


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("softmax-jnp", "softmax", "quadratic", False, "softmax, jnp reference"),
        Method("softmax-dpa", "softmax", "dpa", False, "softmax, jax.nn.dot_product_attention"),
        Method("csq-quadratic", "csq", "quadratic", False, "CSQ quadratic"),
        Method("csq-quadratic-causal", "csq", "quadratic", True, "CSQ quadratic, causal"),
        Method("csq-linear", "csq", "linear", False, "CSQ linear"),
        Method("csq-linear-causal", "csq", "linear", True, "CSQ linear, causal (chunked)"),
    )
}


@dataclass
class Timing:
    """One method at one size: the timed calls (seconds), the XLA buffer sizes, or why it was skipped."""

    method: str
    n: int
    dk: int
    dv: int
    seconds: list[float]
    temp_bytes: int | None = None
    argument_bytes: int | None = None
    output_bytes: int | None = None
    skipped: str | None = None
    peak_rss_bytes: int | None = None

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "n": self.n, "dk": self.dk, "dv": self.dv,
            "seconds_min": self.best, "seconds_median": statistics.median(self.seconds) if self.seconds else None,
            "seconds": self.seconds, "temp_bytes": self.temp_bytes, "argument_bytes": self.argument_bytes,
            "output_bytes": self.output_bytes, "skipped": self.skipped, "peak_rss_bytes": self.peak_rss_bytes,
        }


def inputs(n: int, dk: int, dv: int, seed: int = 0):
    """LayerNorm-scale float32 inputs: entries of q, k, v drawn N(0, 1)."""
    rng = np.random.default_rng(seed + 7919 * n + dk)
    q, k = (jnp.asarray(rng.standard_normal((n, dk)), jnp.float32) for _ in range(2))
    v = jnp.asarray(rng.standard_normal((n, dv)), jnp.float32)
    return q, k, v


def compile_method(name: str, n: int, dk: int, dv: int):
    """The AOT-compiled program of a method at one size, its XLA memory analysis, and its inputs."""
    if name not in METHODS:
        raise ValueError(f"method: unknown {name!r}; choose one of {', '.join(METHODS)}")
    args = inputs(n, dk, dv)
    compiled = jax.jit(METHODS[name].fn()).lower(*args).compile()
    return compiled, compiled.memory_analysis(), args


def predicted_quadratic_temp(n: int) -> int:
    """A lower bound on a quadratic program's temporaries: one n×n float32 array."""
    return 4 * n * n


#: seconds to wait after a multi-threaded n×n program before the next timed call: right after one, XLA's
#: CPU runtime runs the next call ~20× slower for a few hundred ms (issue 15: 378 ms against 17 ms)
SETTLE_SECONDS = 0.4
#: a quadratic program at n ≥ this is multi-threaded and gets the pause after it
SETTLE_MIN_N = 1024


def settle_after(name: str, n: int) -> float:
    """The pause after a timed call of method ``name`` at ``n``: SETTLE_SECONDS after an n×n program
    (quadratic or dot_product_attention) at n ≥ SETTLE_MIN_N, none after the linear form."""
    return SETTLE_SECONDS if METHODS[name].algorithm != "linear" and n >= SETTLE_MIN_N else 0.0


def time_interleaved(fns: dict[str, Callable], args, *, min_rounds: int, max_rounds: int,
                     min_seconds: float, settle: dict[str, float] | None = None) -> dict[str, list[float]]:
    """Call each program once per round (after one warm-up call each), until every program has
    ``min_rounds`` calls and ``min_seconds`` of timed calls, or ``max_rounds`` rounds.  ``settle[name]``:
    seconds slept (untimed) after each call of ``name``, so that its aftermath is not charged to the next."""
    settle = settle or {}
    for name, f in fns.items():
        jax.block_until_ready(f(*args))
        if settle.get(name):
            time.sleep(settle[name])
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(max_rounds):
        for name, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - t0)
            if settle.get(name):
                time.sleep(settle[name])
        if r + 1 >= min_rounds and all(sum(t) >= min_seconds for t in times.values()):
            break
    return times


def measure(names, n: int, dk: int, dv: int | None = None, *, max_bytes: float = 4 * 2**30,
            min_rounds: int = 3, max_rounds: int = 5, min_seconds: float = 0.01,
            peak_memory: bool = False) -> dict[str, Timing]:
    """Time ``names`` at one size, interleaved; skip programs whose temporaries exceed ``max_bytes``."""
    dv = dv or dk
    out: dict[str, Timing] = {}
    fns = {}
    args = None
    for name in names:
        if METHODS[name].algorithm != "linear" and predicted_quadratic_temp(n) > max_bytes:
            out[name] = Timing(name, n, dk, dv, [], skipped=f"an n×n float32 array alone needs "
                               f"{predicted_quadratic_temp(n) / 2**30:.1f} GiB > --max-gib")
            continue
        compiled, mem, args = compile_method(name, n, dk, dv)
        t = Timing(name, n, dk, dv, [], mem.temp_size_in_bytes, mem.argument_size_in_bytes, mem.output_size_in_bytes)
        if mem.temp_size_in_bytes > max_bytes:
            t.skipped = f"needs {mem.temp_size_in_bytes / 2**30:.1f} GiB of temporaries > --max-gib"
        else:
            fns[name] = compiled
        out[name] = t
    if fns:
        times = time_interleaved(fns, args, min_rounds=min_rounds, max_rounds=max_rounds, min_seconds=min_seconds,
                                 settle={name: settle_after(name, n) for name in fns})
        for name, ts in times.items():
            out[name].seconds = ts
        if peak_memory:
            for name, f in fns.items():
                out[name].peak_rss_bytes = peak_rss_of_call(f, args)
    return out


def matmul_rate(size: int = 2048, rounds: int = 5) -> dict[str, Any]:
    """FLOP rate of a square float32 matmul ``size×size @ size×size`` (2·size³ FLOPs), best of ``rounds``."""
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
    b = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
    f = jax.jit(jnp.matmul).lower(a, b).compile()
    times = time_interleaved({"mm": f}, (a, b), min_rounds=rounds, max_rounds=rounds, min_seconds=0.0)["mm"]
    best = min(times)
    return {"size": size, "flops": 2 * size**3, "seconds_min": best, "seconds": times,
            "flops_per_second": 2 * size**3 / best}


def cost_counts(method: str, n: int, dk: int, dv: int) -> dict[str, Any]:
    """The closed-form counts of ``method`` at one size (``matmul, elementwise, flops, loops``) and the
    chunk and block the implementation uses there."""
    m = METHODS[method]
    algo = "quadratic" if m.algorithm == "dpa" else m.algorithm
    c = fl.cost(m.kernel, algo, m.causal)
    chunk = min(optimal_chunk(dk, dv), n)
    block = default_block(n, int(fl.feature_dim("csq", dk)))
    out: dict[str, Any] = c.at(n=n, dk=dk, dv=dv, chunk=chunk, block=block)
    out["loops"] = float(c.loops.subs({fl.N: n, fl.C: chunk, fl.B: block}))
    out["chunk"], out["block"] = chunk, block
    return out


def state_emit_fraction(n: int, dk: int, dv: int, seconds: float | None, matmul_flops_per_second: float) -> float | None:
    """The linear form's FLOP rate, counted as :func:`~theorem.symbolic.flops.state_emit_flops` (4·n·D·(d_v+1),
    symmetric features, 2 per multiply-add, state plus emit) per second, over a square float32 matmul's."""
    if not seconds:
        return None
    return float(fl.state_emit_flops("csq", dk, dv, n)) / seconds / matmul_flops_per_second
