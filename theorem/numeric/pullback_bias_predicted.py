r"""The closed form of a biased head's pulled-back dimension (derivation: :mod:`theorem.numeric.pullback_bias`).

The count is the factorized closed form of :mod:`theorem.symbolic.rank_formulas` on the augmented tokens
``X̃ = [X, 1]``: ``r̃·k₁ + q₁·r̃ − q₁·k₁ − δ`` with ``δ = e_K·r̃ + (e − e_K)·q₁`` for the softmax maps,
``e = [1 ∈ U]`` and ``e_K = [1 ∈ col K]``; this module measures the invariants and evaluates it.
"""

from __future__ import annotations

import numpy as np

from theorem.numeric.predicted import Prediction, Subspace
from theorem.numeric.pullback_bias import BiasedHead, augment
from theorem.symbolic.rank_formulas import evaluate, formula
from theorem.util.precision import float64

__all__ = ["BiasPrediction", "closed_form", "predict"]


#: a biased head's prediction is the same kind of record as an unbiased one's
BiasPrediction = Prediction


def closed_form(map: str, r: int, q1: int, k1: int, ones_in_u: bool, ones_in_k: bool) -> int:
    """``r·k₁ + q₁·r − q₁·k₁`` minus, for the softmax maps, ``[1 ∈ U]·([1 ∈ K]·r + [1 ∉ K]·q₁)``:
    the SymPy factorized form evaluated at ``r = r̃``, ``e = [1 ∈ U]``, ``e_K = [1 ∈ K]``."""
    expr = formula("softmax", "scores" if map == "scores" else "weights", "factorized")
    return evaluate(expr, r=r, q1=q1, k1=k1, e=int(bool(ones_in_u)), e_K=int(bool(ones_in_k)))


@float64
def predict(head: BiasedHead) -> BiasPrediction:
    """The closed form of the module docstring, from the invariants of ``X̃`` (or ``X``), ``Q'``, ``K'``."""
    violations: list[str] = []
    conditions: list[str] = []
    lead = augment(head.x) if head.biases else head.x
    u = Subspace.column_space(lead)
    xa = augment(head.x)
    q_sp = Subspace.column_space(xa @ head.wq_aug()[:, : head.kv])
    k_sp = Subspace.column_space(xa @ head.wk_aug()[:, : head.kv])
    x_sp = Subspace.column_space(head.x)
    ones = np.ones(head.n)
    ones_in_x = x_sp.contains(ones)
    ones_in_u = True if head.biases else ones_in_x
    ones_in_k = k_sp.contains(ones)
    inv = {"n": head.n, "d": head.d, "k": head.k, "k_varied": head.kv, "rank_X": x_sp.dim, "r": u.dim,
           "q1": q_sp.dim, "k1": k_sp.dim, "ones_in_col_X": ones_in_x, "ones_in_K": ones_in_k,
           "ambient_dim": head.ambient_dim}
    for name, sp in (("X̃" if head.biases else "X", u), ("Q", q_sp), ("K", k_sp), ("X", x_sp)):
        if sp.rank.status != "ok":
            violations.append(f"rank of {name} is ill-defined ({sp.rank.summary()})")
    outside = False
    if not head.biases:
        for name, sp in (("Q'", q_sp), ("K'", k_sp)):
            inside = [u.contains(c) for c in sp.basis.T]
            if any(c is not True for c in inside):
                outside = True
                violations.append(f"col {name} ⊄ col X (1 ∉ col X with fixed biases): the closed form needs it")
    if head.map != "scores":
        if ones_in_u is None:
            violations.append("whether 1 ∈ col X is ambiguous in float64")
        if ones_in_k is None:
            violations.append("whether 1 ∈ col K is ambiguous in float64")
        conditions.append("softmax rows are strictly positive (exact arithmetic): the row null space is span(1)")
    rname = "r̃" if head.biases else "r"
    if outside:
        # Q', K' ⊄ col X: the image is still U ⊗ K + Q ⊗ U, of dimension
        # r·k₁ + q₁·r − dim(U ∩ Q)·dim(U ∩ K); the softmax count is not claimed there
        meet = lambda a, b: a.dim + b.dim - Subspace.column_space(np.hstack([a.basis, b.basis])).dim  # noqa: E731
        uq, uk = meet(u, q_sp), meet(u, k_sp)
        inv.update(dim_U_meet_Q=uq, dim_U_meet_K=uk)
        others = [v for v in violations if "⊄" not in v]
        if head.map == "scores" and not others:
            return BiasPrediction(u.dim * k_sp.dim + q_sp.dim * u.dim - uq * uk,
                                  "r·k₁ + q₁·r − dim(U∩Q)·dim(U∩K)  (Q, K ⊄ U = col X)", inv, conditions, [])
        return BiasPrediction(None, "no closed form claimed (Q', K' ⊄ col X)", inv, conditions, violations)
    if any(v is None for v in (ones_in_u, ones_in_k)) and head.map != "scores":
        return BiasPrediction(None, "undetermined", inv, conditions, violations)
    rank = closed_form(head.map, u.dim, q_sp.dim, k_sp.dim, bool(ones_in_u), bool(ones_in_k))
    formula = f"{rname}·k₁ + q₁·{rname} − q₁·k₁"
    if head.map != "scores":
        if not ones_in_u:
            formula += "  (1 ∉ col X: nothing lost to softmax)"
        elif ones_in_k:
            formula += f" − {rname}  (1 ∈ col K)"
        else:
            formula += " − q₁  (the key-bias direction Q ⊗ 1)"
    inv["image_dim"] = u.dim * k_sp.dim + q_sp.dim * u.dim - q_sp.dim * k_sp.dim
    inv["nullity"] = head.ambient_dim - rank
    return BiasPrediction(rank, formula, inv, conditions, violations)
