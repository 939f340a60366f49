r"""The two passes of the linear form on blocked, transposed inputs, with their own reverse-mode rule.

:mod:`theorem.numeric.csq_linear` pads and lays out the inputs (each block or chunk of rows transposed:
features × rows) and calls :func:`noncausal_numerator` or :func:`causal_numerator`, which return the
numerator and denominator :math:`[N, Z]` per block, ``(t, d_v+1, rows)``.  Both are ``jax.custom_vjp``
functions whose backward is itself a state-plus-emit pass (no loop body is differentiated, nothing per
block is stored):

**Non-causal**, :math:`[N,Z]_i = S\,\phi_i`, :math:`S = \sum_j \bar v_j \psi_j^\top` (:math:`\bar v = [v, 1]`).
With :math:`G_i = \partial L/\partial [N,Z]_i`:

.. math:: \partial S = \sum_i G_i \phi_i^\top,\quad
          \partial\phi_i = S^\top G_i,\quad
          \partial\psi_j = \partial S^\top \bar v_j,\quad
          \partial\bar v_j = \partial S\,\psi_j,

one pass over the query blocks (accumulating :math:`\partial S`, emitting :math:`\partial\phi`) and one over
the key blocks (emitting :math:`\partial\psi`, :math:`\partial\bar v`): :math:`8nD(d_v+1)` product FLOPs
against the forward's :math:`4nD(d_v+1)`.  The state :math:`S` is the only residual beyond the inputs.

**Causal** (chunks; :math:`S_t` the state of the chunks before :math:`t`): the inter-chunk terms give
:math:`\partial\phi_i = S_t^\top G_i` (a forward-time pass that rebuilds :math:`S_t`, as the forward did)
and :math:`\partial\psi_j = \partial S_{>t}^\top \bar v_j`, :math:`\partial\bar v_j = \partial S_{>t}\,\psi_j`
with :math:`\partial S_{>t} = \sum_{u>t} G_u\phi_u^\top` (a reverse-time pass); the intra-chunk
:math:`C\times C` part is differentiated by ``jax.vjp`` of its small quadratic form.  Rebuilding
:math:`S_t` instead of storing it keeps the memory :math:`O(D(d_v+1))` beyond the inputs, and no state is
reconstructed by subtraction (which would lose accuracy in the early chunks): :math:`10nD(d_v+1)` product FLOPs.

**The feature chain rule** (:math:`\partial\phi \to \partial q, \partial e` and :math:`\partial\psi \to \partial k`)
is ``jax.vjp`` of one block's feature map (for the squared features the transpose of a constant row gather:
measured at n = 32768, d_k = 64 about 3× faster on CPU than a hand-written full-square reduction).  The
transposed states :math:`S^\top`, :math:`\partial S^\top` are formed once (non-causal) or carried as such
(causal), so that the products contract a trailing axis of their left operand; the one exception is the causal
:math:`\partial\bar v = \partial S\,\psi`, taken from the carried :math:`\partial S^\top` by contracting leading axes
(measured no slower than carrying both :math:`\partial S` and :math:`\partial S^\top`).
"""

from __future__ import annotations

import operator
from functools import partial, reduce

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from theorem.kernels import FeatureKernel

__all__ = ["noncausal_numerator", "causal_numerator", "dot_nt"]


def _sum(parts):
    return reduce(operator.add, parts)


def dot_nt(a, b):
    r""":math:`a\,b^\top`, contracting the trailing axes (no transpose materialized)."""
    return lax.dot_general(a, b, (((1,), (1,)), ((), ())))


def _query_vjp(features: FeatureKernel, qq, ee, g_parts):
    """``(∂q, ∂e)`` of one block's query parts (transposed layout) for their cotangents ``g_parts``."""
    _, pull = jax.vjp(features.query_parts_t, qq, ee)
    return pull(tuple(g_parts))


def _key_vjp(features: FeatureKernel, kk, g_parts):
    """``∂k`` of one block's key parts (transposed layout) for their cotangents ``g_parts``."""
    _, pull = jax.vjp(features.key_parts_t, kk)
    return pull(tuple(g_parts))[0]


def _zeros_state(features, dk, rows, dtype):
    return tuple(jnp.zeros((rows, p), dtype) for p in features.part_dims(dk))


# ---------------------------------------------------------------------------------------------------
# non-causal: qb, kb (t, d_k, b); eb (t, b); va (t, d_v+1, b)  →  (t, d_v+1, b)
# ---------------------------------------------------------------------------------------------------


def _nc_state(features, kb, va):
    def accumulate(state, xs):
        kk, vv = xs
        return tuple(s + dot_nt(vv, f) for s, f in zip(state, features.key_parts_t(kk))), None

    state0 = _zeros_state(features, kb.shape[1], va.shape[1], kb.dtype)
    return lax.scan(accumulate, state0, (kb, va))[0]


def _nc_forward(features, qb, kb, eb, va):
    state = _nc_state(features, kb, va)

    def emit(xs):
        qq, ee = xs
        return _sum([s @ f for f, s in zip(features.query_parts_t(qq, ee), state)])

    return lax.map(emit, (qb, eb)), state


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def noncausal_numerator(features: FeatureKernel, qb, kb, eb, va):
    r""":math:`[N, Z]` per block: :math:`S\,\phi(q_i, e_i)`, :math:`S = \sum_j [v_j, 1]\,\psi(k_j)^\top` (one state pass,
    one emit pass, one GEMM per block each).  Reverse mode: the two passes of the module docstring."""
    return _nc_forward(features, qb, kb, eb, va)[0]


def _nc_fwd(features, qb, kb, eb, va):
    num, state = _nc_forward(features, qb, kb, eb, va)
    return num, (qb, kb, eb, va, state)


def _nc_bwd(features, res, g):
    qb, kb, eb, va, state = res
    state_t = tuple(s.T for s in state)  # (D_p, V): ∂φ = Sᵀ G as a product contracting a trailing axis

    def over_queries(dstate, xs):
        qq, ee, gg = xs
        qf = features.query_parts_t(qq, ee)
        dstate = tuple(d + dot_nt(gg, f) for d, f in zip(dstate, qf))
        return dstate, _query_vjp(features, qq, ee, tuple(st @ gg for st in state_t))

    dstate, (dq, de) = lax.scan(over_queries, _zeros_state(features, qb.shape[1], va.shape[1], qb.dtype), (qb, eb, g))
    dstate_t = tuple(d.T for d in dstate)

    def over_keys(xs):
        kk, vv = xs
        kf = features.key_parts_t(kk)
        dva = _sum([d @ f for d, f in zip(dstate, kf)])
        return _key_vjp(features, kk, tuple(dt @ vv for dt in dstate_t)), dva

    dk, dva = lax.map(over_keys, (kb, va))
    return dq, dk, de, dva


noncausal_numerator.defvjp(_nc_fwd, _nc_bwd)


# ---------------------------------------------------------------------------------------------------
# causal: qc, kc (t, c, d_k) rows; ec (t, c); va (t, d_v+1, c)  →  (t, d_v+1, c)
# ---------------------------------------------------------------------------------------------------


def _intra(features, lower, qq, kk, ee, vv, qf, kf):
    """The chunk's own keys: :math:`\\sum_{j\\le i} T_{ij} [v_j, 1]` on the ``C × C`` lower triangle, ``(V, C)``."""
    weights = features.pair_weights(qq, kk, ee, tuple(f.T for f in qf), tuple(f.T for f in kf))
    return dot_nt(vv, jnp.where(lower, weights, 0.0))


def _intra_of_inputs(features, lower, qq, kk, ee, vv):
    qf, kf = features.query_parts_t(qq.T, ee), features.key_parts_t(kk.T)
    return _intra(features, lower, qq, kk, ee, vv, qf, kf)


def _lower(c: int) -> np.ndarray:
    return np.tril(np.ones((c, c), dtype=bool))  # a constant: no operations


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def causal_numerator(features: FeatureKernel, qc, kc, ec, va):
    r"""Causal :math:`[N, Z]` per chunk: :math:`S_t\,\phi_i + \sum_{tC\le j\le i} T_{ij}[v_j, 1]`, one ``lax.scan``
    carrying :math:`S_t` only.  Reverse mode: the two passes of the module docstring."""
    lower = _lower(qc.shape[1])

    def step(state, xs):
        qq, kk, vv, ee = xs
        qf, kf = features.query_parts_t(qq.T, ee), features.key_parts_t(kk.T)
        inter = _sum([s @ f for f, s in zip(qf, state)])
        new_state = tuple(s + dot_nt(vv, f) for s, f in zip(state, kf))
        return new_state, inter + _intra(features, lower, qq, kk, ee, vv, qf, kf)

    state0 = _zeros_state(features, qc.shape[2], va.shape[1], qc.dtype)
    return lax.scan(step, state0, (qc, kc, va, ec))[1]


def _c_fwd(features, qc, kc, ec, va):
    return causal_numerator(features, qc, kc, ec, va), (qc, kc, ec, va)


def _c_bwd(features, res, g):
    qc, kc, ec, va = res
    lower = _lower(qc.shape[1])
    state0 = _zeros_state(features, qc.shape[2], va.shape[1], qc.dtype)

    def forward_time(state, xs):  # S_tᵀ rebuilt; ∂φ = S_tᵀ G; the intra part's whole vjp
        qq, kk, vv, ee, gg = xs
        kk_t = kk.T
        r = tuple(st @ gg for st in state)
        dq, de = _query_vjp(features, qq.T, ee, r)
        _, pull = jax.vjp(partial(_intra_of_inputs, features, lower), qq, kk, ee, vv)
        iq, ik, ie, iv = pull(gg)
        new_state = tuple(st + dot_nt(f, vv) for st, f in zip(state, features.key_parts_t(kk_t)))
        return new_state, (dq.T + iq, ik, de + ie, iv)

    state0_t = tuple(s.T for s in state0)  # Sᵀ carried (D_p × V): ∂φ = Sᵀ G contracts a trailing axis
    _, (dq, dk_intra, de, dva_intra) = lax.scan(forward_time, state0_t, (qc, kc, va, ec, g))

    def reverse_time(dstate, xs):  # ∂S_{>t}: ∂ψ = ∂Sᵀ v̄, ∂v̄ = ∂S ψ; then ∂S += G φᵀ
        qq, kk, vv, ee, gg = xs
        kk_t = kk.T
        kf = features.key_parts_t(kk_t)
        dva = _sum([lax.dot_general(d, f, (((0,), (0,)), ((), ()))) for d, f in zip(dstate, kf)])
        dk = _key_vjp(features, kk_t, tuple(d @ vv for d in dstate))
        qf = features.query_parts_t(qq.T, ee)
        dstate = tuple(d + dot_nt(f, gg) for d, f in zip(dstate, qf))
        return dstate, (dk.T, dva)

    _, (dk, dva) = lax.scan(reverse_time, state0_t, (qc, kc, va, ec, g), reverse=True)
    return dq, dk + dk_intra, de, dva + dva_intra


causal_numerator.defvjp(_c_fwd, _c_bwd)
