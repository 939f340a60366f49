r"""Why no case can be above CSQ's vertex without a shift (claim T6, readings ``csq-noshift``).

CSQ's weights are :math:`(\tilde s_j + c)^2` with centred scores :math:`\tilde s_j = s_j - \bar s`.
The condition ``above-vertex`` asks :math:`\tilde s_j + c > 0` for every key.  The centred scores
sum to zero for every :math:`n` (SymPy, with :math:`n` symbolic), so at :math:`c = 0` the sum of
the :math:`t_j = \tilde s_j` is zero and they cannot all be positive: the condition is unsatisfiable,
whatever a search draws.  (At :math:`c > 0` it is met, e.g. by equal scores.)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

__all__ = ["CenteredSum", "centered_scores_sum"]


@dataclass(frozen=True)
class CenteredSum:
    r""":math:`\sum_{j=1}^n (s_j - \bar s)` simplified with ``n`` symbolic, and what follows."""

    expr: sp.Expr  # the sum as SymPy writes it before simplification
    value: sp.Expr  # its simplified value (0)
    holds: bool  # value == 0 identically
    statement: str


def centered_scores_sum() -> CenteredSum:
    r"""Prove :math:`\sum_j (s_j - \frac1n\sum_i s_i) = 0` for symbolic ``n`` and scores ``s_1..s_n``.

    Consequence: with shift :math:`c = 0`, :math:`t_j = \tilde s_j` sum to zero, so
    :math:`t_j > 0` for all :math:`j` is impossible (for any :math:`n \ge 1`).
    """
    n = sp.Symbol("n", integer=True, positive=True)
    j = sp.Symbol("j", integer=True)
    s = sp.IndexedBase("s")
    total = sp.Sum(s[j], (j, 1, n))
    expr = sp.Sum(s[j] - total / n, (j, 1, n))
    value = sp.simplify(sp.expand(expr).doit())
    holds = value == 0
    statement = (
        f"Σ_j (s_j − s̄) = {value} for every n (SymPy, n symbolic): with c = 0 the t_j = s̃_j sum to zero, "
        "so they cannot all be positive — no input meets 'above-vertex'"
    )
    return CenteredSum(expr, value, bool(holds), statement)
