r"""The kernel protocol: what a kernel supplies, and everything derived from it.

A kernel turns queries ``q`` (n×d_k) and keys ``k`` (n×d_k) into row-stochastic weights

.. math:: A_{ij} = T_{ij} \big/ \textstyle\sum_{j'} T_{ij'},

where :math:`T \ge 0` is the kernel's *unnormalized weight* (zero for :math:`j > i` when causal).

**What a kernel must supply: the weight function, one method.**

* a *score kernel* (``is_score_kernel = True``: softmax, poly2, CSQ) sees the inputs only through the
  scores :math:`S = q k^\top/\sqrt{d_k}` and implements :meth:`Kernel.unnormalized` ``(scores, causal)``;
* any other kernel (elu+1, the scaled RBF softmax) implements :meth:`Kernel.unnormalized_qk`
  ``(q, k, causal)`` and sets ``is_score_kernel = False``.

**Derived** from it by this base class: :meth:`~Kernel.weights`, :meth:`~Kernel.weights_from_scores`,
:meth:`~Kernel.log_unnormalized` (:math:`\log T`, :math:`-\infty` where :math:`T = 0` or masked),
:meth:`~Kernel.log_weights`, :meth:`~Kernel.log_weights_from_scores`.  A kernel overrides them where the
generic route loses precision (softmax: max shift and logsumexp; the squared kernels: :math:`2\log|u|`
and a per-row rescale before squaring; elu+1: logsumexp over the feature axis).

**Reported unavailable** unless the kernel supplies them: :meth:`~Kernel.features` (``None``: no exact
finite lift :math:`T = \phi_Q\phi_K^\top`), :meth:`~Kernel.feature_dim` (``None``),
:meth:`~Kernel.linear_form` (``None``: no linear-time algorithm), :meth:`~Kernel.null_direction`
(raises :class:`NotImplementedError`).

Every method keeps the dtype of its inputs (float32 in, float32 out, also under
``jax_numpy_dtype_promotion = "strict"``): masks are boolean, constants are Python numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels.features import FeatureKernel, In

__all__ = ["Kernel", "UnknownKernelError", "LinearForm", "In", "visible", "normalize", "scaled_scores"]



class UnknownKernelError(ValueError):
    """Raised for a kernel name or parameter that the registry does not know."""


def visible(n: int, causal: bool):
    """Boolean n×n mask of the keys each query sees (``None`` when every key is visible)."""
    if not causal:
        return None
    return np.tril(np.ones((n, n), dtype=bool))  # a constant: no traced operations


def mask_zero(x: In, causal: bool) -> Array:
    """``x`` with the entries of the keys a query does not see set to 0 (trailing n×n axes)."""
    x = jnp.asarray(x)
    vis = visible(x.shape[-1], causal)
    return x if vis is None else jnp.where(vis, x, 0.0)


def mask_neg_inf(x: In, causal: bool) -> Array:
    """``x`` with the invisible entries set to −∞."""
    x = jnp.asarray(x)
    vis = visible(x.shape[-1], causal)
    return x if vis is None else jnp.where(vis, x, -jnp.inf)


def normalize(t: Float[Array, "*b n m"]) -> Float[Array, "*b n m"]:
    r""":math:`A_{ij} = T_{ij}/\sum_j T_{ij}`."""
    return t / jnp.sum(t, axis=-1, keepdims=True)


def log_normalize(log_t: Float[Array, "*b n m"]) -> Float[Array, "*b n m"]:
    r""":math:`\log A_{ij} = \log T_{ij} - \operatorname{logsumexp}_j \log T_{ij}`."""
    return log_t - jax.nn.logsumexp(log_t, axis=-1, keepdims=True)


def scaled_scores(q: Float[In, "*b n dk"], k: Float[In, "*b m dk"]) -> Float[Array, "*b n m"]:
    r""":math:`S = (q/\sqrt{d_k})\,k^\top`, in the dtype of ``q`` (the scale is applied to ``q``: n·d_k
    multiplications, not n²)."""
    return (q * (1.0 / math.sqrt(q.shape[-1]))) @ jnp.swapaxes(k, -1, -2)


class LinearForm(NamedTuple):
    r"""A kernel's linear-time form: :math:`T_{ij} = \sum_p \phi_p(q'_i, e_i)\cdot\psi_p(k'_j)` with the
    feature map ``features`` (:class:`~theorem.kernels.features.FeatureKernel`), the transformed queries
    ``q`` and keys ``k``, and the per-query offsets ``e`` (zeros for kernels without one)."""

    features: FeatureKernel
    q: Array
    k: Array
    e: Array


@dataclass(frozen=True)
class Kernel:
    """Base class of the kernels: a name and the weight map ``(q, k) ↦ A`` (see the module docstring)."""

    name: str = field(init=False, default="")
    is_score_kernel: bool = field(init=False, default=True)

    # --- what a kernel supplies ----------------------------------------------------------------
    def unnormalized(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        """``T`` as a function of the scores (score kernels supply this; zero where masked)."""
        raise UnknownKernelError(f"{self.name}: not a function of the scores; use unnormalized_qk(q, k)")

    def unnormalized_qk(
        self, q: Float[In, "*b n dk"], k: Float[In, "*b m dk"], causal: bool = False
    ) -> Float[Array, "*b n m"]:
        """``T`` from queries and keys; for a score kernel ``unnormalized(S)`` with :func:`scaled_scores`."""
        return self.unnormalized(scaled_scores(q, k), causal=causal)

    # --- derived --------------------------------------------------------------------------------
    def log_unnormalized(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        r""":math:`\log T` (the same per-row factor as :meth:`unnormalized`); :math:`-\infty` where masked or 0."""
        t = self.unnormalized(scores, causal=causal)
        return jnp.where(t > 0, jnp.log(jnp.where(t > 0, t, 1.0)), -jnp.inf)

    def log_unnormalized_qk(
        self, q: Float[In, "*b n dk"], k: Float[In, "*b m dk"], causal: bool = False
    ) -> Float[Array, "*b n m"]:
        r""":math:`\log T` from queries and keys."""
        if self.is_score_kernel:
            return self.log_unnormalized(scaled_scores(q, k), causal=causal)
        t = self.unnormalized_qk(q, k, causal=causal)
        return jnp.where(t > 0, jnp.log(jnp.where(t > 0, t, 1.0)), -jnp.inf)

    def weights_from_scores(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        """``A_ij = T_ij / Σ_j T_ij`` with ``T = unnormalized(S)`` (zero where masked)."""
        return normalize(self.unnormalized(scores, causal=causal))

    def log_weights_from_scores(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        r""":math:`\log A = \log T - \operatorname{logsumexp}_j \log T` (:math:`-\infty` where masked)."""
        return log_normalize(self.log_unnormalized(scores, causal=causal))

    def weights(
        self, q: Float[In, "*b n dk"], k: Float[In, "*b m dk"], causal: bool = False
    ) -> Float[Array, "*b n m"]:
        """Row-normalized attention weights ``A`` for queries ``q`` and keys ``k``."""
        if self.is_score_kernel:
            return self.weights_from_scores(scaled_scores(q, k), causal=causal)
        return normalize(self.unnormalized_qk(q, k, causal=causal))

    def log_weights(
        self, q: Float[In, "*b n dk"], k: Float[In, "*b m dk"], causal: bool = False
    ) -> Float[Array, "*b n m"]:
        r""":math:`\log A` for queries ``q`` and keys ``k`` (finite where the weight underflows)."""
        return log_normalize(self.log_unnormalized_qk(q, k, causal=causal))

    # --- reported unavailable unless supplied ----------------------------------------------------
    def null_direction(self, scores: Float[In, "*b n m"]) -> Float[Array, "*b n m"]:
        """Rows ``N_i`` spanning the null space of the Jacobian of the row map from the kernel's argument to
        ``A_i`` (non-causal): the scores, or for the centered kernels the centered, shifted scores."""
        raise NotImplementedError(f"{self.name}: no null direction (not a score kernel)")

    def features(self, q: Float[In, "n dk"], k: Float[In, "m dk"]) -> tuple[Array, Array] | None:
        r"""``(φ_Q, φ_K)`` with :math:`T = \phi_Q\phi_K^\top` exactly (non-causal), or ``None`` when the
        kernel has no finite feature map."""
        return None

    def feature_dim(self, dk: int) -> int | None:
        """Width ``D`` of :meth:`features` at head dimension ``dk`` (``None`` when there are none)."""
        return None

    def linear_form(self, q: Float[In, "n dk"], k: Float[In, "n dk"], causal: bool = False) -> LinearForm | None:
        """The inputs of the linear-time algorithms (:mod:`theorem.numeric.csq_linear`), or ``None``."""
        return None

    def init_feature_params(self, dk: int) -> dict[str, Array] | None:
        """The initial parameters of the kernel's own feature map for one head (``None``: it has none; the
        training harness then adds no parameters, see :mod:`theorem.training.model`)."""
        return None

    def bind(self, params: dict[str, Array] | None) -> "Kernel":
        """The kernel with its feature parameters set to ``params`` (a kernel without any: itself)."""
        return self

    @property
    def centers_keys(self) -> bool:
        """True when the kernel sees the scores only after row-centering."""
        return False

    def describe(self) -> str:
        return self.name
