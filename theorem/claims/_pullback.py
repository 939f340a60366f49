"""Shared evidence for the pulled-back gradient space (claims T1 and R3): the fixed panel of inputs, the
claims' regime, and :func:`measure_row` (:mod:`theorem.numeric.pullback_row`: one configuration measured,
its closed form beside it).
"""

from __future__ import annotations

import numpy as np

from theorem.numeric.pullback_row import measure_row
from theorem.strategies import TokenSpec

__all__ = ["PANEL", "measure_row", "in_regime", "comparable", "agreement"]

# a fixed panel: generic and degenerate token matrices on both sides of n = d
PANEL: tuple[tuple[str, TokenSpec], ...] = (
    ("Gaussian, n > d", TokenSpec(12, 4, "gaussian", 1)),
    ("Gaussian, n = d", TokenSpec(4, 4, "gaussian", 2)),
    ("Gaussian, n < d", TokenSpec(3, 4, "gaussian", 3)),
    ("repeated tokens", TokenSpec(12, 4, "repeated", 4)),
    ("rank-deficient X", TokenSpec(12, 4, "low_rank", 5)),
    ("shared offset", TokenSpec(12, 4, "offset", 6)),
    ("LayerNorm, no affine", TokenSpec(12, 4, "layernorm", 7)),
    ("LayerNorm + affine", TokenSpec(12, 4, "layernorm_affine", 8)),
    ("tiny scale", TokenSpec(12, 4, "gaussian", 9, 1e-3)),
)


def in_regime(spec: TokenSpec) -> bool:
    """The regime the claims T1/R3 speak of: d ≥ 2, more tokens than dimensions, tokens of full rank d."""
    return spec.d >= 2 and spec.n > spec.d and int(np.linalg.matrix_rank(spec.build())) == spec.d


def comparable(row: dict) -> bool:
    """A row whose measured rank is well defined and whose closed form is claimed."""
    return row["rank_status"] == "ok" and row["prediction_valid"]


def agreement(rows: list[dict]) -> tuple[int, int, list[dict]]:
    """(agreeing, comparable, mismatches) over rows."""
    comp = [r for r in rows if comparable(r)]
    bad = [r for r in comp if r["measured"] != r["predicted"]]
    return len(comp) - len(bad), len(comp), bad
