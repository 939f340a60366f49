r"""The low-rank bottleneck (claim R4), measured by optimization.

With head dimension :math:`d_k < n`, which :math:`n\times n` attention patterns can one head
realise?  Here the head is given every freedom the bottleneck allows: free queries and keys
:math:`Q, K \in \mathbb{R}^{n\times d_k}` (as if the tokens were the identity and the
projections arbitrary), scores :math:`S = QK^\top/\sqrt{d_k}` of rank :math:`\le d_k`, weights
from :mod:`theorem.kernels`.  The score range is bounded: every row of :math:`Q` and
:math:`K` has norm :math:`(B\sqrt{d_k})^{1/2}`, so :math:`|S_{ij}| \le B` (bounded entries,
as in Alman & Song 2023; without a bound, argmax-type patterns need no rank at all, see
:func:`circle_construction_error`).

Targets (row-stochastic, :func:`target_pattern`): a random **permutation**; a **banded**
pattern (uniform over :math:`|i-j| \le w`); a **random sparse** pattern (uniform over
``nnz`` random keys per row).  Error: mean over rows of the total variation
:math:`\tfrac12\lVert A_i - A^*_i\rVert_1 \in [0, 1]`, after Adam (optax) on the
cross-entropy :math:`-\sum_j A^*_{ij}\log A_{ij}`; best of a few restarts.

Closed forms beside the measurements:

* :func:`softmax_error_lower_bound` — any rank, :math:`|S| \le B`: a row with :math:`m` target
  keys keeps at least :math:`(n-m)/(m e^{2B} + n - m)` of its mass off them;
* :func:`circle_construction_error` — rank 2 suffices for a permutation when :math:`B` may
  grow: keys on a circle, :math:`q_i` at the angle of key :math:`\pi(i)`, error
  :math:`1 - 1/\sum_{j} e^{B(\cos(2\pi j/n) - 1)}`;
* :func:`log_attention_rank` — :math:`\log A = S - \log Z\,\mathbf 1^\top` has rank
  :math:`\le d_k + 1` (the mechanism behind Bhojanapalli et al. 2020).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels import get_kernel
from theorem.numeric.rank import numerical_rank

jax.config.update("jax_enable_x64", True)

__all__ = [
    "PATTERNS",
    "BOTTLENECK_KERNELS",
    "target_pattern",
    "total_variation",
    "FitResult",
    "fit_patterns",
    "softmax_error_lower_bound",
    "circle_construction_error",
    "log_attention_rank",
    "bottleneck_sweep",
]

PATTERNS = ("permutation", "banded", "sparse")
BOTTLENECK_KERNELS = ("softmax", "csq")


def target_pattern(kind: str, n: int, *, seed: int = 0, width: int = 1, nnz: int = 3) -> np.ndarray:
    """A row-stochastic ``n×n`` target: ``permutation``, ``banded`` (|i−j| ≤ width) or ``sparse``
    (``nnz`` distinct random keys per row), uniform over each row's support."""
    if kind not in PATTERNS:
        raise ValueError(f"kind: unknown pattern {kind!r}; choose one of {', '.join(PATTERNS)}")
    if n < 2:
        raise ValueError(f"n: need n ≥ 2, got {n}")
    rng = np.random.default_rng(seed)
    support = np.zeros((n, n), dtype=bool)
    if kind == "permutation":
        support[np.arange(n), rng.permutation(n)] = True
    elif kind == "banded":
        if width < 0:
            raise ValueError(f"width: must be ≥ 0, got {width}")
        idx = np.arange(n)
        support = np.abs(idx[:, None] - idx[None, :]) <= width
    else:
        if not 1 <= nnz <= n:
            raise ValueError(f"nnz: must be in 1..n={n}, got {nnz}")
        for i in range(n):
            support[i, rng.choice(n, size=nnz, replace=False)] = True
    return support / support.sum(axis=1, keepdims=True)


def total_variation(a: Float[Array, "... n n"], target: Float[Array, "... n n"]) -> Float[Array, "..."]:
    r"""Mean over rows of :math:`\tfrac12\lVert A_i - A^*_i\rVert_1`."""
    return jnp.mean(0.5 * jnp.sum(jnp.abs(a - target), axis=-1), axis=-1)


def _bounded(u: Float[Array, "n dk"], radius: float) -> Float[Array, "n dk"]:
    return radius * u / jnp.linalg.norm(u, axis=-1, keepdims=True)


@dataclass(frozen=True)
class FitResult:
    """Best error per (kernel, d_k, target) after optimization, and the fitted heads."""

    kernels: tuple[str, ...]
    n: int
    dks: tuple[int, ...]
    bound: float
    errors: np.ndarray  # (kernels, dks, targets): best over restarts
    all_errors: np.ndarray  # (kernels, dks, targets, restarts)
    weights: np.ndarray  # (kernels, dks, targets, n, n) of the best restart
    seconds: float


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
) -> FitResult:
    r"""Fit one head per (kernel, head dimension, target, restart) to each target.

    Queries and keys live in :math:`\mathbb{R}^{n\times D}`, :math:`D = \max d_k`, with the
    coordinates beyond :math:`d_k` masked to zero (so :math:`\operatorname{rank} S \le d_k`)
    and row norms :math:`(B\sqrt{D})^{1/2}`, so :math:`|S_{ij}| \le B` with the kernel's
    own :math:`1/\sqrt{D}`.  One compiled program per call (``vmap`` over head dimensions,
    targets and restarts); Adam with step ``lr`` for ``steps`` steps on the cross-entropy;
    the error reported is the total variation.
    """
    import optax

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
    masks = jnp.asarray([[1.0 if j < dk else 0.0 for j in range(width)] for dk in dks])
    opt = optax.adam(lr)

    def program(kernel):
        def head(params, mask):
            q = _bounded(params["u"] * mask, radius)
            k = _bounded(params["v"] * mask, radius)
            return kernel.weights(q, k)

        def fit_one(target, mask, key):
            ku, kv = jax.random.split(key)
            p0 = {"u": jax.random.normal(ku, (n, width)), "v": jax.random.normal(kv, (n, width))}
            loss = lambda p: -jnp.sum(target * jnp.log(head(p, mask) + 1e-300)) / n  # noqa: E731

            def step(carry, _):
                p, state = carry
                upd, state = opt.update(jax.grad(loss)(p), state, p)
                return (optax.apply_updates(p, upd), state), None

            (p, _), _ = jax.lax.scan(step, (p0, opt.init(p0)), None, length=steps)
            a = head(p, mask)
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
    return FitResult(
        tuple(kernels), n, tuple(dks), bound, np.min(err, axis=-1), err, weights, time.perf_counter() - start
    )


def softmax_error_lower_bound(target: Float[np.ndarray, "n n"], bound: float) -> float:
    r"""Any-rank lower bound on the softmax error with :math:`|S_{ij}| \le B`.

    The total variation of a row is at least its mass off the target support; with
    :math:`m` target keys that mass is at least :math:`(n-m)e^{-B}/(m e^{B} + (n-m)e^{-B})`.
    Averaged over rows.
    """
    target = np.asarray(target, dtype=np.float64)
    n = target.shape[1]
    m = np.sum(target > 0, axis=1)
    return float(np.mean((n - m) / (m * math.exp(2 * bound) + (n - m))))


def circle_construction_error(n: int, bound: float) -> float:
    r"""Error of the rank-2 construction for a permutation, scores :math:`B\cos(\theta_j - \theta_{\pi(i)})`.

    Keys :math:`k_j` on a circle at angles :math:`2\pi j/n`, query :math:`q_i` at the angle of
    key :math:`\pi(i)`: the target gets :math:`1/\sum_{j=0}^{n-1} e^{B(\cos(2\pi j/n)-1)}` of the
    mass, and the error is one minus that.  It tends to 0 as :math:`B \to \infty` for every
    :math:`n`: with an unbounded score range, rank 2 realises any permutation.
    """
    if n < 1 or not bound >= 0:
        raise ValueError(f"n ≥ 1 and bound ≥ 0 required, got n={n}, bound={bound}")
    j = np.arange(n)
    return float(1.0 - 1.0 / np.sum(np.exp(bound * (np.cos(2 * np.pi * j / n) - 1.0))))


def circle_construction_weights(perm: np.ndarray, bound: float) -> np.ndarray:
    """The attention matrix of :func:`circle_construction_error`, computed by the softmax kernel."""
    perm = np.asarray(perm)
    n = perm.size
    if perm.ndim != 1 or n < 1 or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError(f"perm: expected a permutation of 0..n−1, got {perm.tolist()}")
    if not (math.isfinite(bound) and bound >= 0):
        raise ValueError(f"bound: must be a finite number ≥ 0, got {bound}")
    theta = 2 * np.pi * np.arange(n) / n
    keys = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    radius = math.sqrt(bound * math.sqrt(2))
    q, k = radius * keys[perm], radius * keys
    return np.asarray(get_kernel("softmax").weights(jnp.asarray(q), jnp.asarray(k)))


def log_attention_rank(weights: Float[np.ndarray, "n n"]) -> dict[str, Any]:
    r"""Numerical rank of the entrywise :math:`\log A` of a softmax head.

    :math:`\log A_{ij} = S_{ij} - \log Z_i`, so :math:`\log A = S - (\log Z)\mathbf 1^\top`
    has rank :math:`\le \operatorname{rank} S + 1 \le d_k + 1`.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if np.any(weights <= 0):
        raise ValueError("weights: log-rank needs strictly positive weights (a softmax head)")
    res = numerical_rank(np.log(weights))
    return {"rank": res.rank, "status": res.status, "gap": None if np.isinf(res.gap) else res.gap}


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
        fit = fit_patterns(targets, widths, kernels=kernels, bound=bound, steps=steps, restarts=restarts, seed=seed)
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
                        "error": float(fit.errors[ki, di, pi]),
                        "restart_errors": fit.all_errors[ki, di, pi].tolist(),
                        "seconds": fit.seconds / (len(kernels) * len(widths) * len(patterns)),
                    }
                    if kernel_name == "softmax":
                        row["lower_bound"] = softmax_error_lower_bound(targets[pi], bound)
                        lr = log_attention_rank(fit.weights[ki, di, pi])
                        row.update(log_rank=lr["rank"], log_rank_status=lr["status"], log_rank_bound=min(n, dk + 1))
                        if pattern == "permutation" and dk >= 2:
                            row["construction_error"] = circle_construction_error(n, bound)
                    rows.append(row)
    return rows
