r"""The low-rank bottleneck (claim R4), fitted: the best error one head reaches on a target pattern.

The head, the targets, the error and the closed forms are :mod:`theorem.numeric.bottleneck`; this
module fits the head's free queries and keys with the one optax loop
(:func:`theorem.training.loop.fit`, Adam on the cross-entropy :math:`-\tfrac1n\sum_{ij} A^*_{ij}\log A_{ij}`)
and runs the sweep over (kernel, n, d_k, pattern) that the ledger and notebook 03 read.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float

from theorem.kernels import get_kernel
from theorem.numeric.bottleneck import (
    BOTTLENECK_KERNELS,
    PATTERNS,
    bounded_head_weights,
    circle_construction_error,
    log_attention_rank,
    softmax_error_lower_bound,
    target_pattern,
    total_variation,
)
from theorem.training.loop import fit
from theorem.util.precision import float64

__all__ = ["PatternFit", "fit_patterns", "bottleneck_sweep"]


@dataclass(frozen=True)
class PatternFit:
    """Best error per (kernel, d_k, target) after optimization, and the fitted heads."""

    kernels: tuple[str, ...]
    n: int
    dks: tuple[int, ...]
    bound: float
    errors: np.ndarray  # (kernels, dks, targets): best over restarts
    all_errors: np.ndarray  # (kernels, dks, targets, restarts)
    weights: np.ndarray  # (kernels, dks, targets, n, n) of the best restart
    seconds: float


@float64
def fit_patterns(
    targets: Float[np.ndarray, "m n n"],
    dks: tuple[int, ...],
    *,
    kernels: tuple[str, ...] = BOTTLENECK_KERNELS,
    bound: float = 8.0,
    steps: int = 2000,
    lr: float = 0.05,
    restarts: int = 1,
    seed: int = 0,
) -> PatternFit:
    r"""Fit one head per (kernel, head dimension, target, restart) to each target.

    Queries and keys live in :math:`\mathbb{R}^{n\times D}`, :math:`D = \max d_k`, with the
    coordinates beyond :math:`d_k` masked to zero (so :math:`\operatorname{rank} S \le d_k`)
    and row norms :math:`(B\sqrt{D})^{1/2}`, so :math:`|S_{ij}| \le B` with the kernel's
    own :math:`1/\sqrt{D}` (:func:`theorem.numeric.bottleneck.bounded_head_weights`).  One compiled
    program per call (``vmap`` over head dimensions, targets and restarts); Adam with step ``lr``
    for ``steps`` steps on the cross-entropy; the error reported is the total variation.
    """
    for name in kernels:
        if name not in BOTTLENECK_KERNELS:
            raise ValueError(f"kernels: choose from {', '.join(BOTTLENECK_KERNELS)}, got {name!r}")
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 3 or targets.shape[1] != targets.shape[2] or targets.shape[0] < 1:
        raise ValueError(f"targets: expected an (m, n, n) stack, got shape {targets.shape}")
    if np.any(targets < 0) or not np.allclose(targets.sum(axis=-1), 1.0):
        raise ValueError("targets: every row must be a probability vector")
    n = targets.shape[1]
    if not dks or any(not 1 <= dk for dk in dks):
        raise ValueError(f"dks: need head dimensions ≥ 1, got {dks}")
    if not (math.isfinite(bound) and bound > 0):
        raise ValueError(f"bound: must be a finite number > 0, got {bound}")
    if steps < 1 or restarts < 1 or not lr > 0:
        raise ValueError(f"steps ≥ 1, restarts ≥ 1, lr > 0 required (got {steps}, {restarts}, {lr})")
    width = max(dks)
    radius = math.sqrt(bound * math.sqrt(width))
    masks = jnp.asarray([[1.0 if j < dk else 0.0 for j in range(width)] for dk in dks], dtype=jnp.float64)

    def program(kernel):
        def head(params, mask):
            return bounded_head_weights(kernel, params["u"], params["v"], mask, radius)

        def fit_one(target, mask, key):
            ku, kv = jax.random.split(key)
            p0 = {"u": jax.random.normal(ku, (n, width)), "v": jax.random.normal(kv, (n, width))}

            def loss(p):
                return -jnp.sum(target * jnp.log(head(p, mask) + 1e-300)) / n

            a = head(fit(loss, p0, steps=steps, learning_rate=lr).params, mask)
            return total_variation(a, target), a

        over_restarts = jax.vmap(fit_one, in_axes=(None, None, 0))
        over_targets = jax.vmap(over_restarts, in_axes=(0, None, 0))
        return jax.vmap(over_targets, in_axes=(None, 0, None))  # over head dimensions

    keys = jax.random.split(jax.random.PRNGKey(seed), targets.shape[0] * restarts).reshape(
        targets.shape[0], restarts, 2
    )
    programs = [program(get_kernel(name)) for name in kernels]
    run = jax.jit(lambda t, m, k: [p(t, m, k) for p in programs])
    start = time.perf_counter()
    out = run(jnp.asarray(targets), masks, keys)
    err = np.stack([np.asarray(e) for e, _ in out])  # (kernels, dks, targets, restarts)
    a = np.stack([np.asarray(w) for _, w in out])
    best = np.argmin(err, axis=-1)
    weights = np.take_along_axis(a, best[..., None, None, None], axis=3)[:, :, :, 0]
    return PatternFit(
        tuple(kernels), n, tuple(dks), bound, np.min(err, axis=-1), err, weights, time.perf_counter() - start
    )


def bottleneck_sweep(
    ns: tuple[int, ...],
    dks: tuple[int, ...],
    *,
    kernels: tuple[str, ...] = BOTTLENECK_KERNELS,
    patterns: tuple[str, ...] = PATTERNS,
    bound: float = 8.0,
    steps: int = 2000,
    restarts: int = 1,
    full_rank: bool = True,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Best error per (kernel, pattern, n, d_k < n), plus the full-rank baseline (d_k = n) and the
    closed forms (softmax lower bound, rank-2 circle construction for permutations, log-rank)."""
    rows = []
    for n in ns:
        targets = np.stack([target_pattern(p, n, seed=seed) for p in patterns])
        widths = tuple(sorted({dk for dk in dks if dk < n} | ({n} if full_rank else set())))
        res = fit_patterns(targets, widths, kernels=kernels, bound=bound, steps=steps, restarts=restarts, seed=seed)
        for ki, kernel_name in enumerate(kernels):
            for di, dk in enumerate(widths):
                for pi, pattern in enumerate(patterns):
                    row = {
                        "kernel": kernel_name,
                        "pattern": pattern,
                        "n": n,
                        "dk": dk,
                        "full_rank": dk == n,
                        "bound": bound,
                        "steps": steps,
                        "error": float(res.errors[ki, di, pi]),
                        "restart_errors": res.all_errors[ki, di, pi].tolist(),
                        "seconds": res.seconds / (len(kernels) * len(widths) * len(patterns)),
                    }
                    if kernel_name == "softmax":
                        row["lower_bound"] = softmax_error_lower_bound(targets[pi], bound)
                        lr = log_attention_rank(res.weights[ki, di, pi])
                        row.update(log_rank=lr["rank"], log_rank_status=lr["status"], log_rank_bound=min(n, dk + 1))
                        if pattern == "permutation" and dk >= 2:
                            row["construction_error"] = circle_construction_error(n, bound)
                    rows.append(row)
    return rows
