r"""Softmax: :math:`T_{ij} = \exp S_{ij}`, the row Jacobian's null direction :math:`N_i = \mathbf 1` (shift invariance).

Computed with the row maximum subtracted (:math:`T_{ij} = \exp(S_{ij} - \max_{j'} S_{ij'})`, a per-row factor
the weights do not see), so no score overflows; :math:`\log A` by logsumexp, finite where :math:`A` underflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from theorem.kernels.base import Kernel, log_normalize, mask_neg_inf, mask_zero

__all__ = ["Softmax"]


@dataclass(frozen=True)
class Softmax(Kernel):
    r""":math:`A_{ij} = \exp S_{ij} / \sum_{j'\ \mathrm{visible}} \exp S_{ij'}`."""

    name: str = field(init=False, default="softmax")

    def unnormalized(self, scores, causal=False):
        """``exp(S − max_j S)`` over the visible keys (0 where masked)."""
        shifted = self.log_unnormalized(scores, causal=causal)
        return mask_zero(jnp.exp(shifted), causal)

    def log_unnormalized(self, scores, causal=False):
        """``S − max_j S`` (−∞ where masked); the maximum carries ``stop_gradient``."""
        s = mask_neg_inf(scores, causal)
        return s - jax.lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))

    def log_weights_from_scores(self, scores, causal=False):
        return log_normalize(mask_neg_inf(scores, causal))

    def null_direction(self, scores):
        return jnp.ones_like(scores)
