r"""Finite feature maps of the attention kernels that have one, and their building blocks.

A kernel has a *linear form* when its unnormalized weight factors through finite features,
:math:`T_{ij} = \sum_p \phi_p(q_i)\cdot\psi_p(k_j)`.  Then
:math:`\sum_j T_{ij} v_j = \sum_p \phi_p(q_i)^\top \big(\sum_j \psi_p(k_j) v_j^\top\big)`:
the key side is summed once into a state of size :math:`D \times d_v`, and the cost is
:math:`O(n D d_v)` instead of :math:`O(n^2 (d_k + d_v))`.

**Squared kernels** (poly2, CSQ).  Every polynomial kernel of the project is, after the
rewrite of :meth:`theorem.kernels.CSQ.linear_form`, a square :math:`T_{ij} = (a_{ij} + e_i)^2` with
:math:`a_{ij} = q_i\cdot k_j` and a per-query offset :math:`e_i`.  Expanding,

.. math::

    (q\cdot k + e)^2 = \sum_{a\le b} w_{ab}\,(q_a q_b)(k_a k_b) \;+\; \sum_a (2e\,q_a)\,k_a \;+\; e^2\cdot 1,
    \qquad w_{ab} = 2 - \delta_{ab},

so the key features are the :math:`d_k(d_k+1)/2` *symmetric* second-order monomials
:math:`k_a k_b` (:math:`a \le b`, in the order of :func:`sym2_pairs`), the :math:`d_k` first-order ones
and the constant: :math:`D = (d_k+1)(d_k+2)/2` in all, not :math:`d_k^2 + d_k + 1`.  They are computed in
one go as the symmetric second-order monomials of the augmented vectors :math:`[q, e]` and :math:`[k, 1]`
(since :math:`q\cdot k + e = [q, e]\cdot[k, 1]`).  In the algorithms (:class:`SquaredFeatures`) the weight
:math:`w_{ab}` sits on the query side so that no :math:`\sqrt 2` enters; :func:`symmetric_square` is the
symmetric form :math:`\sqrt{w}\odot\mathrm{sym2}(z)`, with
:math:`\langle z^{\otimes 2}, y^{\otimes 2}\rangle = (z\cdot y)^2`.  (Proved for general :math:`d_k` in
:mod:`theorem.symbolic.csq_identity`.)

**elu+1** (Katharopoulos et al. 2020): one part, :math:`\phi = \psi = \mathrm{elu} + 1`, :math:`D = d_k`,
computed by :func:`elu_plus_one` without the cancellation of ``elu(x) + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax.numpy as jnp
from jax import lax
import numpy as np
from jaxtyping import Array, Float

#: what the kernels accept: JAX or NumPy arrays (they return JAX arrays of the same dtype)
In = Array | np.ndarray

__all__ = [
    "In",
    "sym2_pairs",
    "sym2",
    "sym2_weights",
    "sym2_dim",
    "sym2_rows",
    "symmetric_square",
    "elu_plus_one",
    "log_elu_plus_one",
    "FeatureKernel",
    "SquaredFeatures",
    "EluFeatures",
]


@lru_cache(maxsize=None)
def sym2_pairs(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(a, b)`` with ``a ≤ b`` in the order :func:`sym2` emits them (row-major upper triangle)."""
    return np.triu_indices(d)


def sym2_dim(d: int) -> int:
    """Number of symmetric second-order monomials: ``d(d+1)/2``."""
    return d * (d + 1) // 2


def sym2(x: Float[In, "... d"]) -> Float[Array, "... d*(d+1)/2"]:
    r"""The symmetric second-order monomials :math:`x_a x_b,\ a \le b`, ordered as :func:`sym2_pairs`.

    Built as ``d`` slices ``x_a · x[a:]`` concatenated (XLA fuses them into one pass;
    faster on CPU than a gather).
    """
    d = x.shape[-1]
    return jnp.concatenate([x[..., a : a + 1] * x[..., a:] for a in range(d)], axis=-1)


def sym2_rows(x: Float[In, "d c"]) -> Float[Array, "d*(d+1)/2 c"]:
    r""":func:`sym2` of each *column* of ``x``: row :math:`p` of the result is :math:`x_{a_p} \odot x_{b_p}`,
    :math:`(a_p, b_p)` the :math:`p`-th pair of :func:`sym2_pairs`.

    The transposed layout of the linear form (features × rows): each output row is the product of two
    contiguous input rows, one gather of whole rows with constant indices (on CPU much faster than
    :func:`sym2`'s column slices in this layout).
    """
    ia, ib = sym2_pairs(x.shape[0])
    x = jnp.asarray(x)
    return _rows(x, ia) * _rows(x, ib)


def _rows(x: Float[Array, "d c"], index: np.ndarray) -> Float[Array, "m c"]:
    """``x[index]`` for a constant, in-bounds index: one gather of whole rows (no index arithmetic traced)."""
    dims = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
    return lax.gather(x, np.asarray(index, np.int32)[:, None], dims, slice_sizes=(1, x.shape[1]),
                      mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS)


def sym2_weights(d: int, dtype) -> Float[Array, " D"]:
    r""":math:`w_{ab} = 2 - \delta_{ab}`: the multiplicity of the monomial :math:`x_a x_b` in :math:`(x\cdot y)^2`."""
    ia, ib = sym2_pairs(d)
    return jnp.asarray(np.where(ia == ib, 1.0, 2.0), dtype=dtype)


def symmetric_square(z: Float[In, "... d"]) -> Float[Array, "... d*(d+1)/2"]:
    r""":math:`z^{\otimes 2} = \big(\sqrt{w_{ab}}\,z_a z_b\big)_{a\le b}` (order :func:`sym2_pairs`), so that
    :math:`\langle z^{\otimes 2}, y^{\otimes 2}\rangle = (z\cdot y)^2`."""
    d = z.shape[-1]
    ia, ib = sym2_pairs(d)
    root_w = jnp.asarray(np.where(ia == ib, 1.0, np.sqrt(2.0)), dtype=z.dtype)
    return sym2(z) * root_w


def elu_plus_one(x: Float[In, "*s"]) -> Float[Array, "*s"]:
    r""":math:`\phi(x) = \mathrm{elu}(x) + 1`, computed as :math:`x + 1` for :math:`x > 0` and :math:`e^x`
    otherwise: the same value, without the cancellation of :math:`(e^x - 1) + 1`, which rounds to 0 for
    :math:`x \lesssim -37` in float64 (making rows 0/0) and loses :math:`|x|`-fold relative accuracy before."""
    return jnp.where(x > 0, x + 1.0, jnp.exp(jnp.minimum(x, 0.0)))


def log_elu_plus_one(x: Float[In, "*s"]) -> Float[Array, "*s"]:
    r""":math:`\log\phi(x)`: :math:`\log(1 + x)` for :math:`x > 0`, :math:`x` otherwise (finite for any x)."""
    return jnp.where(x > 0, jnp.log1p(jnp.maximum(x, 0.0)), x)


class FeatureKernel:
    r"""A kernel written as :math:`T_{ij} = \sum_p \phi_p(q_i, e_i)\cdot\psi_p(k_j)`.

    ``e`` is a per-query offset (a column of numbers; kernels without one ignore it).
    ``pair_weights`` evaluates :math:`T` directly on a small block (the intra-chunk part of
    the causal algorithm), which must equal the feature form.
    """

    def query_parts(self, q: Float[Array, "c dk"], e: Float[Array, " c"]) -> tuple[Array, ...]:
        raise NotImplementedError

    def key_parts(self, k: Float[Array, "c dk"]) -> tuple[Array, ...]:
        raise NotImplementedError

    def pair_weights(
        self,
        q: Float[Array, "c dk"],
        k: Float[Array, "c2 dk"],
        e: Float[Array, " c"],
        query_parts: tuple[Array, ...],
        key_parts: tuple[Array, ...],
    ) -> Float[Array, "c c2"]:
        """``T`` on a block, from the inputs or from the parts already computed for them."""
        raise NotImplementedError

    def part_dims(self, dk: int) -> tuple[int, ...]:
        """Feature dimension of each part; their sum is ``D``."""
        raise NotImplementedError

    def query_parts_t(self, q_t: Float[Array, "dk c"], e: Float[Array, " c"]) -> tuple[Array, ...]:
        """:meth:`query_parts` in the transposed layout: each part ``(D_p, c)``, given ``q`` transposed."""
        return tuple(p.T for p in self.query_parts(q_t.T, e))

    def key_parts_t(self, k_t: Float[Array, "dk c"]) -> tuple[Array, ...]:
        """:meth:`key_parts` in the transposed layout: each part ``(D_p, c)``, given ``k`` transposed."""
        return tuple(p.T for p in self.key_parts(k_t.T))

    def feature_dim(self, dk: int) -> int:
        return sum(self.part_dims(dk))


@dataclass(frozen=True)
class SquaredFeatures(FeatureKernel):
    r""":math:`T_{ij} = (q_i\cdot k_j + e_i)^2`; with ``lower_order=False`` the offset is 0 (pure :math:`(q\cdot k)^2`).

    With the offset, :math:`q\cdot k + e = [q, e]\cdot[k, 1]`, so the features are the symmetric
    second-order monomials of the *augmented* vectors: ``w ⊙ sym2([q, e])`` and ``sym2([k, 1])``,
    :math:`D = (d_k+1)(d_k+2)/2` — the pairs :math:`(a, b \le d_k)` give :math:`w_{ab} q_a q_b\cdot k_a k_b`,
    the pairs :math:`(a, d_k+1)` give :math:`2e\,q_a\cdot k_a`, and the last :math:`e^2\cdot 1`.
    One part, one matrix product per chunk.
    """

    lower_order: bool = True

    def _augment(self, x, last):
        return jnp.concatenate([x, last[..., None]], axis=-1) if self.lower_order else x

    def query_parts(self, q, e):
        x = self._augment(q, e)
        return (sym2(x) * sym2_weights(x.shape[-1], q.dtype),)

    def key_parts(self, k):
        x = self._augment(k, jnp.ones_like(k[..., 0]))
        return (sym2(x),)

    def _augment_t(self, x_t, last):
        return jnp.concatenate([x_t, last[None, :]], axis=0) if self.lower_order else x_t

    def query_parts_t(self, q_t, e):
        x = self._augment_t(q_t, e)
        return (sym2_rows(x) * sym2_weights(x.shape[0], q_t.dtype)[:, None],)

    def key_parts_t(self, k_t):
        return (sym2_rows(self._augment_t(k_t, jnp.ones_like(k_t[0]))),)

    def pair_weights(self, q, k, e, query_parts, key_parts):
        a = q @ jnp.swapaxes(k, -1, -2)
        if self.lower_order:
            a = a + e[..., None]
        return a * a

    def part_dims(self, dk):
        return (sym2_dim(dk + 1),) if self.lower_order else (sym2_dim(dk),)


@dataclass(frozen=True)
class EluFeatures(FeatureKernel):
    r""":math:`T_{ij} = \phi(q_i)\cdot\phi(k_j)`, :math:`\phi = \mathrm{elu} + 1 > 0` (:func:`elu_plus_one`; no offset)."""

    def query_parts(self, q, e):
        return (elu_plus_one(q),)

    def key_parts(self, k):
        return (elu_plus_one(k),)

    def pair_weights(self, q, k, e, query_parts, key_parts):
        return query_parts[0] @ jnp.swapaxes(key_parts[0], -1, -2)

    def part_dims(self, dk):
        return (dk,)
