r"""Linear attention (Katharopoulos et al. 2020): :math:`T_{ij} = \phi(q_i)\cdot\phi(k_j)`, :math:`\phi = \mathrm{elu}+1`.

A feature kernel, not a score kernel: :math:`T` is not a function of :math:`S = qk^\top/\sqrt{d_k}` (there is
no :math:`1/\sqrt{d_k}` and no :math:`M = W_Q W_K^\top` form).  :math:`\phi` is
:func:`~theorem.kernels.features.elu_plus_one` (no cancellation); :math:`\log T_{ij} =
\operatorname{logsumexp}_a(\log\phi(q_{ia}) + \log\phi(k_{ja}))`, finite for any finite input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels.base import In, Kernel, LinearForm, UnknownKernelError, mask_neg_inf, mask_zero
from theorem.kernels.features import EluFeatures, elu_plus_one, log_elu_plus_one

__all__ = ["LinearElu"]


@dataclass(frozen=True)
class LinearElu(Kernel):
    """Linear attention with feature map ``φ(x) = elu(x) + 1`` (Katharopoulos et al. 2020)."""

    name: str = field(init=False, default="linear")
    is_score_kernel: bool = field(init=False, default=False)

    @staticmethod
    def feature_map(x: Float[In, "*b n dk"]) -> Float[Array, "*b n dk"]:
        """``φ(x) = elu(x) + 1`` (:func:`~theorem.kernels.features.elu_plus_one`)."""
        return elu_plus_one(x)

    def unnormalized_qk(self, q, k, causal=False):
        return mask_zero(elu_plus_one(q) @ jnp.swapaxes(elu_plus_one(k), -1, -2), causal)

    def log_unnormalized_qk(self, q, k, causal=False):
        pairs = log_elu_plus_one(q)[..., :, None, :] + log_elu_plus_one(k)[..., None, :, :]
        return mask_neg_inf(jax.nn.logsumexp(pairs, axis=-1), causal)

    def weights_from_scores(self, scores, causal=False):
        raise UnknownKernelError(
            "linear: the elu+1 kernel is not a function of the scores; use the factorized "
            "parametrization (W_Q, W_K), e.g. --dk"
        )

    def log_weights_from_scores(self, scores, causal=False):
        return self.weights_from_scores(scores, causal)

    def features(self, q, k):
        return elu_plus_one(q), elu_plus_one(k)

    def feature_dim(self, dk):
        return dk

    def linear_form(self, q, k, causal=False):
        return LinearForm(EluFeatures(), q, k, jnp.zeros(q.shape[:-1], q.dtype))
