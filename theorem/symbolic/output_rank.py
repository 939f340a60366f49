r"""The output map ``θ ↦ O = A X W_V``: its closed form when ``rank(X W_V) < rank X``, as a SymPy expression.

Notation (as in ``docs/pullback.md``): tokens ``X ∈ R^{n×d}``, ``V = X W_V ∈ R^{n×d_v}`` with
``p = rank V``, weights ``A`` with row Jacobians ``J_i = ∂A_i/∂S_i``, ``w`` the dimension of the
pulled-back space of the weights map ``θ ↦ A`` (its closed forms: :mod:`.rank_formulas`), ``n'`` the
number of distinct tokens (rows of ``X``).

**The bound holds for every input.**  ``dO = dA · V``, so the output Jacobian is
``J_O = (I_n ⊗ Vᵀ) J_A`` (row-major ``vec``) and

1. ``rank J_O ≤ rank J_A = w``;
2. row ``i`` of ``dO`` is ``dS_iᵀ J_i V``, a vector of ``row V = col Vᵀ`` (dimension ``p``), and it
   depends on ``i`` only through ``x_i``: ``dS_i`` is ``X dMᵀ x_i/√d`` (M form) or
   ``(X W_K dW_Qᵀ x_i + X dW_K W_Qᵀ x_i)/√d_k`` (factorized) and ``J_i`` is a function of the score row
   ``S_i``, itself a function of ``x_i``.  Equal tokens give equal rows, so the image lies in the
   ``n' p``-dimensional space of ``n × d_v`` matrices with rows in ``row V``, equal on equal tokens.

Hence ``rank J_O ≤ β := min(w, n'·p)`` (:func:`output_bound`).  For ``p = rank X`` the second term
is at least ``n' r ≥ r² ≥ w`` (distinct tokens span ``row X``, so ``n' ≥ r``): ``β = w``, the old
"the output keeps the weights' dimension" case is the special case ``p = r`` of the same formula.

**The bound is the generic value (softmax, every parametrization; every kernel in the M form).**
Write ``rank J_O = w − dim(T_A ∩ ker L)``, ``T_A = im J_A``, ``L(E) = E V``, ``ker L = Rⁿ ⊗ (row V)^⊥``.
A dimension count — ``T_A`` against a ``p``-dimensional ``row V`` inside the ``r``-dimensional
``row X`` — gives ``dim(T_A ∩ ker L) = max(0, w − n' p)`` when the two meet transversally, i.e.
``rank J_O = β``.  Transversality is not automatic (see below), so the generic statement is proved
per size, not in general: the entries of ``J_O`` are real-analytic in ``(θ, W_V)`` (rational for the
polynomial kernels), so the set where ``rank J_O < β`` is either everything or a proper analytic
subset (measure zero).  One point of ``(θ, W_V)`` at which the exact rank equals ``β`` therefore
proves ``rank J_O = β`` for almost every ``(θ, W_V)`` at those tokens.  That point is the user's own
input: :mod:`theorem.numeric.output_certificate` computes the rank there exactly (python-flint:
over ``Q`` for poly2/CSQ, whose weights are rational at rational inputs; for softmax a certified
lower bound in ball arithmetic meeting the proved upper bound ``β``, the bound's terms ``w``,
``n'``, ``p`` all computed exactly).

**Where β is not the generic value.**  Factorized poly2 and CSQ with small ``d_k`` have extra
structure — for poly2 with ``d_k = 1``, ``T_ij = q_i² k_j²`` so every row of ``A`` is the same
``a = k²/‖k‖²`` and ``rank J_O = min(w, p)`` — and ``β`` is then only a bound.  There the exact
rank at the input (over ``Q``) is the prediction; no closed form in ``(n, d, d_k, d_v)`` is claimed.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["W", "N_DISTINCT", "P", "output_bound", "evaluate_output_bound", "OUTPUT_FORMULA"]

W, N_DISTINCT, P = sp.symbols("w n_prime p", integer=True, nonnegative=True)

OUTPUT_FORMULA = "min(w, n'·p)"


def output_bound() -> sp.Expr:
    """``β = min(w, n'·p)``: ``w`` the weights map's dimension, ``n'`` distinct tokens, ``p = rank(X W_V)``."""
    return sp.Min(W, N_DISTINCT * P)


def evaluate_output_bound(w: int, n_distinct: int, p: int) -> int:
    """``β`` at integers (each a nonnegative integer; ValueError otherwise)."""
    vals = {"w": w, "n_distinct": n_distinct, "p": p}
    for name, v in vals.items():
        if isinstance(v, bool) or int(v) != v or v < 0:
            raise ValueError(f"{name} must be a nonnegative integer, got {v!r}")
    return int(output_bound().subs({W: int(w), N_DISTINCT: int(n_distinct), P: int(p)}))
