r"""SymPy side of d2check: matrix-calculus derivations and rank closed forms.

* :mod:`.derivations` — each function *performs* a derivation (general ``MatrixSymbol``
  identity and/or explicit-size component check) and returns a :class:`Derivation`;
* :mod:`.rank_formulas` — closed forms for the rank of the pulled-back gradient space,
  e.g. :math:`r^2` (scores), :math:`r(r-e)` (softmax weights), :math:`r^2-m` (poly2).
"""

from .derivations import (
    Derivation,
    all_derivations,
    backward_pullback,
    check_factorized_components,
    check_forward_jacobian,
    check_pullback_components,
    check_row_jacobian,
    factorized_gradients,
    forward_jacobian_kronecker,
    general_identity,
    poly2_row,
    poly2_row_jacobian,
    softmax_jacobian,
    softmax_row,
)
from .rank_formulas import (
    ambient_dimension,
    available_formulas,
    evaluate,
    exact_invariants,
    formula,
    kronecker_rank_examples,
    latex_table,
    paper_claimed_dimension,
    prove_kronecker_rank_formula,
)

__all__ = [
    "Derivation",
    "all_derivations",
    "backward_pullback",
    "forward_jacobian_kronecker",
    "softmax_jacobian",
    "poly2_row_jacobian",
    "factorized_gradients",
    "general_identity",
    "check_pullback_components",
    "check_forward_jacobian",
    "check_row_jacobian",
    "check_factorized_components",
    "softmax_row",
    "poly2_row",
    "formula",
    "available_formulas",
    "ambient_dimension",
    "paper_claimed_dimension",
    "evaluate",
    "latex_table",
    "exact_invariants",
    "kronecker_rank_examples",
    "prove_kronecker_rank_formula",
]
