r"""CSQ (and poly2, elu+1) attention in time linear in n: the exact rewrite and its two algorithms.

**The rewrite.**  With :math:`s = 1/\sqrt{d_k}`, CSQ's weight of key :math:`j` for query :math:`i` is
:math:`T_{ij} = (s\,q_i\cdot(k_j - \bar k_i) + c)^2`, :math:`\bar k_i` the mean of the keys query
:math:`i` sees (all :math:`n`, or :math:`0..i` when causal).  For *any* reference point
:math:`\mu \in \mathbb{R}^{d_k}`, with :math:`k'_j = k_j - \mu` and :math:`\bar k'_i = \bar k_i - \mu`,

.. math::

    s\,q_i\cdot(k_j - \bar k_i) + c \;=\; \underbrace{s\,q_i\cdot k'_j}_{a_{ij}}
    \;+\; \underbrace{c - s\,q_i\cdot \bar k'_i}_{e_i},

so :math:`T_{ij} = (a_{ij} + e_i)^2` and :class:`~theorem.kernels.features.SquaredFeatures`
factors it through :math:`D = (d_k+1)(d_k+2)/2` features.  The per-query offset :math:`e_i`
needs only the prefix sum :math:`\sum_{j\le i} k'_j` and the count (both are entries of the running
state; the code takes them from a cumulative sum, :math:`O(n d_k)`), so the prefix sums of
:math:`1, k, k\otimes k` (symmetric) and of :math:`v, k v^\top, (k\otimes k) v^\top` suffice
(:mod:`theorem.symbolic.csq_identity` proves it).  Uncentered: :math:`e_i = c + s\,q_i\cdot\mu`.
The rewrite itself (the transformed inputs and offsets) is the kernel's own:
:meth:`theorem.kernels.CSQ.linear_form` (and ``Poly2.linear_form``, ``LinearElu.linear_form``); this
module holds the kernel-agnostic algorithms.

**Why a reference point.**  The output does not depend on :math:`\mu` (exactly, so
:math:`\mu` carries ``stop_gradient`` and gradients are unchanged), but float32 does: the
expansion adds :math:`a^2`, :math:`2ea` and :math:`e^2` separately, and the denominator is
:math:`\sum_j a_{ij}^2 + 2e_i\sum_j a_{ij} + m_i e_i^2`.  If the keys share a large mean, each
term is huge and they cancel to the small :math:`\sum_j (s q_i\cdot(k_j-\bar k_i))^2 + m_i c^2`.
Taking :math:`\mu` = the mean of all keys makes :math:`a_{ij}` the centered score itself (no
cancellation at all when non-causal, and only the drift of the prefix mean when causal).
The denominator is then :math:`\ge m_i c^2 > 0`, so it never vanishes.

**Algorithms** (one head; :func:`theorem.attention.attention` maps them over batch/head axes):

* :func:`linear_noncausal`: state :math:`S = \sum_j [v_j, 1]\,\psi(k_j)^\top` (:math:`(d_v+1)\times D`),
  then :math:`[N_i, Z_i] = S\,\phi(q_i, e_i)`, output :math:`N_i/Z_i`.  Both passes run
  over blocks of rows (``lax.scan``) so the :math:`B\times D` feature block stays in cache;
  the state is the only thing carried.
* :func:`linear_causal`: chunks of :math:`C` rows; inside a chunk the weights are evaluated
  directly (a :math:`C\times C` lower triangle), across chunks through the running state, which
  is carried by ``lax.scan`` and updated after each chunk.  Cost
  :math:`4nD(d_v+1) + 2nC(d_k+d_v+1) + \dots` (:mod:`theorem.symbolic.flops`).

Padding (``n`` not a multiple of the block) appends keys with :math:`[v, 1] = 0`, which add
nothing to any numerator or denominator, and queries whose rows are dropped before the division.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels import CSQ, FeatureKernel, Kernel, LinearElu, Poly2
from theorem.numeric.csq_linear_core import causal_numerator, noncausal_numerator
from theorem.util.tiling import default_block, default_chunk

__all__ = [
    "squared_offsets",
    "linear_noncausal",
    "linear_causal",
    "numerator_noncausal",
    "numerator_causal",
    "linear_attention",
    "squared_linear",
    "elu_linear",
    "default_block",
    "default_chunk",
]


def squared_offsets(
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    *,
    shift: float,
    center: bool,
    causal: bool,
) -> tuple[Float[Array, "n dk"], Float[Array, "n dk"], Float[Array, " n"]]:
    r"""``(s·q, k − μ, e)`` of :meth:`theorem.kernels.CSQ.linear_form`:
    :math:`T_{ij} = (s\,q_i\cdot(k_j-\mu) + e_i)^2` equals the CSQ weight."""
    form = CSQ(shift=shift, center=center).linear_form(q, k, causal)
    return form.q, form.k, form.e


def _pad_rows(x: Array, rows: int) -> Array:
    if rows == 0:
        return x
    return jnp.concatenate([x, jnp.zeros((rows,) + x.shape[1:], x.dtype)], axis=0)


def _augment(v: Float[Array, "n dv"]) -> Float[Array, "n dv+1"]:
    """``[v, 1]``: the last column of the numerator is the denominator."""
    return jnp.concatenate([v, jnp.ones_like(v[:, :1])], axis=-1)


def _split(num: Float[Array, "n v"]) -> Float[Array, "n v-1"]:
    return num[:, :-1] / num[:, -1:]


def _rows_t(x: Array, t: int, b: int) -> Array:
    """``(t·b, d) → (t, d, b)``: each block of ``b`` rows, transposed (features × rows)."""
    return x.reshape(t, b, -1).transpose(0, 2, 1)


def numerator_noncausal(
    features: FeatureKernel,
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    e: Float[Array, " n"],
    v: Float[Array, "n dv"],
    block: int | None = None,
) -> Float[Array, "n dv+1"]:
    r""":math:`[N_i, Z_i] = S\,\phi(q_i,e_i)`, :math:`S = \sum_j [v_j,1]\,\psi(k_j)^\top`, :math:`o_i = N_i/Z_i`.

    Two passes over blocks of ``block`` rows, the features (and values) in the transposed layout (``D × block``,
    :meth:`~theorem.kernels.features.FeatureKernel.key_parts_t`): per block the state is one GEMM
    :math:`S \mathrel{+}= [V, 1]^\top \Psi_K` (``(d_v+1) × block`` by ``block × D``, with :math:`\Psi_K` held as
    ``D × block``) and the emit one GEMM :math:`S\,\Phi_Q` (``(d_v+1) × D`` by ``D × block``): both contract a
    trailing axis of their left operand, the form XLA's CPU backend hands to its fast GEMM (a product
    contracting a leading axis falls back to a slower one).  Memory beyond
    the inputs and output: the state (:math:`(d_v+1)\times D`) and one block of features.  Reverse mode is
    :func:`~theorem.numeric.csq_linear_core.noncausal_numerator`'s own two passes (nothing per block stored).
    """
    n, dk = q.shape
    dims = features.part_dims(dk)
    b = block or default_block(n, sum(dims), q.dtype.itemsize)
    t = -(-n // b)
    pad = t * b - n
    va = _rows_t(_pad_rows(_augment(v), pad), t, b)
    kb = _rows_t(_pad_rows(k, pad), t, b)
    qb = _rows_t(_pad_rows(q, pad), t, b)
    eb = _pad_rows(e, pad).reshape(t, b)
    num = noncausal_numerator(features, qb, kb, eb, va)
    return num.transpose(0, 2, 1).reshape(t * b, -1)[:n]


def numerator_causal(
    features: FeatureKernel,
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    e: Float[Array, " n"],
    v: Float[Array, "n dv"],
    chunk: int | None = None,
) -> Float[Array, "n dv+1"]:
    r"""Causal :math:`[N_i, Z_i]` (:math:`o_i = N_i/Z_i`), :math:`o_i = \sum_{j\le i} T_{ij} v_j / \sum_{j\le i} T_{ij}`, chunked.

    For chunk :math:`t` (rows :math:`tC..tC+C-1`), with the running state
    :math:`S_t = \sum_{j<tC} [v_j,1]\,\psi(k_j)^\top` (:math:`(d_v+1)\times D`) carried by ``lax.scan``:

    .. math:: [N, Z]_i = S_t\,\phi(q_i,e_i) + \sum_{tC\le j\le i} T_{ij}[v_j, 1],
              \qquad S_{t+1} = S_t + \sum_{j\in t} [v_j,1]\,\psi(k_j)^\top.

    The block-lower-triangular form: the diagonal block is the small quadratic (the :math:`C\times C`
    lower triangle, :meth:`~theorem.kernels.features.FeatureKernel.pair_weights`), the blocks below it
    come through the state.  Features, values and each chunk's output in the transposed layout, every
    product contracting a trailing axis of its left operand, as in :func:`linear_noncausal`.
    Memory beyond inputs and output: the state, one chunk of features and the :math:`C\times C` weights.
    Reverse mode is :func:`~theorem.numeric.csq_linear_core.causal_numerator`'s forward-time and reverse-time
    passes (the states rebuilt, never stored per chunk).
    """
    n, dk = q.shape
    dv = v.shape[-1]
    c = min(chunk or default_chunk(dk, dv), n)
    t = -(-n // c)
    pad = t * c - n
    va = _rows_t(_pad_rows(_augment(v), pad), t, c)
    kc = _pad_rows(k, pad).reshape(t, c, dk)
    qc = _pad_rows(q, pad).reshape(t, c, dk)
    ec = _pad_rows(e, pad).reshape(t, c)
    num = causal_numerator(features, qc, kc, ec, va)
    return num.transpose(0, 2, 1).reshape(t * c, -1)[:n]


def linear_noncausal(features: FeatureKernel, q: Float[Array, "n dk"], k: Float[Array, "n dk"],
                     e: Float[Array, " n"], v: Float[Array, "n dv"], block: int | None = None) -> Float[Array, "n dv"]:
    """:math:`o_i = N_i / Z_i` of :func:`numerator_noncausal`."""
    return _split(numerator_noncausal(features, q, k, e, v, block))


def linear_causal(features: FeatureKernel, q: Float[Array, "n dk"], k: Float[Array, "n dk"],
                  e: Float[Array, " n"], v: Float[Array, "n dv"], chunk: int | None = None) -> Float[Array, "n dv"]:
    """:math:`o_i = N_i / Z_i` of :func:`numerator_causal`."""
    return _split(numerator_causal(features, q, k, e, v, chunk))


def linear_attention(
    kernel: Kernel,
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    v: Float[Array, "n dv"],
    *,
    causal: bool,
    chunk: int | None = None,
) -> Float[Array, "n dv"]:
    """One head of ``kernel`` in linear time, through the kernel's :meth:`~theorem.kernels.Kernel.linear_form`
    (chunks of ``chunk`` rows when causal, blocks when not)."""
    form = kernel.linear_form(q, k, causal)
    if form is None:
        raise ValueError(f"kernel: {kernel.name!r} has no finite feature map, so no linear form")
    algorithm = linear_causal if causal else linear_noncausal
    return algorithm(form.features, form.q, form.k, form.e, v, chunk)


def squared_linear(
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    v: Float[Array, "n dv"],
    *,
    shift: float,
    center: bool,
    causal: bool,
    lower_order: bool = True,
    chunk: int | None = None,
) -> Float[Array, "n dv"]:
    """CSQ (``lower_order=True``) or poly2 (``False``: :math:`T = (s\\,q\\cdot k)^2`, no offset) in linear time."""
    kernel = CSQ(shift=shift, center=center) if lower_order else Poly2()
    return linear_attention(kernel, q, k, v, causal=causal, chunk=chunk)


def elu_linear(
    q: Float[Array, "n dk"],
    k: Float[Array, "n dk"],
    v: Float[Array, "n dv"],
    *,
    causal: bool,
    chunk: int | None = None,
) -> Float[Array, "n dv"]:
    """Linear attention with :math:`\\phi = \\mathrm{elu}+1` (Katharopoulos et al. 2020), no score scaling."""
    return linear_attention(LinearElu(), q, k, v, causal=causal, chunk=chunk)
