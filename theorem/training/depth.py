"""Hypothesis 6.2 probe: can ``L`` stacked quadratic-attention layers fit degree-``2^L`` attention?

**Target** (teacher, drawn from a seed): degree-``p`` polynomial attention (Kacham, Mirrokni,
Zhong 2023), ``O = A_p(X) X W_V*`` with ``(A_p)_ij = s_ij^p / Σ_l s_il^p``,
``s = X W_Q* (X W_K*)ᵀ / √d`` and ``p`` even, on Gaussian tokens ``X`` (n×d), non-causal.

**Student**: ``h₀ = X W_in`` (width ``w``), ``L`` residual layers
``h ← h + A₂(h W_Q, h W_K) h W_V`` with the row-normalized quadratic kernel ``A₂ ∝ s²`` (poly2 from
:mod:`theorem.kernels`), readout ``h W_out``.  For ``w ≥ 2d`` one layer realises the ``p = 2``
target exactly (keep ``X`` in the first ``d`` channels, write ``A₂ X W_V*`` into the next ``d``,
read those out): that control tells whether the optimizer reaches a realizable fit.

**Fit**: :func:`theorem.training.loop.fit` — Adam (cosine-decayed learning rate) on the mean squared error over a training set of sequences, several restarts;
the **residual** is the fraction of the held-out target energy not explained,
``Σ‖Ô − O‖² / Σ‖O‖²`` (0: exact fit, 1: no better than predicting 0), best over restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import get_kernel
from theorem.training._jit import fast_jit
from theorem.training.loop import fit
from theorem.util.executor import map_tasks
from theorem.util.precision import float64

__all__ = ["DepthProbe", "polynomial_attention", "exact_one_layer", "fit_cell", "run_probe", "QUICK_PROBE",
           "FULL_PROBE"]


def polynomial_attention(x, wq, wk, wv, p: int):
    """``A_p(X) X W_V`` for one sequence ``x`` (n×d), ``A_p ∝ s^p`` row-normalized."""
    s = (x @ wq) @ (x @ wk).T / math.sqrt(wq.shape[1])
    t = s**p
    return (t / jnp.sum(t, axis=-1, keepdims=True)) @ x @ wv


@dataclass(frozen=True)
class DepthProbe:
    """Sizes of the probe."""

    n: int = 6
    d: int = 3
    degrees: tuple[int, ...] = (2, 4, 8)
    depths: tuple[int, ...] = (1, 2, 3)
    widths: tuple[int, ...] = (6,)
    train_size: int = 256
    test_size: int = 256
    steps: int = 400
    lr: float = 1e-2
    restarts: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 2 or self.d < 1:
            raise ValueError(f"need n ≥ 2 and d ≥ 1, got n={self.n}, d={self.d}")
        if not self.degrees or any(p < 2 or p % 2 for p in self.degrees):
            raise ValueError(f"degrees must be even integers ≥ 2, got {self.degrees}")
        if not self.depths or any(L < 1 for L in self.depths):
            raise ValueError(f"depths must be ≥ 1, got {self.depths}")
        if not self.widths or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be ≥ 1, got {self.widths}")
        if min(self.train_size, self.test_size, self.steps, self.restarts) < 1:
            raise ValueError("train_size, test_size, steps and restarts must be ≥ 1")


def _teacher(probe: DepthProbe):
    rng = np.random.default_rng(probe.seed)
    d = probe.d
    wq = rng.standard_normal((d, d)) / math.sqrt(d)
    wk = rng.standard_normal((d, d)) / math.sqrt(d)
    wv = rng.standard_normal((d, d)) / math.sqrt(d)
    xs = rng.standard_normal((probe.train_size + probe.test_size, probe.n, d))
    targets = np.stack([
        np.asarray(jax.vmap(lambda x: polynomial_attention(x, wq, wk, wv, p))(jnp.asarray(xs)))
        for p in probe.degrees
    ])  # [degrees, sequences, n, d]
    return jnp.asarray(xs), jnp.asarray(targets)


def _init_student(key, d: int, width: int, depth: int):
    keys = jax.random.split(key, 2 + 3 * depth)
    nrm = lambda k, shape, fan: jax.random.normal(k, shape) / math.sqrt(fan)  # noqa: E731
    return {
        "w_in": nrm(keys[0], (d, width), d),
        "layers": [
            {"w_q": nrm(keys[2 + 3 * i], (width, width), width),
             "w_k": nrm(keys[3 + 3 * i], (width, width), width),
             "w_v": 0.5 * nrm(keys[4 + 3 * i], (width, width), width)}
            for i in range(depth)
        ],
        "w_out": nrm(keys[1], (width, d), width),
    }


def _student(params, x):
    kern = get_kernel("poly2")
    h = x @ params["w_in"]
    for layer in params["layers"]:
        q, k = h @ layer["w_q"], h @ layer["w_k"]
        a = kern.weights_from_scores(q @ k.T / math.sqrt(q.shape[-1]))
        h = h + a @ h @ layer["w_v"]
    return h @ params["w_out"]


def exact_one_layer(wq, wk, wv, width: int) -> dict:
    """Student weights (one layer, ``width ≥ 2d``) that reproduce the ``p = 2`` teacher exactly.

    ``W_in = [I_d, 0]`` keeps ``X`` in the first ``d`` channels; ``W_Q, W_K`` act on those channels
    as the teacher's (the poly2 weights are invariant to the ``1/√w`` vs ``1/√d`` scale);
    ``W_V`` writes ``A X W_V*`` into channels ``d..2d``; ``W_out`` reads them out.
    """
    wq, wk, wv = (np.asarray(a, dtype=np.float64) for a in (wq, wk, wv))
    d = wq.shape[0]
    if width < 2 * d:
        raise ValueError(f"width must be ≥ 2d = {2 * d} for the exact construction, got {width}")
    z = lambda: np.zeros((width, width))  # noqa: E731
    w_in = np.zeros((d, width))
    w_in[:, :d] = np.eye(d)
    w_q, w_k, w_v = z(), z(), z()
    w_q[:d, : wq.shape[1]] = wq
    w_k[:d, : wk.shape[1]] = wk
    w_v[:d, d : 2 * d] = wv
    w_out = np.zeros((width, d))
    w_out[d : 2 * d, :] = np.eye(d)
    as_j = lambda a: jnp.asarray(a)  # noqa: E731
    return {"w_in": as_j(w_in), "layers": [{"w_q": as_j(w_q), "w_k": as_j(w_k), "w_v": as_j(w_v)}],
            "w_out": as_j(w_out)}


def _fit_one_architecture(probe: DepthProbe, xs, targets, depth: int, width: int) -> np.ndarray:
    """Held-out residuals ``[degrees, restarts]`` for one (depth, width)."""
    ntr = probe.train_size

    def residual(params, x, y):
        pred = jax.vmap(lambda s: _student(params, s))(x)
        return jnp.sum((pred - y) ** 2) / jnp.sum(y**2)

    def one_fit(key, y):
        # a non-finite step is skipped (a poly2 row whose scores all vanish is 0/0)
        res = fit(lambda p: residual(p, xs[:ntr], y[:ntr]), _init_student(key, probe.d, width, depth),
                  steps=probe.steps, learning_rate=probe.lr, schedule="cosine", skip_nonfinite=True)
        return residual(res.params, xs[ntr:], y[ntr:])

    keys = jax.random.split(jax.random.PRNGKey(probe.seed + 1000 * depth + width), probe.restarts)
    per_target = jax.vmap(lambda y: jax.vmap(lambda k: one_fit(k, y))(keys))
    res = np.asarray(fast_jit(per_target)(targets))
    return np.where(np.isfinite(res), res, np.inf)


@float64
def fit_cell(task: tuple[DepthProbe, np.ndarray, np.ndarray, int, int]) -> np.ndarray:
    """One cell of the probe, ``(probe, xs, targets, depth, width)`` → residuals ``[degrees, restarts]``: a
    task of :func:`theorem.util.executor.map_tasks`.  The cells are independent (each draws its restarts'
    keys from ``probe.seed``, its depth and its width), so any order of running them gives the same table."""
    probe, xs, targets, depth, width = task
    return _fit_one_architecture(probe, jnp.asarray(xs), jnp.asarray(targets), depth, width)


@float64
def run_probe(probe: DepthProbe, *, workers: int | str | None = 1, address: str | None = None,
              progress=None) -> dict[str, Any]:
    """Residual table ``[degree][depth][width]`` (best over restarts) and every restart's residual
    (``residual_restarts``, non-finite stored as 1e300), with the probe's sizes.

    Each (depth, width) is one task of :func:`theorem.util.executor.map_tasks` (:func:`fit_cell`; the
    teacher's tokens and targets are drawn once, here, and sent with it): in this process with
    ``workers=1``, on Ray with more (or an ``address``), the table the same either way (the workers keep this
    process's XLA threading: under a one-thread Eigen the fits round off differently).  ``progress``
    (``True`` or ``(index, residuals) -> line``) prints a line per finished cell to stderr.

    What the table shows is decided in :mod:`theorem.claims.t8_depth` (``classify_pattern``).
    """
    xs, targets = (np.asarray(a) for a in _teacher(probe))
    cells = [(j, k) for j in range(len(probe.depths)) for k in range(len(probe.widths))]
    tasks = [(probe, xs, targets, probe.depths[j], probe.widths[k]) for j, k in cells]
    # threads=None: the fits round off differently under a one-thread Eigen, so the workers keep ours
    fitted = map_tasks(fit_cell, tasks, workers=workers, address=address, progress=progress or False,
                       label=lambda t: f"depth {t[3]}, width {t[4]}", threads=None)
    restarts = np.full((len(probe.degrees), len(probe.depths), len(probe.widths), probe.restarts), np.inf)
    for (j, k), res in zip(cells, fitted):
        restarts[:, j, k] = res
    table = restarts.min(axis=3)
    result = {
        "n": probe.n, "d": probe.d, "degrees": list(probe.degrees), "depths": list(probe.depths),
        "widths": list(probe.widths), "steps": probe.steps, "restarts": probe.restarts,
        "train_size": probe.train_size, "test_size": probe.test_size,
        "residual": table.tolist(),
        "residual_restarts": np.where(np.isfinite(restarts), restarts, 1e300).tolist(),  # [degree][depth][width][restart]
    }
    return result


QUICK_PROBE = DepthProbe(n=6, d=3, degrees=(2, 4), depths=(1, 2), widths=(6,), train_size=64, test_size=128,
                         steps=400, restarts=8, lr=0.02)
FULL_PROBE = DepthProbe(n=6, d=3, degrees=(2, 4, 8), depths=(1, 2, 3), widths=(6, 12), train_size=64,
                        test_size=256, steps=1000, restarts=8, lr=0.02)
