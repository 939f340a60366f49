"""Measured ranks: float64 ranks of ``A`` and ``S`` with tolerances set by the rounding bounds."""

from __future__ import annotations

import math

import numpy as np

from theorem.kernels import Kernel
from theorem.numeric.attention_rank.inputs import EPS, QK, check_kernel, factors
from theorem.numeric.attention_rank.matrices import attention_matrix
from theorem.numeric.attention_rank.rounding import undefined_rows, weights_error_bound
from theorem.numeric.rank import RankResult, numerical_rank

__all__ = ["measured_rank", "score_rank"]


def measured_rank(kernel: Kernel | str, head_or_q: QK, k: np.ndarray | None = None,
                  causal: bool = False) -> RankResult:
    """Float64 rank of ``A`` (:func:`theorem.numeric.rank.numerical_rank`) with the
    tolerance raised to the rounding bound :func:`weights_error_bound` where that is larger.

    The result is a lower bound on the exact rank (see :func:`weights_error_bound`); it
    equals the exact rank when it meets an upper bound (:func:`predicted_rank`).  Raises
    ``ValueError`` when ``A`` is undefined (a row of ``T`` sums to 0).
    """
    kernel = check_kernel(kernel)
    bad = undefined_rows(kernel, head_or_q, k, causal)
    if bad.size:
        raise ValueError(f"A is undefined: row {int(bad[0])} of the unnormalized weights sums to 0 (0/0)")
    a = attention_matrix(kernel, head_or_q, k, causal)
    bound = weights_error_bound(kernel, head_or_q, k, causal)
    return numerical_rank(a, reference=bound / (a.shape[0] * EPS))


def score_rank(head_or_q: QK, k: np.ndarray | None = None) -> RankResult:
    """Float64 rank of ``S = Q Kᵀ/√d_k`` (the T3.a quantity), tolerance from its rounding bound."""
    q, kk, dq, dkk = factors(head_or_q, k)
    sc = math.sqrt(q.shape[1])
    s = q @ kk.T / sc
    err = (q.shape[1] + 2) * EPS * (np.abs(q) @ np.abs(kk).T) / sc + (dq @ np.abs(kk).T + np.abs(q) @ dkk.T) / sc
    return numerical_rank(s, reference=float(np.linalg.norm(err)) / (s.shape[0] * EPS))
