r"""The squared kernels: :math:`T_{ij} = u_{ij}^2`, with :math:`u = S` (poly2) or
:math:`u = S - \bar S + c` (CSQ).

=========  ======================================================  ===============================
kernel     :math:`u_{ij}`                                          feature lift (non-causal)
=========  ======================================================  ===============================
poly2      :math:`S_{ij}`                                          :math:`(\sigma q)^{\otimes 2},\ k^{\otimes 2}`
csq        :math:`S_{ij} - \operatorname{mean}_{j'\in\mathrm{vis}(i)} S_{ij'} + c`
                                                                   :math:`(\sigma q, c)^{\otimes 2},\ (k-\bar k, 1)^{\otimes 2}`
=========  ======================================================  ===============================

:math:`\sigma = 1/\sqrt{d_k}`, :math:`z^{\otimes 2}` = :func:`~theorem.kernels.features.symmetric_square`.
The CSQ centering subtracts from each score the mean score of the keys query :math:`i` sees, which
equals :math:`\sigma q_i\cdot(k_j - \bar k_i)` (all keys, or keys :math:`0..i` when causal).  The CSQ
formula is the project's reconstruction (see ``docs/csq.md``); ``center`` and ``shift`` select the
variants (``CSQ(0, False)`` is poly2).

The weights are invariant to a per-row factor of :math:`u`, so :meth:`SquaredKernel.weights_from_scores`
divides each row of :math:`u` by its largest visible :math:`|u|` before squaring (no overflow at large
scores, no underflow at scores of 1e-300); :math:`\log T = 2\log|u|`.  The null direction of the row map
:math:`u_i \mapsto A_i` is :math:`N_i = u_i` (scale invariance): for poly2 and uncentered CSQ that is the
Jacobian in :math:`S_i`; for centered CSQ it is the Jacobian in the centered, shifted argument
(the centering itself is linear and adds the direction :math:`\mathbf 1`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels.base import In, Kernel, LinearForm, UnknownKernelError, mask_zero, normalize, visible
from theorem.kernels.features import SquaredFeatures, sym2_dim, symmetric_square

__all__ = ["SquaredKernel", "Poly2", "CSQ"]


@dataclass(frozen=True)
class SquaredKernel(Kernel):
    """Base of the kernels ``T = u²``: a subclass supplies :meth:`base` (``u`` from the scores)."""

    def base(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        raise NotImplementedError

    def unnormalized(self, scores, causal=False):
        u = self.base(scores, causal)
        return mask_zero(u * u, causal)

    def weights_from_scores(self, scores, causal=False):
        u = self.base(scores, causal)
        top = jnp.max(mask_zero(jnp.abs(u), causal), axis=-1, keepdims=True)
        r = u / jax.lax.stop_gradient(top)
        return normalize(mask_zero(r * r, causal))

    def log_unnormalized(self, scores, causal=False):
        """``2 log|u|``; −∞ where ``u = 0`` or masked."""
        u = self.base(scores, causal)
        vis = visible(u.shape[-1], causal)
        keep = u != 0 if vis is None else (u != 0) & vis
        return jnp.where(keep, 2.0 * jnp.log(jnp.where(keep, jnp.abs(u), 1.0)), -jnp.inf)

    def null_direction(self, scores):
        return self.base(scores)


@dataclass(frozen=True)
class Poly2(SquaredKernel):
    """``T_ij = S_ij²``: the row-normalized degree-2 polynomial kernel."""

    name: str = field(init=False, default="poly2")

    def base(self, scores, causal=False):
        return jnp.asarray(scores)

    def features(self, q, k):
        qs = q * (1.0 / math.sqrt(q.shape[-1]))
        return symmetric_square(qs), symmetric_square(k)

    def feature_dim(self, dk):
        return sym2_dim(dk)

    def linear_form(self, q, k, causal=False):
        qs = q * (1.0 / math.sqrt(q.shape[-1]))
        return LinearForm(SquaredFeatures(lower_order=False), qs, k, jnp.zeros(q.shape[:-1], q.dtype))


@dataclass(frozen=True)
class CSQ(SquaredKernel):
    """Centered, shifted quadratic kernel ``T_ij = (S_ij − S̄_i + c)²`` (reconstruction).

    ``center=False`` drops the centering, ``shift=0`` the shift (``CSQ(0, False)`` is poly2).
    """

    shift: float | Array = 1.0  # a JAX scalar (or tracer) when the shift is fitted by gradient
    center: bool = True
    name: str = field(init=False, default="csq")

    def __post_init__(self) -> None:
        if isinstance(self.shift, jax.core.Tracer):
            return  # a traced shift (fitted by gradient, inside jit/grad): its value is not known here
        if not math.isfinite(self.shift) or self.shift < 0:
            raise UnknownKernelError(f"csq: shift must be a finite number ≥ 0, got {self.shift}")

    def shifted_scores(self, scores: Float[In, "*b n m"], causal: bool = False) -> Float[Array, "*b n m"]:
        """``S̃_ij + c`` where ``S̃_ij = S_ij − mean_{j'∈vis(i)} S_ij'`` (or ``S_ij`` uncentered)."""
        scores = jnp.asarray(scores)
        if self.center:
            n = scores.shape[-1]
            if causal:
                counts = np.arange(1, n + 1, dtype=scores.dtype)[:, None]  # a constant
                scores = scores - jnp.sum(mask_zero(scores, True), axis=-1, keepdims=True) / counts
            else:
                scores = scores - jnp.mean(scores, axis=-1, keepdims=True)
        return scores + self.shift

    def base(self, scores, causal=False):
        return self.shifted_scores(scores, causal)

    def vertex_penalty(self, scores: Float[In, "... n"], causal: bool = False) -> Float[Array, ""]:
        r"""The soft penalty (reconstruction): :math:`\operatorname{mean}_{(i,j)\ \mathrm{visible}}
        \operatorname{relu}(-(\tilde S_{ij} + c))^2`.

        Zero exactly when every visible key is at or above the parabola's vertex
        (:math:`\tilde S + c \ge 0`, where the weight grows with the score), quadratic below it, C¹.
        The paper's form is not public; this squared hinge is the project's one definition, used by
        the matching readings and the training harness.  Non-causal: any leading shape (``… × n``).
        """
        below = jax.nn.relu(-self.shifted_scores(scores, causal=causal)) ** 2
        if not causal:
            return jnp.mean(below)
        n = scores.shape[-1]
        seen = n * (n + 1) // 2 * (below.size // (n * n))
        return jnp.sum(mask_zero(below, True)) / seen

    def features(self, q, k):
        """``(σq, c)⊗², (k − k̄, 1)⊗²``; without a shift (``c = 0``) the minimal lift ``(σq)⊗², (k − k̄)⊗²``."""
        dk = q.shape[-1]
        qs = q * (1.0 / math.sqrt(dk))
        kc = k - jnp.mean(k, axis=-2, keepdims=True) if self.center else k
        if self._unshifted:
            return symmetric_square(qs), symmetric_square(kc)
        xq = jnp.concatenate([qs, jnp.full(q.shape[:-1] + (1,), self.shift, q.dtype)], axis=-1)
        xk = jnp.concatenate([kc, jnp.ones(k.shape[:-1] + (1,), k.dtype)], axis=-1)
        return symmetric_square(xq), symmetric_square(xk)

    def feature_dim(self, dk):
        """Width of :meth:`features`: ``(d_k+1)(d_k+2)/2``, or ``d_k(d_k+1)/2`` without a shift.  (The
        linear form always carries the offset column: its state is ``(d_k+1)(d_k+2)/2`` wide.)"""
        return sym2_dim(dk) if self._unshifted else sym2_dim(dk + 1)

    @property
    def _unshifted(self) -> bool:
        return not isinstance(self.shift, jax.core.Tracer) and float(self.shift) == 0.0

    def linear_form(self, q, k, causal=False):
        r"""``(s·q, k − μ, e)`` with :math:`T_{ij} = (s\,q_i\cdot(k_j-\mu) + e_i)^2` equal to the CSQ weight.

        :math:`\mu` = ``stop_gradient`` (mean of all keys); centered:
        :math:`e_i = c - s\,q_i\cdot\bar k'_i` with :math:`\bar k'_i` the (prefix) mean of :math:`k - \mu`;
        uncentered: :math:`e_i = c + s\,q_i\cdot\mu`.  Why :math:`\mu`: see :mod:`theorem.numeric.csq_linear`.
        """
        n, dk = q.shape[-2], q.shape[-1]
        qs = q * (1.0 / math.sqrt(dk))
        mu = jax.lax.stop_gradient(jnp.mean(k, axis=-2, keepdims=True))
        kp = k - mu
        if self.center:
            if causal:
                counts = np.arange(1, n + 1, dtype=k.dtype)[:, None]  # a constant
                kbar = jnp.cumsum(kp, axis=-2) / counts
            else:
                kbar = jnp.mean(kp, axis=-2, keepdims=True)
            e = self.shift - jnp.sum(qs * kbar, axis=-1)
        else:
            e = self.shift + jnp.sum(qs * mu, axis=-1)
        return LinearForm(SquaredFeatures(lower_order=True), qs, kp, e.astype(q.dtype))

    @property
    def centers_keys(self) -> bool:
        return self.center

    def describe(self) -> str:
        return f"csq(shift={self.shift:g}, center={self.center})"
