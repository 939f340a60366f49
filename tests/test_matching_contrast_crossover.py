"""T6.c's crossover and T6.noshift's proof, against oracles written here (plain floats, a brute-force sum)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorem.symbolic.matching import centered_scores_sum, contrast_crossover


def csq_gap(n: float, c: float) -> float:
    """Δ* = n c (√(n−1) − 1)/(n − 1 + √(n−1)), written out (issue 12's closed form)."""
    m = math.sqrt(n - 1)
    return n * c * (m - 1) / (n - 1 + m)


@pytest.mark.parametrize("c", [0.25, 0.5, 1.0])
def test_crossover_is_where_the_two_gaps_meet(c):
    out = contrast_crossover(c)
    sharper = [n for n in range(3, 5000) if csq_gap(n, c) < math.log(n - 1)]
    assert sharper == list(range(3, out.sharper_up_to + 1))
    assert abs(csq_gap(out.n_star, c) - math.log(out.n_star - 1)) < 1e-9


def test_c_one_is_sharper_than_softmax_exactly_up_to_21():
    assert contrast_crossover(1.0).sharper_up_to == 21


def test_a_large_shift_is_never_sharper():
    out = contrast_crossover(2.0)
    assert out.n_star is None and out.sharper_up_to == 0 and csq_gap(3, 2.0) > math.log(2)


def test_shift_schedules_move_the_gap_as_derived():
    sc = contrast_crossover(1.0).scaling
    # oracle: the gap over log n at n = 1e12 under each schedule (c0 = 1)
    n = 1e12
    ratio = {k: csq_gap(n, f(n)) / math.log(n) for k, f in {
        "c = c0·log(n)/√n": lambda n: math.log(n) / math.sqrt(n), "c = c0/√n": lambda n: 1 / math.sqrt(n),
        "c = c0·√n": lambda n: math.sqrt(n)}.items()}
    assert sc["c = c0·log(n)/√n"] == "c_0" and abs(ratio["c = c0·log(n)/√n"] - 1) < 1e-5
    assert sc["c = c0/√n"] == "0" and ratio["c = c0/√n"] < 0.05
    assert sc["c = c0·√n"] == "oo" and ratio["c = c0·√n"] > 1e4


def test_centred_scores_sum_to_zero_so_noshift_never_meets_above_vertex():
    assert centered_scores_sum().holds
    rng = np.random.default_rng(0)
    for n in (2, 3, 17):  # brute force: some centred score is ≤ 0 (c = 0) on every draw
        s = rng.standard_normal((1000, n)) * 10
        t = s - s.mean(axis=1, keepdims=True)
        assert np.all(np.min(t, axis=1) <= 1e-12)
