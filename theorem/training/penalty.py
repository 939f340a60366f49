"""The CSQ soft penalty — a reconstruction.

The paper says CSQ is "trained with soft penalties" that keep the centered scores above the
parabola's vertex; its formula is not public.  Our reconstruction (documented in ``claims.md``
T6): for a CSQ kernel ``T_ij = (S̃_ij + c)²`` the vertex is ``S̃_ij = −c``; on the side
``S̃_ij + c > 0`` the weight grows monotonically with the score (order-preserving matching),
below it the weight *grows* as the score *falls*.  The penalty pushes every visible centered
score onto the monotone side:

``P(S) = mean_{(i,j) visible} relu(−(S̃_ij + c))²``

which is 0 exactly when every visible ``S̃_ij + c ≥ 0``, is C¹, and has gradient
``−2·relu(−(S̃ + c))`` in ``S̃``.  The training loss is ``task loss + λ·P`` summed over layers.
For kernels without a vertex (softmax, linear, poly2) the penalty is identically 0; for poly2
(``c = 0``, no centering) the "vertex" is ``S = 0`` and a penalty ``relu(−S)²`` would be a
different model, so it is not applied.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels import CSQ, Kernel

__all__ = ["vertex_penalty", "has_vertex_penalty"]


def has_vertex_penalty(kernel: Kernel) -> bool:
    """True for the CSQ family (the only kernels with a shifted parabola)."""
    return isinstance(kernel, CSQ)


def vertex_penalty(kernel: Kernel, scores: Float[Array, "n n"], causal: bool = False) -> Float[Array, ""]:
    """``mean_{visible (i,j)} relu(−(S̃_ij + c))²`` for CSQ kernels (:meth:`theorem.kernels.CSQ.vertex_penalty`),
    0 otherwise."""
    if not has_vertex_penalty(kernel):
        return jnp.zeros((), dtype=scores.dtype)
    return kernel.vertex_penalty(scores, causal=causal)
