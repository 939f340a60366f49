r"""Hedgehog-style exp feature attention (Zhang et al. 2024), with a learnable feature matrix.

.. math::

    \phi_W(x) = \big[\operatorname{softmax}(xW),\ \operatorname{softmax}(-xW)\big] \in \mathbb{R}^{2m}_{>0},
    \qquad T_{ij} = \phi_W(q_i)\cdot\phi_W(k_j),\qquad A_{ij} = T_{ij}/\textstyle\sum_{j'} T_{ij'},

with ``W`` a :math:`d_k\times m` *feature matrix* (the softmax runs over the :math:`m` feature coordinates of
one token; the feature dimension is :math:`D = 2m`).  The exponentials are what Zhang et al. 2024 use to
restore the "spiky", dot-product-monotone weights of softmax that elu+1 lacks: for :math:`W = w\,I` and
large :math:`w` the weights concentrate on the keys sharing the query's dominant coordinate.  Whether they
restore monotonicity *in a trained model* is what the experiment ``matching_causal`` measures.

**Feature parameters.**  ``W`` is the one kernel in the package with parameters of its own: the training
harness gets them from :meth:`HedgehogExp.init_feature_params` (identity, :math:`m = d_k`: no random key is
drawn, so every other parameter of a model is initialised exactly as for the other kernels), stores them in
each layer's parameters, and :meth:`HedgehogExp.bind` returns the kernel with a given ``W`` (traced values
allowed).  The unbound kernel (``W = None``) uses the identity.  ``W`` does not enter equality or hashing: a
bound kernel compares equal to the unbound one (they are the same *kind* of kernel).

Not a score kernel (:math:`T` is no function of :math:`qk^\top`); :math:`\log T_{ij} = \operatorname{logsumexp}_p
(\log\phi_p(q_i) + \log\phi_p(k_j))` with :math:`\log\phi` from ``log_softmax``: finite for any finite input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels.base import In, Kernel, LinearForm, UnknownKernelError, mask_neg_inf, mask_zero
from theorem.kernels.features import FeatureKernel

__all__ = ["HedgehogExp", "ExpFeatures", "log_exp_features", "exp_features"]


def _matrix(w: Any, dk: int, dtype) -> Array:
    return jnp.eye(dk, dtype=dtype) if w is None else jnp.asarray(w, dtype=dtype)


def log_exp_features(x: Float[In, "*b n dk"], w: Float[In, "dk m"] | None = None) -> Float[Array, "*b n D"]:
    r""":math:`\log\phi_W(x) = [\operatorname{log\_softmax}(xW), \operatorname{log\_softmax}(-xW)]` (``w=None``: :math:`W = I`)."""
    x = jnp.asarray(x)
    z = x @ _matrix(w, x.shape[-1], x.dtype)
    return jnp.concatenate([jax.nn.log_softmax(z, axis=-1), jax.nn.log_softmax(-z, axis=-1)], axis=-1)


def exp_features(x: Float[In, "*b n dk"], w: Float[In, "dk m"] | None = None) -> Float[Array, "*b n D"]:
    r""":math:`\phi_W(x) = [\operatorname{softmax}(xW), \operatorname{softmax}(-xW)]`, every entry in (0, 1)."""
    x = jnp.asarray(x)
    z = x @ _matrix(w, x.shape[-1], x.dtype)
    return jnp.concatenate([jax.nn.softmax(z, axis=-1), jax.nn.softmax(-z, axis=-1)], axis=-1)


@dataclass(frozen=True)
class ExpFeatures(FeatureKernel):
    r"""The linear form of :class:`HedgehogExp`: one part, :math:`\phi_W(q)` and :math:`\phi_W(k)` (no offset)."""

    w: Any = field(default=None, compare=False, repr=False)

    def query_parts(self, q, e):
        return (exp_features(q, self.w),)

    def key_parts(self, k):
        return (exp_features(k, self.w),)

    def pair_weights(self, q, k, e, query_parts, key_parts):
        return query_parts[0] @ jnp.swapaxes(key_parts[0], -1, -2)

    def part_dims(self, dk):
        return (2 * (dk if self.w is None else int(self.w.shape[-1])),)


@dataclass(frozen=True)
class HedgehogExp(Kernel):
    r""":math:`T_{ij} = \phi_W(q_i)\cdot\phi_W(k_j)`, :math:`\phi_W = [\operatorname{softmax}(xW), \operatorname{softmax}(-xW)]`."""

    name: str = field(init=False, default="hedgehog")
    is_score_kernel: bool = field(init=False, default=False)
    w: Any = field(default=None, compare=False, repr=False)

    # --- feature parameters ------------------------------------------------------------------
    def init_feature_params(self, dk: int) -> dict[str, Array]:
        r"""The initial feature parameters of one head: ``{"w": I_{d_k}}`` (deterministic)."""
        return {"w": jnp.eye(dk)}

    def bind(self, params: dict[str, Array] | None) -> "HedgehogExp":
        """The kernel with feature matrix ``params["w"]`` (``None``: this kernel unchanged)."""
        return self if params is None else HedgehogExp(w=params["w"])

    # --- the weight function -------------------------------------------------------------------
    def unnormalized_qk(self, q, k, causal=False):
        return mask_zero(exp_features(q, self.w) @ jnp.swapaxes(exp_features(k, self.w), -1, -2), causal)

    def log_unnormalized_qk(self, q, k, causal=False):
        pairs = log_exp_features(q, self.w)[..., :, None, :] + log_exp_features(k, self.w)[..., None, :, :]
        return mask_neg_inf(jax.nn.logsumexp(pairs, axis=-1), causal)

    def weights_from_scores(self, scores, causal=False):
        raise UnknownKernelError(
            "hedgehog: the exp-feature kernel is not a function of the scores; use the factorized "
            "parametrization (W_Q, W_K), e.g. --dk"
        )

    def log_weights_from_scores(self, scores, causal=False):
        return self.weights_from_scores(scores, causal)

    def features(self, q, k):
        return exp_features(q, self.w), exp_features(k, self.w)

    def feature_dim(self, dk):
        return 2 * (dk if self.w is None else int(jnp.shape(self.w)[-1]))

    def linear_form(self, q, k, causal=False):
        q = jnp.asarray(q)
        return LinearForm(ExpFeatures(self.w), q, jnp.asarray(k), jnp.zeros(q.shape[:-1], q.dtype))

    def describe(self) -> str:
        return self.name if self.w is None else f"{self.name}(learned W, m={int(jnp.shape(self.w)[-1])})"
