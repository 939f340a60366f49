"""theorem.training.statistics against independent oracles: scipy's Wilson interval, a published Newcombe
example, the exact power by a Monte-Carlo simulation written here, and width brackets counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from theorem.training.statistics import (
    minimum_detectable_difference,
    newcombe_difference,
    power_two_proportions,
    seeds_to_certify,
    width_interval,
    wilson_interval,
)


@st.composite
def counts(draw):
    n = draw(st.integers(1, 400))
    return draw(st.integers(0, n)), n


@given(counts(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy(kn, confidence):
    k, n = kn
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lo, hi = wilson_interval(k, n, confidence)
    assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_newcombe_reproduces_the_published_example():
    # Newcombe (1998), Stat. Med. 17:873, Table II, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339
    d = newcombe_difference(56, 70, 48, 80)
    assert d["difference"] == pytest.approx(0.2)
    assert d["low"] == pytest.approx(0.0524, abs=1e-4) and d["high"] == pytest.approx(0.3339, abs=1e-4)


@given(counts(), counts())
def test_newcombe_from_scipy_wilson_bounds(a, b):
    (k1, n1), (k2, n2) = a, b
    w1 = stats.binomtest(k1, n1).proportion_ci(method="wilson")
    w2 = stats.binomtest(k2, n2).proportion_ci(method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    d = newcombe_difference(k1, n1, k2, n2)
    assert d["low"] == pytest.approx(p1 - p2 - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2), abs=1e-12)
    assert d["high"] == pytest.approx(p1 - p2 + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2), abs=1e-12)
    assert d["low"] <= p1 - p2 <= d["high"]


def _simulated_power(p1, p2, n1, n2, alpha, draws=40_000, seed=0):
    """Pooled two-sided z-test applied to simulated pairs of counts."""
    rng = np.random.default_rng(seed)
    k1 = rng.binomial(n1, p1, draws)
    k2 = rng.binomial(n2, p2, draws)
    pooled = (k1 + k2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.divide(np.abs(k1 / n1 - k2 / n2), se, out=np.zeros(draws), where=se > 0)
    return float(np.mean(z > stats.norm.ppf(1 - alpha / 2)))


@pytest.mark.parametrize("p1,p2,n1,n2", [(0.0, 0.044, 45, 45), (0.3, 0.5, 60, 60), (0.1, 0.4, 45, 35),
                                         (0.5, 0.5, 45, 45), (0.9, 0.6, 20, 30)])
def test_exact_power_matches_simulation(p1, p2, n1, n2):
    exact = power_two_proportions(p1, p2, n1, n2, 0.05)
    sim = _simulated_power(p1, p2, n1, n2, 0.05)
    assert abs(exact - sim) < 4 * math.sqrt(max(sim * (1 - sim), 1e-4) / 40_000) + 1e-3


def test_power_is_near_the_normal_approximation_at_moderate_rates():
    # textbook normal approximation of the power of the two-sided test of 0.3 vs 0.5 with n = 200 per group
    p1, p2, n = 0.3, 0.5, 200
    pbar = (p1 + p2) / 2
    z = (abs(p1 - p2) - stats.norm.ppf(0.975) * math.sqrt(2 * pbar * (1 - pbar) / n)) / math.sqrt(
        (p1 * (1 - p1) + p2 * (1 - p2)) / n)
    assert power_two_proportions(p1, p2, n, n) == pytest.approx(stats.norm.cdf(z), abs=0.02)


def test_minimum_detectable_difference_is_the_first_shift_reaching_the_power():
    out = minimum_detectable_difference(0.2, 45, 45, +1)
    d = out["delta"]
    assert d is not None and 0.05 < d < 0.5
    assert power_two_proportions(0.2 + d, 0.2, 45, 45) >= 0.8
    assert power_two_proportions(0.2 + d - 0.001, 0.2, 45, 45) < 0.8


def test_no_reduction_of_a_rare_rate_is_detectable():
    out = minimum_detectable_difference(2 / 45, 45, 45, -1)
    assert out["delta"] is None
    assert out["power_at_extreme"] == pytest.approx(_simulated_power(0.0, 2 / 45, 45, 45, 0.05), abs=0.01)


def test_seeds_to_certify_against_scipy():
    n = seeds_to_certify(0.8)
    low = lambda m: stats.binomtest(m, m).proportion_ci(method="wilson").low  # noqa: E731
    assert low(n) >= 0.8 > low(n - 1)


def test_width_bracket_counted_by_hand():
    # 16 seeds: 16/16 has Wilson lower bound ≥ 0.8 (certified), 13/16 reaches the quorum on the point estimate only,
    # 10/16 reaches it only on the upper bound, 2/16 on none
    trained = [2, 16, 16, 13, 10, 16, 2]
    w = width_interval(trained, 16, 0.5, 0.8)
    up = [stats.binomtest(k, 16).proportion_ci(method="wilson").high >= 0.8 for k in trained]
    assert up == [False, True, True, True, True, True, False]
    assert w == {"width": 1.5, "low": 1.0, "high": 2.5, "spacing": 0.5}
