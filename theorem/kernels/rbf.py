r"""The scaled RBF softmax: :math:`A_{ij} = \operatorname{softmax}_j\big(-\lVert q_i-k_j\rVert^2/(2\sqrt{d_k})\big)`.

By the identity

.. math:: -\frac{\lVert q_i-k_j\rVert^2}{2\sqrt{d_k}} = S_{ij} - \frac{\lVert q_i\rVert^2}{2\sqrt{d_k}}
          - \frac{\lVert k_j\rVert^2}{2\sqrt{d_k}},

(the query term is constant along a row, so softmax drops it) this is softmax attention with the
key-norm term :math:`\lVert k_j\rVert^2/(2\sqrt{d_k})` removed from the scores.  It is not a function
of :math:`S` alone (it needs the key norms), so it has no ``weights_from_scores``.  The row
normalization is softmax's own (:class:`~theorem.kernels.Softmax` on the RBF scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels.base import In, Kernel
from theorem.kernels.softmax import Softmax

__all__ = ["ScaledRBFSoftmax"]


@dataclass(frozen=True)
class ScaledRBFSoftmax(Kernel):
    r"""Scaled RBF softmax (see the module docstring)."""

    name: str = field(init=False, default="rbf")
    is_score_kernel: bool = field(init=False, default=False)

    @staticmethod
    def rbf_scores(q: Float[In, "*b m dk"], k: Float[In, "*b n dk"]) -> Float[Array, "*b m n"]:
        r""":math:`-\lVert q_i-k_j\rVert^2/(2\sqrt{d_k})`, computed from differences (no cancellation)."""
        diff = jnp.asarray(q)[..., :, None, :] - jnp.asarray(k)[..., None, :, :]
        return -jnp.sum(diff * diff, axis=-1) / (2.0 * math.sqrt(q.shape[-1]))

    def unnormalized_qk(self, q, k, causal=False):
        return Softmax().unnormalized(self.rbf_scores(q, k), causal=causal)

    def log_unnormalized_qk(self, q, k, causal=False):
        return Softmax().log_unnormalized(self.rbf_scores(q, k), causal=causal)

    def weights(self, q, k, causal=False):
        return Softmax().weights_from_scores(self.rbf_scores(q, k), causal=causal)

    def log_weights(self, q, k, causal=False):
        return Softmax().log_weights_from_scores(self.rbf_scores(q, k), causal=causal)

    def weights_from_scores(self, scores, causal=False):
        raise ValueError("rbf: the scaled RBF softmax needs the key norms, not only the scores; call weights(q, k)")

    def log_weights_from_scores(self, scores, causal=False):
        return self.weights_from_scores(scores, causal)
