r"""The conditions under which the derivations say (a) or (b) can hold, and whether a case meets them.

* ``equal-key-norms`` removes the key-norm term of the identity (c),
  :math:`q\cdot k = -\tfrac12\lVert q-k\rVert^2 + \tfrac12\lVert k\rVert^2 + \tfrac12\lVert q\rVert^2`;
* ``above-vertex`` keeps a quadratic kernel on the increasing side of its parabola (every
  :math:`t_j > 0`; CSQ: :math:`t_j = \tilde s_j + c`, poly2: :math:`t_j = s_j`).  The exact
  condition is weaker (:func:`theorem.numeric.matching.quadratic_order_margin`);
* ``nonnegative-inputs``: the most favourable natural condition for elu+1, which is no function
  of the score.
"""

from __future__ import annotations

import numpy as np

from theorem.kernels import CSQ, Kernel, LinearElu, Poly2, ScaledRBFSoftmax
from theorem.numeric.matching.cases import MatchingCase, check_reading, vertex_margin

__all__ = ["CONDITIONS", "check_conditions", "candidate_conditions", "meets"]

CONDITIONS: dict[str, str] = {
    "equal-key-norms": "all keys have the same Euclidean norm (e.g. normalized keys)",
    "above-vertex": (
        "every key lies above the parabola's vertex: t_j > 0 for all j "
        "(CSQ: t_j = q·(k_j − k̄)/√d_k + c; poly2: t_j = q·k_j/√d_k)"
    ),
    "nonnegative-inputs": "query and keys have nonnegative entries",
}


def check_conditions(conditions: tuple[str, ...]) -> None:
    """ValueError naming the first condition that is not in :data:`CONDITIONS`."""
    for name in conditions:
        if name not in CONDITIONS:
            raise ValueError(f"conditions: unknown condition {name!r}; choose from {', '.join(CONDITIONS)}")


def candidate_conditions(kernel: Kernel, reading: str) -> tuple[str, ...]:
    """The conditions under which the derivations say ``reading`` can hold for ``kernel``.

    (a) needs the weight to increase with the score: quadratic kernels need ``above-vertex``;
    the RBF softmax, whose score carries ``−‖k‖²/2`` (identity (c)), needs ``equal-key-norms``.
    (b) needs (a) and the key-norm term gone: add ``equal-key-norms`` (the RBF needs nothing).
    The elu+1 kernel is no function of the score; the most favourable natural conditions
    are tried (``nonnegative-inputs``, and equal norms for (b)).
    """
    check_reading(reading)
    if isinstance(kernel, ScaledRBFSoftmax):
        return ("equal-key-norms",) if reading == "a" else ()
    if isinstance(kernel, LinearElu):
        return ("nonnegative-inputs",) if reading == "a" else ("nonnegative-inputs", "equal-key-norms")
    base = ("above-vertex",) if isinstance(kernel, (CSQ, Poly2)) else ()
    return base if reading == "a" else base + ("equal-key-norms",)


def meets(kernel: Kernel, case: MatchingCase, conditions: tuple[str, ...]) -> bool:
    """Whether ``case`` satisfies every named condition (relative tolerance 1e-9 on norms)."""
    check_conditions(conditions)
    for name in conditions:
        if name == "equal-key-norms":
            norms = np.linalg.norm(case.keys, axis=1)
            if np.ptp(norms) > 1e-9 * max(1.0, float(np.max(norms))):
                return False
        elif name == "above-vertex":  # strictly, beyond round-off of the scores (t = s̃ + c can be ~1e-17)
            if not vertex_margin(kernel, case) > 1e-9 * (1.0 + float(np.max(np.abs(case.scores)))):
                return False
        elif name == "nonnegative-inputs":
            if np.any(case.q < 0) or np.any(case.keys < 0):
                return False
    return True
