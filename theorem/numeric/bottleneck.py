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
:math:`\tfrac12\lVert A_i - A^*_i\rVert_1 \in [0, 1]`.  The fits (Adam on the cross-entropy
:math:`-\sum_j A^*_{ij}\log A_{ij}`, best of a few restarts) are training:
:mod:`theorem.training.bottleneck_fit`; this module holds the targets, the head, the error and
the closed forms.

Closed forms beside the measurements (SymPy expressions of :mod:`theorem.symbolic.matching.bottleneck`,
evaluated here):

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
from typing import Any

import jax.numpy as jnp
import numpy as np
import sympy as sp
from jaxtyping import Array, Float

from theorem.kernels import Kernel, get_kernel
from theorem.numeric.rank import numerical_rank
from theorem.symbolic.matching import bottleneck as sb
from theorem.util.precision import float64

__all__ = [
    "PATTERNS",
    "BOTTLENECK_KERNELS",
    "target_pattern",
    "total_variation",
    "bounded_rows",
    "bounded_head_weights",
    "softmax_error_lower_bound",
    "circle_construction_error",
    "circle_construction_weights",
    "log_attention_rank",
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



def bounded_rows(u: Float[Array, "n dk"], radius: float) -> Float[Array, "n dk"]:
    """Each row of ``u`` rescaled to norm ``radius``."""
    return radius * u / jnp.linalg.norm(u, axis=-1, keepdims=True)


def bounded_head_weights(
    kernel: Kernel, u: Float[Array, "n D"], v: Float[Array, "n D"], mask: Float[Array, " D"], radius: float
) -> Float[Array, "n n"]:
    r"""The weights of the head with free queries ``u·mask`` and keys ``v·mask``, rows of norm ``radius``.

    The mask zeroes the coordinates beyond :math:`d_k` (so :math:`\operatorname{rank} S \le d_k`); with
    ``radius`` :math:`= (B\sqrt D)^{1/2}` every score obeys :math:`|S_{ij}| \le B` under the kernel's own
    :math:`1/\sqrt D`.
    """
    return kernel.weights(bounded_rows(u * mask, radius), bounded_rows(v * mask, radius))


_OFF_SUPPORT = sp.lambdify((sb.KEYS, sb.TARGET_KEYS, sb.BOUND), sb.off_support_mass_bound(), modules="numpy")
_CIRCLE = sp.lambdify((sb.KEYS, sb.BOUND), sb.circle_construction_error(), modules="math")


def softmax_error_lower_bound(target: Float[np.ndarray, "n n"], bound: float) -> float:
    r"""Any-rank lower bound on the softmax error with :math:`|S_{ij}| \le B`: the mean over rows of
    :func:`theorem.symbolic.matching.bottleneck.off_support_mass_bound` at each row's number
    :math:`m` of target keys (a row's total variation is at least its mass off the target support)."""
    target = np.asarray(target, dtype=np.float64)
    m = np.sum(target > 0, axis=1)
    return float(np.mean(_OFF_SUPPORT(target.shape[1], m, float(bound))))


def circle_construction_error(n: int, bound: float) -> float:
    r"""Error of the rank-2 construction for a permutation,
    :func:`theorem.symbolic.matching.bottleneck.circle_construction_error` at ``n``, ``B``.

    Keys :math:`k_j` on a circle at angles :math:`2\pi j/n`, query :math:`q_i` at the angle of
    key :math:`\pi(i)`.  It tends to 0 as :math:`B \to \infty` for every :math:`n`: with an
    unbounded score range, rank 2 realises any permutation.
    """
    if n < 1 or not bound >= 0:
        raise ValueError(f"n ≥ 1 and bound ≥ 0 required, got n={n}, bound={bound}")
    return float(_CIRCLE(int(n), float(bound)))


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
