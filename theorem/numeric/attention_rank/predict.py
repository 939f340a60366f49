"""``rank A`` predicted from invariants of the input, with the conditions the prediction rests on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from jaxtyping import Float

from theorem.kernels import Kernel, LinearElu, Softmax
from theorem.numeric.attention_rank.closed_forms import upper_bound
from theorem.numeric.attention_rank.inputs import EPS, Head, check_kernel, factors
from theorem.numeric.attention_rank.matrices import feature_lifts
from theorem.numeric.attention_rank.rounding import t_with_error, undefined_rows
from theorem.numeric.rank import numerical_rank

__all__ = ["RankPrediction", "token_classes", "predicted_rank"]


@dataclass
class RankPrediction:
    """A predicted ``rank A`` with the invariants it came from and the conditions it needs."""

    rank: int | None
    formula: str
    bound: int
    invariants: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.rank is not None and not self.violations

    def to_dict(self) -> dict:
        return {
            "predicted": self.rank,
            "formula": self.formula,
            "bound": self.bound,
            "invariants": self.invariants,
            "conditions": self.conditions,
            "violations": self.violations,
        }


def token_classes(rows: Float[np.ndarray, "n m"], *, modulo_constant: bool = False, tol: float | None = None) -> int:
    """Number of distinct rows (``modulo_constant``: rows equal up to adding a constant).

    Two rows are equal when they differ by at most ``tol`` entrywise (default
    ``64·eps·max|rows|·width``, i.e. only round-off).
    """
    z = np.asarray(rows, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"rows must be a 2-D array, got shape {z.shape}")
    if z.shape[0] == 0:
        return 0
    if modulo_constant:
        z = z - z.mean(axis=1, keepdims=True)
    if tol is None:
        tol = 64 * EPS * max(float(np.max(np.abs(z))), 1e-300) * max(z.shape[1], 1)
    label = -np.ones(z.shape[0], dtype=int)
    classes = 0
    for i in range(z.shape[0]):
        if label[i] >= 0:
            continue
        same = np.max(np.abs(z - z[i]), axis=1) <= tol
        label[same & (label < 0)] = classes
        classes += 1
    return classes


def predicted_rank(kernel: Kernel | str, head: Head, causal: bool = False) -> RankPrediction:
    """``rank A`` from invariants of ``head`` (package doc), with the conditions it rests on.

    Non-causal: softmax → distinct tokens (rows of ``S`` up to constants, columns
    likewise); polynomial and linear kernels → ``min(rank L_Q, rank L_K)``.  Causal: ``n``
    when every ``T_ii > 0``.  The weights are assumed generic (drawn from a density).
    """
    kernel = check_kernel(kernel)
    if not isinstance(head, Head):
        raise ValueError(f"head must be a Head, got {type(head).__name__}")
    if isinstance(kernel, LinearElu) and head.form == "M":
        raise ValueError("kernel: the linear kernel has no M form; draw the head with dk")
    n = head.n
    bound = upper_bound(kernel, n, head.dk, causal)
    inv: dict = {"n": n, "d": head.d, "d_k": head.dk, "form": head.form}
    conditions = ["generic weights (drawn from a density)"]
    violations: list[str] = []
    bad = undefined_rows(kernel, head, causal=causal)
    if bad.size:
        inv["undefined_rows"] = bad.tolist()
        violations.append("A is undefined: a row of T sums to 0 within rounding (0/0)")
        return RankPrediction(None, "A undefined", bound, inv, conditions, violations)
    if causal:
        t, dt = t_with_error(kernel, *factors(head), causal)
        diag, ddiag = np.diag(t), np.diag(dt)
        inv["min_A_ii"] = float(np.min(diag / t.sum(axis=1)))
        if np.all(diag > ddiag):
            conditions.append("every T_ii > 0: T is lower triangular with nonzero diagonal")
            return RankPrediction(n, "n (lower triangular, det = ∏ T_ii ≠ 0)", bound, inv, conditions, violations)
        violations.append("some T_ii = 0 within rounding: a triangular matrix with zero diagonal entries; no closed form")
        return RankPrediction(None, "no closed form", bound, inv, conditions, violations)
    if isinstance(kernel, Softmax):
        s = head.scores()
        rows = token_classes(s, modulo_constant=True)
        cols = token_classes(s.T, modulo_constant=True)
        inv.update(distinct_tokens=token_classes(head.x), row_classes=rows, col_classes=cols)
        conditions.append("exp of distinct score rows is linearly independent (theorem.symbolic.softmax_rank)")
        return RankPrediction(min(rows, cols), "#distinct tokens (rows/columns of S up to constants)", bound,
                              inv, conditions, violations)
    lq, lk = feature_lifts(kernel, head)
    rq, rk = numerical_rank(lq), numerical_rank(lk)
    inv.update(rank_LQ=rq.rank, rank_LK=rk.rank, lift_width=lq.shape[1])
    for name, rr in (("L_Q", rq), ("L_K", rk)):
        if rr.status != "ok":
            violations.append(f"rank of the lift {name} is ill-defined ({rr.summary()})")
    return RankPrediction(min(rq.rank, rk.rank), "min(rank L_Q, rank L_K)", bound, inv, conditions, violations)
