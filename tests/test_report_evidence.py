"""The evidence the report's figures need, carried by the readings themselves: the T1 panel rows' singular
values and T6.stab.sweep's Wilson intervals, checked against oracles written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorem.claims._pullback import measure_row
from theorem.claims.t6_stability import _divergence_intervals
from theorem.util.tokens import TokenSpec


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, written out: (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def test_stability_evidence_carries_each_rate_with_its_wilson_interval():
    settings = [{"name": "s", "summaries": {"softmax": {"diverged_runs": 0, "runs": 8},
                                            "poly2": {"diverged_runs": 3, "runs": 8},
                                            "csq": {"diverged_runs": 45, "runs": 45}}}]
    got = _divergence_intervals(settings)["s"]
    for kernel, k, n in (("softmax", 0, 8), ("poly2", 3, 8), ("csq", 45, 45)):
        assert got[kernel]["diverged"] == k and got[kernel]["runs"] == n
        assert got[kernel]["interval"] == pytest.approx(_wilson(k, n), abs=1e-9)
    assert got["softmax"]["interval"][0] == 0.0 and got["csq"]["interval"][1] == 1.0  # inside [0, 1]


def test_panel_rows_carry_the_spectrum_their_rank_was_read_from():
    row = measure_row(TokenSpec(6, 2, "gaussian", 1), "softmax", spectrum=True)
    sv = np.array(row["singular_values"])
    assert np.all(np.diff(sv) <= 0)  # largest first
    assert int(np.sum(sv > row["tolerance"])) == row["measured"] == 4  # d² = 4 for generic tokens, n > d
    assert "singular_values" not in measure_row(TokenSpec(6, 2, "gaussian", 1), "softmax")
