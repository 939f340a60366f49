r"""Closed forms for the exact rank of the attention matrix ``A`` (n×n), as SymPy expressions.

The derivations are in :mod:`theorem.numeric.attention_rank` (feature lifts ``T = L_Q L_Kᵀ``, the
quadrics through the lifted tokens); this module holds the formulas, once, in the symbols
``n`` (tokens), ``d`` (model width) and ``d_k`` (head width; ``d_k = d`` in the M form).  The numeric
layer evaluates them at integers (:func:`evaluate`).

Kernels enter only through their *rank class* (:data:`CLASSES`):

===============  =====================================  ============================================
class            kernels                                lift
===============  =====================================  ============================================
``softmax``      softmax                                none (infinite): rank ``n``
``linear``       elu + 1                                ``φ(q)``, width ``d_k``
``square``       poly2, csq(c = 0, uncentred)           ``(σq)^{⊗2}``, width ``d_k(d_k+1)/2``
``centred``      csq(c = 0, centred)                    ``(k − k̄)^{⊗2}``: loses the mean direction
``shifted``      csq(c > 0, centred or not)             ``(σq, c)^{⊗2}``, width ``(d_k+1)(d_k+2)/2``
===============  =====================================  ============================================

**Generic tokens** (:func:`generic_rank`), ``r = min(n, d, d_k)``, ``r' = min(n − 1, d, d_k)``:
softmax ``n``; linear ``min(n, d_k)``; square ``min(n, C(r+1, 2))``; centred ``min(n, C(r'+1, 2))``;
shifted ``min(n, C(r+2, 2))``.  Causal: ``n`` for every class (lower triangular with ``T_ii > 0``).

**LayerNorm'd tokens** (:func:`layernorm_rank`, ``d ≥ 3``), ``u = d − 1``:
without affine (rows on a sphere in a hyperplane through 0) square ``min(n, C(min(u, d_k)+1, 2))``,
shifted ``min(n, C(min(u, d_k)+2, 2) − [d_k ≥ u])``; with affine (an ellipsoid in an affine hyperplane
missing 0) square ``min(n, C(d+1, 2) − 1)`` if ``d_k ≥ d`` else ``min(n, C(d_k+1, 2))``, shifted
``min(n, C(d+1, 2) − 1)`` if ``d_k ≥ d − 1`` else ``min(n, C(d_k+2, 2))``; centred
``min(n, C(min(n−1, d−1, d_k)+1, 2))`` in both cases; softmax ``n``; linear ``min(n, d_k)``.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

__all__ = [
    "N",
    "D",
    "DK",
    "CLASSES",
    "generic_rank",
    "generic_formula",
    "layernorm_rank",
    "causal_rank",
    "evaluate",
]

N, D, DK = sp.symbols("n d d_k", positive=True, integer=True)

CLASSES: tuple[str, ...] = ("softmax", "linear", "square", "centred", "shifted")


def _check_class(cls: str) -> None:
    if cls not in CLASSES:
        raise ValueError(f"rank class: expected one of {', '.join(CLASSES)}, got {cls!r}")


def _pairs(m: sp.Expr) -> sp.Expr:
    """``C(m + 1, 2)``: the dimension of the symmetric square of an ``m``-space."""
    return sp.binomial(m + 1, 2)


def generic_rank(cls: str) -> sp.Expr:
    """``rank A`` for tokens in general position and generic weights (non-causal), in ``n, d, d_k``."""
    _check_class(cls)
    r = sp.Min(N, D, DK)
    return {
        "softmax": N,
        "linear": sp.Min(N, DK),
        "square": sp.Min(N, _pairs(r)),
        "centred": sp.Min(N, _pairs(sp.Min(N - 1, D, DK))),
        "shifted": sp.Min(N, _pairs(r + 1)),
    }[cls]


_GENERIC_TEXT = {
    "softmax": "n (distinct tokens)",
    "linear": "min(n, d_k)",
    "square": "min(n, r(r+1)/2), r = min(n, d, d_k)",
    "centred": "min(n, r'(r'+1)/2), r' = min(n−1, d, d_k)",
    "shifted": "min(n, (r+1)(r+2)/2), r = min(n, d, d_k)",
}


def generic_formula(cls: str, causal: bool = False) -> str:
    """:func:`generic_rank` as one line of text (the causal form for ``causal``)."""
    _check_class(cls)
    return "n (lower triangular, T_ii > 0)" if causal else _GENERIC_TEXT[cls]


def causal_rank() -> sp.Expr:
    """``rank A = n`` for a causal mask whenever every ``T_ii > 0`` (``det A = ∏ A_ii``)."""
    return N


def layernorm_rank(cls: str, affine: bool) -> sp.Expr:
    """``rank A`` for LayerNorm'd tokens in general position (``d ≥ 3``), generic weights (module doc)."""
    _check_class(cls)
    if cls == "softmax":
        return N
    if cls == "linear":
        return sp.Min(N, DK)
    if cls == "centred":
        return sp.Min(N, _pairs(sp.Min(N - 1, D - 1, DK)))
    u = D - 1
    if not affine:
        r = sp.Min(u, DK)
        if cls == "shifted":
            return sp.Min(N, _pairs(r + 1) - sp.Piecewise((1, DK >= u), (0, True)))
        return sp.Min(N, _pairs(r))
    if cls == "shifted":
        return sp.Min(N, sp.Piecewise((_pairs(D) - 1, DK >= D - 1), (_pairs(DK + 1), True)))
    return sp.Min(N, sp.Piecewise((_pairs(D) - 1, DK >= D), (_pairs(DK), True)))


@lru_cache(maxsize=4096)
def _value(expr: sp.Expr, n: int, d: int, dk: int) -> int:
    out = expr.xreplace({N: sp.Integer(n), D: sp.Integer(d), DK: sp.Integer(dk)})
    if not out.is_Integer:
        raise ValueError(f"{expr} at n={n}, d={d}, d_k={dk} is not an integer: {out}")
    return int(out)


def evaluate(expr: sp.Expr, n: int, d: int, dk: int) -> int:
    """The integer value of a closed form at ``(n, d, d_k)`` (exact, SymPy)."""
    return _value(expr, int(n), int(d), int(dk))
