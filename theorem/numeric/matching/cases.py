r"""One query and its keys: the weights a kernel gives them, and the properties (a), (b).

A :class:`MatchingCase` is one fixed query :math:`q \in \mathbb{R}^{d_k}` and keys
:math:`k_1..k_n`; the weights :math:`w_j` are that query's row of :math:`A` (non-causal), computed
by the kernel's own code (:mod:`theorem.kernels`, looked up by label in ``KERNELS``).

* **(a) dot-product monotonicity** — :math:`q\cdot k_i > q\cdot k_j \Rightarrow w_i \ge w_j`;
* **(b) Euclidean matching** — :math:`\lVert q-k_i\rVert < \lVert q-k_j\rVert \Rightarrow w_i \ge w_j`.

A *violation* is a strict reversal, :math:`w_j - w_i > \mathrm{REL\_TOL}\cdot\max_l w_l`, of a pair
whose premise clears a relative margin (:data:`PREMISE_TOL`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels import CSQ, KERNELS, Kernel, Poly2
from theorem.util.precision import float64

__all__ = [
    "REL_TOL",
    "PREMISE_TOL",
    "READINGS_AB",
    "MATCHING_KERNELS",
    "matching_kernel",
    "check_reading",
    "MatchingCase",
    "query_weights",
    "kernel_offsets",
    "vertex_margin",
    "quadratic_order_margin",
    "Reversal",
    "reversal",
]

#: relative tolerance of a reversal: ``w_j − w_i > REL_TOL · max(w)``
REL_TOL = 1e-9
#: relative margin a premise (``s_i > s_j``, ``‖q−k_i‖² < ‖q−k_j‖²``) must clear
PREMISE_TOL = 1e-9

READINGS_AB = ("a", "b")

#: the kernels the matching readings test: :data:`theorem.kernels.KERNELS` itself (one registry)
MATCHING_KERNELS: dict[str, Kernel] = KERNELS


def matching_kernel(name: "str | Kernel") -> Kernel:
    """The kernel labelled ``name`` in :data:`theorem.kernels.KERNELS` (ValueError naming it otherwise); a
    :class:`~theorem.kernels.Kernel` object (a user's own kernel) is returned as it is."""
    if isinstance(name, Kernel):
        return name
    if name not in KERNELS:
        raise ValueError(f"kernel: unknown matching kernel {name!r}; choose one of {', '.join(KERNELS)}")
    return KERNELS[name]


def check_reading(reading: str) -> None:
    """ValueError unless ``reading`` is ``a`` or ``b``."""
    if reading not in READINGS_AB:
        raise ValueError(f"reading: must be 'a' (dot-product monotonicity) or 'b' (Euclidean matching), got {reading!r}")


@dataclass(frozen=True)
class MatchingCase:
    """One query ``q`` (d_k,) and its keys (n, d_k), as float64 arrays."""

    q: np.ndarray
    keys: np.ndarray

    def __post_init__(self) -> None:
        q = np.asarray(self.q, dtype=np.float64)
        keys = np.asarray(self.keys, dtype=np.float64)
        if q.ndim != 1 or q.size == 0:
            raise ValueError(f"q: expected a non-empty 1-D query of length d_k, got shape {q.shape}")
        if keys.ndim != 2 or keys.shape[1] != q.size or keys.shape[0] < 2:
            raise ValueError(f"keys: expected an (n ≥ 2, d_k={q.size}) array, got shape {keys.shape}")
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(keys))):
            raise ValueError("q, keys: NaN or Inf entries")
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "keys", keys)

    @property
    def dk(self) -> int:
        return self.q.size

    @property
    def scores(self) -> np.ndarray:
        r""":math:`s_j = q\cdot k_j/\sqrt{d_k}`."""
        return self.keys @ self.q / math.sqrt(self.dk)

    @property
    def sq_distances(self) -> np.ndarray:
        r""":math:`\lVert q-k_j\rVert^2`."""
        return np.sum((self.keys - self.q) ** 2, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {"q": self.q.tolist(), "keys": self.keys.tolist()}


_JITTED: dict[Any, Callable] = {}


def _row_weights(kernel: Kernel) -> Callable:
    """``kernel.weights`` of one query row, compiled once per kernel and shape.  The kernels take square
    inputs (n queries, n keys); the query is repeated n times (non-causal rows are independent)."""
    if ("w", kernel) not in _JITTED:
        _JITTED[("w", kernel)] = jax.jit(lambda q, k: kernel.weights(jnp.broadcast_to(q, k.shape), k)[0])
    return _JITTED[("w", kernel)]


def _row_shifted_scores(kernel: CSQ) -> Callable:
    """:meth:`theorem.kernels.CSQ.shifted_scores` of one row of scores, compiled once per kernel."""
    if ("t", kernel) not in _JITTED:
        _JITTED[("t", kernel)] = jax.jit(
            lambda s: kernel.shifted_scores(jnp.broadcast_to(s, (s.shape[0], s.shape[0])))[0]
        )
    return _JITTED[("t", kernel)]


@float64
def query_weights(kernel: Kernel, q: Float[np.ndarray, " dk"], keys: Float[np.ndarray, "n dk"]) -> Float[np.ndarray, " n"]:
    """The weights ``w`` (n,) that ``kernel`` gives one query ``q`` over ``keys`` (non-causal, float64)."""
    qj = jnp.asarray(np.asarray(q, dtype=np.float64))
    kj = jnp.asarray(np.asarray(keys, dtype=np.float64))
    return np.asarray(_row_weights(kernel)(qj, kj))


@float64
def kernel_offsets(kernel: Kernel, case: MatchingCase) -> Float[np.ndarray, " n"] | None:
    r"""The quantity a quadratic kernel squares: ``t_j`` (CSQ: :math:`\tilde s_j + c`; poly2: :math:`s_j`).

    ``None`` for the kernels without a vertex (softmax, rbf, linear).
    """
    if isinstance(kernel, CSQ):
        return np.asarray(_row_shifted_scores(kernel)(jnp.asarray(case.scores)))
    if isinstance(kernel, Poly2):
        return np.asarray(case.scores)
    return None


def vertex_margin(kernel: Kernel, case: MatchingCase) -> float:
    """``min_j t_j`` (> 0: every key above the vertex); ``+inf`` for kernels without a vertex."""
    t = kernel_offsets(kernel, case)
    return math.inf if t is None else float(np.min(t))


def quadratic_order_margin(t: Float[np.ndarray, " n"]) -> float:
    r"""Sum of the two smallest ``t``: no pair of a quadratic kernel is reversed iff this is ``≥ 0``.

    For :math:`w_j \propto t_j^2` and :math:`t_i - t_j = s_i - s_j > 0`:
    :math:`t_i^2 - t_j^2 = (t_i - t_j)(t_i + t_j)`, so the pair is reversed iff
    :math:`t_i + t_j < 0`; the smallest pair sum is that of the two smallest entries.
    """
    t = np.sort(np.asarray(t, dtype=np.float64))
    if t.size < 2:
        raise ValueError(f"t: need at least 2 entries, got {t.size}")
    return float(t[0] + t[1])


@dataclass(frozen=True)
class Reversal:
    """The worst reversal of a reading on one case: ``amount = (w_j − w_i)/max w`` for the pair
    ``(i, j)`` where ``i`` is preferred by the premise.  ``amount ≤ REL_TOL``: no violation;
    ``amount = −1`` and ``i = j = −1``: no pair satisfies the premise."""

    amount: float
    i: int
    j: int
    weights: np.ndarray

    @property
    def violated(self) -> bool:
        return self.amount > REL_TOL


def reversal(kernel: Kernel, case: MatchingCase, reading: str) -> Reversal:
    """Worst reversal of reading ``a`` (premise ``s_i > s_j``) or ``b`` (``‖q−k_i‖ < ‖q−k_j‖``)."""
    check_reading(reading)
    w = query_weights(kernel, case.q, case.keys)
    key = case.scores if reading == "a" else -case.sq_distances  # larger is preferred
    scale = 1.0 + np.abs(key)
    prem = (key[:, None] - key[None, :]) > PREMISE_TOL * (scale[:, None] + scale[None, :])
    top = float(np.max(w))
    if not np.any(prem) or not np.isfinite(top) or top <= 0.0:
        return Reversal(-1.0, -1, -1, w)
    rev = np.where(prem, (w[None, :] - w[:, None]) / top, -np.inf)
    i, j = np.unravel_index(int(np.argmax(rev)), rev.shape)
    return Reversal(float(rev[i, j]), int(i), int(j), w)
