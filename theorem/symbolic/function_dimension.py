r"""Closed forms for the function-space dimensions of T8's exact-algebra probe (hypothesis 6.2).

A family ``θ ↦ f_θ`` evaluated on ``m`` token matrices ``X_1 … X_m`` (n×d) reaches, near a generic ``θ``, a set
of dimension ``rank ∂(f_θ(X_1), …, f_θ(X_m))/∂θ`` (the generic rank of the Jacobian; the rank at any one point is
a lower bound, so an exact rank at one rational point certifies ``dim ≥`` that rank).  Symbols: ``d`` (token
width), ``w`` (the stack's width), ``L`` (its depth), ``m`` and ``n`` (samples, tokens), ``p`` (even degree).

**Degree-p attention** ``f(X) = A_p(X W_Q (X W_K)ᵀ) X W_V``, ``(A_p)_ij = s_ij^p / Σ_l s_il^p`` (p even),
parameters ``W_Q, W_K, W_V ∈ R^{d×d}`` (3d²).  Upper bound :data:`POLY_ATTENTION` ``= 2d² − 1``, proof:
``f`` depends on ``W_Q, W_K`` only through ``M = W_Q W_Kᵀ`` (d² entries), so it factors through
``(M, W_V) ∈ R^{2d²}``; and ``A_p(cM) = A_p(M)`` for ``c ≠ 0`` (``(c s)^p = c^p s^p`` and ``c^p`` cancels in the
row normalization), so it is constant along the curves ``c ↦ (cM, W_V)``, whose tangent ``(M, 0)`` is non-zero
for ``M ≠ 0``: by the constant-rank theorem the image has dimension ``≤ 2d² − 1``.  The same argument shows
the probe may drop the ``1/√d`` of the scores: it is such a ``c``.  Equality is **not** proved for general
``d``; it is certified at the sizes the probe measures exactly (an exact rank ``2d² − 1`` at one rational
point is a lower bound on the generic rank, which the proof bounds from above).  The value does not depend
on ``p``.

**One quadratic layer** (poly2, residual, width ``w ≥ d``) ``f(X) = h W_out``, ``h = X W_in + A_2(X W_in W_Q
(X W_in W_K)ᵀ) X W_in W_V``.  Upper bound :data:`STACK_ONE_LAYER` ``= 3d² − 1``, proof: ``f(X) = X P +
A_2(X M' Xᵀ) X V'`` with ``P = W_in W_out``, ``M' = W_in W_Q W_Kᵀ W_inᵀ``, ``V' = W_in W_V W_out`` (d×d each), so
``f`` factors through ``(P, M', V') ∈ R^{3d²}``, and ``A_2(cM') = A_2(M')`` removes one more dimension as
above.  Equality: certified exactly at the measured sizes only.

**L ≥ 2 layers**: no closed form is derived; the only proved bounds are the parameter count
:data:`STACK_PARAMETERS` ``= 2dw + 3Lw²`` and the number of outputs :data:`OUTPUTS` ``= m n d``.  The
dimensions are measured (float64 rank with tolerance and gap, exact rank over Q), not predicted.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["d", "w", "L", "m", "n", "p", "POLY_ATTENTION", "STACK_ONE_LAYER", "STACK_PARAMETERS",
           "POLY_PARAMETERS", "OUTPUTS", "dimension_formula", "evaluate"]

_pos = {"integer": True, "positive": True}
d = sp.Symbol("d", **_pos)  #: token width
w = sp.Symbol("w", **_pos)  #: the stack's width
L = sp.Symbol("L", **_pos)  #: the stack's depth
m = sp.Symbol("m", **_pos)  #: token matrices (samples)
n = sp.Symbol("n", **_pos)  #: tokens per matrix
p = sp.Symbol("p", **_pos)  #: even degree of the target

POLY_ATTENTION: sp.Expr = 2 * d**2 - 1  #: dimension of degree-p attention (upper bound proved; independent of p)
STACK_ONE_LAYER: sp.Expr = 3 * d**2 - 1  #: dimension of one quadratic layer, width w ≥ d (upper bound proved)
STACK_PARAMETERS: sp.Expr = 2 * d * w + 3 * L * w**2  #: parameters of an L-layer stack of width w
POLY_PARAMETERS: sp.Expr = 3 * d**2  #: parameters of degree-p attention
OUTPUTS: sp.Expr = m * n * d  #: entries of the outputs on m token matrices

_NAMES = {s.name: s for s in (d, w, L, m, n, p)}


def dimension_formula(family: str, *, depth: int | None = None, width: int | None = None,
                      dim: int | None = None) -> sp.Expr | None:
    """The closed form of ``family`` (``"poly"``: degree-p attention; ``"stack"``: the quadratic stack), or
    ``None`` where none is derived (a stack with ``depth ≥ 2``, or ``width < dim``)."""
    if family == "poly":
        return POLY_ATTENTION
    if family != "stack":
        raise ValueError(f"family must be 'poly' or 'stack', got {family!r}")
    if depth is None:
        raise ValueError("a stack's closed form needs its depth")
    if depth == 1 and (width is None or dim is None or width >= dim):
        return STACK_ONE_LAYER
    return None


def evaluate(expr: sp.Expr, **values: int) -> int:
    """The integer value of ``expr`` at ``values`` (names ``d, w, L, m, n, p``); unknown or missing names raise."""
    unknown = set(values) - set(_NAMES)
    if unknown:
        raise ValueError(f"unknown symbol(s) {sorted(unknown)}; known: {sorted(_NAMES)}")
    value = sp.sympify(expr).subs({_NAMES[k]: int(v) for k, v in values.items()})
    missing = sorted(s.name for s in value.free_symbols)
    if missing:
        raise ValueError(f"missing value(s) {missing} to evaluate {expr}")
    return int(value)
