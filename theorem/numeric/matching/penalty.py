r"""(e) The matching task the CSQ soft penalty is tried on, and the held-out measurements of a head.

Task: tokens :math:`x_i \sim N(0, I_d)`; query ``i`` must attend to the key
:math:`\arg\max_j x_i^\top B x_j` for a hidden random :math:`B`.  A head is
``{"wq": W_Q, "wk": W_K}`` (:math:`d \times d_k`), scores :math:`S = XW_Q (XW_K)^\top/\sqrt{d_k}`.
The soft penalty is the kernel's own :meth:`theorem.kernels.CSQ.vertex_penalty`; the fit itself is
training (:mod:`theorem.training.penalty_sweep`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from theorem.kernels import CSQ, Kernel
from theorem.numeric.matching.cases import REL_TOL

__all__ = ["PENALTY_KERNELS", "PenaltyRun", "task_batch", "head_qk", "head_scores", "task_losses", "held_out_stats"]

#: kernels the penalty sweep trains (softmax is the reference, trained with λ = 0)
PENALTY_KERNELS = ("csq", "csq-uncentered", "softmax")


@dataclass(frozen=True)
class PenaltyRun:
    """Held-out numbers after training a head with penalty weight ``lam`` from ``seed``."""

    lam: float
    seed: int
    task_loss: float  # held-out NLL of the target key
    target_mass: float  # held-out mean weight on the target key
    below_vertex: float  # held-out fraction of (query, key) with s̃ + c < 0 (CSQ; nan otherwise)
    a_rate: float  # held-out per-pair (a) violation rate
    penalty: float  # held-out penalty value (0 for kernels without a vertex)
    seconds: float  # wall time of the whole sweep, divided by its number of runs
    t_quantiles: tuple[float, ...] = ()  # held-out percentiles 1..99 of t = s̃ + c (CSQ only)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def task_batch(key: Array, batch: int, n: int, d: int, b_matrix: Float[Array, "d d"]) -> tuple[Array, Array]:
    """``batch`` sequences of ``n`` tokens and each query's target key ``argmax_j x_iᵀ B x_j``."""
    x = jax.random.normal(key, (batch, n, d))
    logits = jnp.einsum("bid,de,bje->bij", x, b_matrix, x)
    return x, jnp.argmax(logits, axis=-1)


def head_qk(params: dict[str, Array], x: Float[Array, "b n d"]) -> tuple[Float[Array, "b n dk"], Float[Array, "b n dk"]]:
    """Queries and keys :math:`XW_Q`, :math:`XW_K` per sequence."""
    return x @ params["wq"], x @ params["wk"]


def head_scores(params: dict[str, Array], x: Float[Array, "b n d"]) -> Float[Array, "b n n"]:
    """:math:`S = XW_Q (XW_K)^\\top/\\sqrt{d_k}` per sequence."""
    q, k = head_qk(params, x)
    return jnp.einsum("bid,bjd->bij", q, k) / math.sqrt(params["wq"].shape[-1])


def task_losses(kernel: Kernel, params: dict[str, Array], x: Float[Array, "b n d"], tgt: Int[Array, "b n"]):
    """Mean target NLL, the vertex penalty (0 without a vertex), scores, weights, target weights."""
    s = head_scores(params, x)
    a = jax.vmap(kernel.weights_from_scores)(s)
    picked = jnp.take_along_axis(a, tgt[..., None], axis=-1)[..., 0]
    nll = -jnp.mean(jnp.log(picked + 1e-30))
    pen = kernel.vertex_penalty(s) if isinstance(kernel, CSQ) else jnp.zeros((), dtype=s.dtype)
    return nll, pen, s, a, picked


def held_out_stats(
    kernel: Kernel, params: dict[str, Array], eval_keys: Array, *, batch: int, n: int, d: int, b_matrix: Array
) -> Float[Array, " k"]:
    """``[task_loss, target_mass, below_vertex, a_rate, penalty, t-percentiles 1..99]`` on the held-out batches
    (percentiles only for CSQ; ``below_vertex`` nan without a vertex)."""

    def one_batch(key):
        x, tgt = task_batch(key, batch, n, d, b_matrix)
        nll, pen, s, a, picked = task_losses(kernel, params, x, tgt)
        if isinstance(kernel, CSQ):
            below = jnp.mean(jax.vmap(kernel.shifted_scores)(s) < 0, dtype=s.dtype)
        else:
            below = jnp.asarray(jnp.nan, dtype=s.dtype)
        rev = a[:, :, :, None] < a[:, :, None, :] * (1 - REL_TOL)
        a_rate = jnp.sum((s[:, :, :, None] > s[:, :, None, :]) & rev, dtype=s.dtype) / (batch * n * n * (n - 1) / 2)
        return jnp.stack([nll, jnp.mean(picked), below, a_rate, pen])

    means = jnp.mean(jax.lax.map(one_batch, eval_keys), axis=0)
    if not isinstance(kernel, CSQ):
        return means

    def t_values(key):
        x, _ = task_batch(key, batch, n, d, b_matrix)
        return jax.vmap(kernel.shifted_scores)(head_scores(params, x))

    quantiles = jnp.percentile(jax.lax.map(t_values, eval_keys), jnp.arange(1.0, 100.0))
    return jnp.concatenate([means, quantiles])
