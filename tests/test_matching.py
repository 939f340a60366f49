"""Unit tests of the matching toolkit: ``theorem.numeric.matching``, ``theorem.symbolic.matching``,
``theorem.numeric.bottleneck`` — shapes, hand-computed values, closed forms, bad input."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from theorem.kernels import get_kernel
from theorem.numeric import bottleneck as bn
from theorem.numeric import matching as nm
from theorem.symbolic import matching as sm

# --------------------------------------------------------------------------------
# kernels and one-query weights
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(nm.MATCHING_KERNELS))
def test_query_weights_are_a_probability_vector(name):
    rng = np.random.default_rng(0)
    w = nm.query_weights(nm.matching_kernel(name), rng.standard_normal(3), rng.standard_normal((5, 3)))
    assert w.shape == (5,)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1) < 1e-12


def test_rbf_kernel_by_hand():
    q = np.array([[0.0, 1.0]])
    k = np.array([[0.0, 1.0], [2.0, 1.0], [0.0, -1.0]])
    d2 = np.array([0.0, 4.0, 4.0])
    expected = np.exp(-d2 / (2 * math.sqrt(2)))
    expected /= expected.sum()
    got = np.asarray(nm.ScaledRBFSoftmax().weights(jnp.asarray(q), jnp.asarray(k)))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_rbf_kernel_has_no_score_form():
    with pytest.raises(ValueError, match="rbf"):
        nm.ScaledRBFSoftmax().weights_from_scores(jnp.zeros((2, 2)))


def test_unknown_matching_kernel_is_named():
    with pytest.raises(ValueError, match="kernel: unknown matching kernel 'cosine'"):
        nm.matching_kernel("cosine")


@pytest.mark.parametrize(
    "q, keys, match",
    [
        (np.zeros((2, 2)), np.zeros((2, 2)), "q:"),
        (np.zeros(2), np.zeros((1, 2)), "keys:"),
        (np.zeros(2), np.zeros((3, 3)), "keys:"),
        (np.array([np.nan, 0.0]), np.zeros((2, 2)), "NaN"),
    ],
)
def test_matching_case_rejects_bad_shapes(q, keys, match):
    with pytest.raises(ValueError, match=match):
        nm.MatchingCase(q, keys)


# --------------------------------------------------------------------------------
# reversal, conditions
# --------------------------------------------------------------------------------


def test_reversal_poly2_by_hand():
    # s = (1, −10): the key with the larger dot product gets 1/101 of the mass
    case = nm.MatchingCase(np.array([1.0]), np.array([[1.0], [-10.0]]))
    rev = nm.reversal(nm.matching_kernel("poly2"), case, "a")
    assert rev.violated and (rev.i, rev.j) == (0, 1)
    assert rev.amount == pytest.approx((100 / 101 - 1 / 101) / (100 / 101), rel=1e-12)


def test_reversal_without_premise_is_not_a_violation():
    case = nm.MatchingCase(np.array([0.0]), np.array([[1.0], [2.0]]))  # all scores 0: no premise for (a)
    rev = nm.reversal(nm.matching_kernel("softmax"), case, "a")
    assert not rev.violated and rev.amount == -1.0


def test_reversal_reading_is_checked():
    case = nm.MatchingCase(np.array([1.0]), np.array([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="reading"):
        nm.reversal(nm.matching_kernel("softmax"), case, "c")


def test_quadratic_order_margin():
    assert nm.quadratic_order_margin(np.array([3.0, -1.0, 0.5])) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="t:"):
        nm.quadratic_order_margin(np.array([1.0]))


def test_kernel_offsets_are_centered_shifted_scores():
    case = nm.MatchingCase(np.array([1.0]), np.array([[0.0], [1.0], [4.0]]))
    t = nm.kernel_offsets(nm.matching_kernel("csq"), case)
    np.testing.assert_allclose(t, np.array([0.0, 1.0, 4.0]) - 5 / 3 + 1.0, rtol=1e-14)
    assert nm.kernel_offsets(nm.matching_kernel("softmax"), case) is None
    assert nm.vertex_margin(nm.matching_kernel("softmax"), case) == math.inf


def test_candidate_conditions_follow_the_derivations():
    cc = nm.candidate_conditions
    assert cc(nm.matching_kernel("softmax"), "a") == ()
    assert cc(nm.matching_kernel("softmax"), "b") == ("equal-key-norms",)
    assert cc(nm.matching_kernel("rbf"), "a") == ("equal-key-norms",)
    assert cc(nm.matching_kernel("rbf"), "b") == ()
    assert cc(nm.matching_kernel("csq"), "b") == ("above-vertex", "equal-key-norms")


def test_meets():
    kern = nm.matching_kernel("csq")
    equal = nm.MatchingCase(np.array([1.0, 0.0]), np.array([[3.0, 4.0], [5.0, 0.0]]))
    assert nm.meets(kern, equal, ("equal-key-norms",))
    assert not nm.meets(kern, nm.MatchingCase(np.array([1.0]), np.array([[1.0], [2.0]])), ("equal-key-norms",))
    with pytest.raises(ValueError, match="unknown condition"):
        nm.meets(kern, equal, ("sorted",))


def test_search_counterexample_bad_arguments():
    with pytest.raises(ValueError, match="reading"):
        nm.search_counterexample("softmax", "z")
    with pytest.raises(ValueError, match="conditions"):
        nm.search_counterexample("softmax", "a", ("sorted",))
    with pytest.raises(ValueError, match="max_examples"):
        nm.search_counterexample("softmax", "a", max_examples=0)


def test_search_is_deterministic_and_minimal_for_poly2():
    first = nm.search_counterexample("poly2", "a", max_examples=50)
    second = nm.search_counterexample("poly2", "a", max_examples=50)
    assert first.found and first.counterexample == second.counterexample
    assert len(first.counterexample["keys"]) == 2 and len(first.counterexample["q"]) == 1


def test_matching_cases_bad_arguments():
    with pytest.raises(ValueError, match="matching_cases"):
        nm.matching_cases(max_keys=1)


# --------------------------------------------------------------------------------
# contrast
# --------------------------------------------------------------------------------


def test_contrast_case_layout():
    case = nm.contrast_case("softmax", 4, 0.5, 2.0)
    np.testing.assert_allclose(case.scores, [2.5, 0.5, 0.5, 0.5])
    rbf = nm.contrast_case("rbf", 3, -8.0, 2.0)
    np.testing.assert_allclose(-(rbf.keys[:, 0] ** 2) / 2, [-6.0, -8.0, -8.0])


@pytest.mark.parametrize(
    "args, match",
    [(("softmax", 2, 0.0, 1.0), "n:"), (("rbf", 3, -1.0, 2.0), "RBF score"), (("cosine", 3, 0.0, 1.0), "kernel")],
)
def test_contrast_case_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        nm.contrast_case(*args)


def test_best_key_mass_softmax_by_hand():
    assert nm.best_key_mass("softmax", 5, 0.0, math.log(4)) == pytest.approx(0.5, rel=1e-12)


def test_measure_contrast_gap_softmax():
    got = nm.measure_contrast_gap("softmax", 7, 1.0)
    assert got["gap"] == pytest.approx(math.log(6), rel=1e-12)
    assert got["first_crossing"] and got["mass_at_gap"] >= 0.5


# --------------------------------------------------------------------------------
# realistic rates, penalty
# --------------------------------------------------------------------------------


def test_predicted_vertex_rate_edge_cases():
    assert nm.predicted_vertex_misorder_rate(center=True, shift=0.0, n=10) == 0.5
    small = nm.predicted_vertex_misorder_rate(center=True, shift=5.0, n=10)
    assert 0 < small < 1e-6
    with pytest.raises(ValueError, match="n:"):
        nm.predicted_vertex_misorder_rate(center=True, shift=1.0, n=2)
    with pytest.raises(ValueError, match="query"):
        nm.predicted_vertex_misorder_rate(center=False, shift=1.0, n=10, query="uniform")


def test_predicted_euclid_rate_dk1_is_a_normal_tail():
    from scipy.stats import norm

    assert nm.predicted_euclid_misorder_rate(dk=1) == pytest.approx(norm.sf(2 / math.sqrt(2)), rel=1e-12)
    with pytest.raises(ValueError, match="dk"):
        nm.predicted_euclid_misorder_rate(dk=0)


def test_realistic_rates_bad_input():
    with pytest.raises(ValueError, match="query"):
        nm.realistic_violation_rates("csq", query="uniform")
    with pytest.raises(ValueError, match="key_mean"):
        nm.realistic_violation_rates("csq", key_mean=-1.0)
    with pytest.raises(ValueError, match="trials"):
        nm.realistic_violation_rates("csq", trials=1)


def test_csq_penalty_values():
    s = jnp.asarray([[-3.0, 0.5, 2.5]])
    assert float(nm.csq_penalty(s, 1.0)) == pytest.approx(4.0 / 3.0)
    assert float(nm.csq_penalty(s, 3.0)) == 0.0
    with pytest.raises(ValueError, match="shift"):
        nm.csq_penalty(s, -1.0)


def test_penalty_sweep_bad_input():
    with pytest.raises(ValueError, match="kernel_name"):
        nm.penalty_sweep((0.0,), kernel_name="poly2")
    with pytest.raises(ValueError, match="lams"):
        nm.penalty_sweep((-1.0,))
    with pytest.raises(ValueError, match="seeds"):
        nm.penalty_sweep((0.0,), seeds=())
    with pytest.raises(ValueError, match="lr"):
        nm.penalty_sweep((0.0,), lr=0.0)


# --------------------------------------------------------------------------------
# symbolic
# --------------------------------------------------------------------------------


def test_softmax_rbf_identity_holds():
    d = sm.softmax_rbf_identity(row_sizes=(1, 2, 3))
    assert d.holds, d.detail


def test_factorization_verdicts():
    assert sm.factorization("softmax").splits
    assert not sm.factorization("poly2").splits
    assert not sm.factorization("csq").splits
    with pytest.raises(ValueError, match="kernel"):
        sm.factorization("linear")


def test_equal_norm_reduction_and_variance():
    assert sm.equal_norm_reduction().holds
    assert sm.centered_pair_sum_variance().holds


def test_monotone_regions():
    assert sm.monotone_region("softmax").everywhere
    assert not sm.monotone_region("poly2").everywhere
    assert sm.monotone_region("csq").region == str(sp.Interval.open(0, sp.oo))


@pytest.mark.parametrize("kernel", sm.CONTRAST_KERNELS)
def test_contrast_closed_forms_hold(kernel):
    g = sm.contrast_gap(kernel)
    assert g.holds, g.detail


def test_contrast_values_by_hand():
    assert sm.contrast_gap_value("softmax", 11, 3.0) == pytest.approx(math.log(10))
    assert sm.contrast_gap_value("poly2", 10, 1.0) == pytest.approx(2.0)  # 3·1 − 1
    assert sm.contrast_gap_value("poly2", 10, -1.0) == pytest.approx(4.0)  # 3·1 + 1
    m = math.sqrt(9)
    assert sm.contrast_gap_value("csq", 10, 0.0, shift=2.0) == pytest.approx(10 * 2 * (m - 1) / (9 + m))
    assert sm.contrast_gap_value("linear", 10, 1.0) == pytest.approx(16.0)  # (n − 2)(1 + L)
    with pytest.raises(ValueError, match="n:"):
        sm.contrast_gap_value("softmax", 2, 0.0)
    with pytest.raises(ValueError, match="kernel"):
        sm.contrast_gap("cosine")


# --------------------------------------------------------------------------------
# bottleneck
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", bn.PATTERNS)
def test_target_patterns_are_row_stochastic(kind):
    t = bn.target_pattern(kind, 9, seed=2)
    assert t.shape == (9, 9)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    support = (t > 0).sum(axis=1)
    expected = {"permutation": 1, "sparse": 3}.get(kind)
    if expected:
        assert np.all(support == expected)
    else:
        assert support[0] == 2 and support[4] == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [({"kind": "diagonal", "n": 4}, "kind"), ({"kind": "sparse", "n": 4, "nnz": 5}, "nnz"), ({"kind": "banded", "n": 1}, "n:")],
)
def test_target_pattern_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bn.target_pattern(**kwargs)


def test_fit_patterns_bad_input():
    good = bn.target_pattern("permutation", 4)[None]
    with pytest.raises(ValueError, match="targets"):
        bn.fit_patterns(good[0], (2,))
    with pytest.raises(ValueError, match="targets"):
        bn.fit_patterns(good * 2, (2,))
    with pytest.raises(ValueError, match="kernels"):
        bn.fit_patterns(good, (2,), kernels=("linear",))
    with pytest.raises(ValueError, match="dks"):
        bn.fit_patterns(good, (0,))
    with pytest.raises(ValueError, match="bound"):
        bn.fit_patterns(good, (2,), bound=-1.0)


def test_total_variation_by_hand():
    a = jnp.asarray([[0.5, 0.5], [1.0, 0.0]])
    t = jnp.asarray([[1.0, 0.0], [1.0, 0.0]])
    assert float(bn.total_variation(a, t)) == pytest.approx(0.25)


def test_circle_construction_limits():
    assert bn.circle_construction_error(5, 0.0) == pytest.approx(0.8)  # uniform over 5 keys
    assert bn.circle_construction_error(5, 200.0) < 1e-12
    with pytest.raises(ValueError):
        bn.circle_construction_error(0, 1.0)


def test_softmax_lower_bound_by_hand():
    t = bn.target_pattern("permutation", 4)
    assert bn.softmax_error_lower_bound(t, 0.0) == pytest.approx(0.75)


def test_log_attention_rank_needs_positive_weights():
    with pytest.raises(ValueError, match="weights"):
        bn.log_attention_rank(np.eye(3))
    k = get_kernel("softmax")
    rng = np.random.default_rng(0)
    q, kk = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    assert bn.log_attention_rank(np.asarray(k.weights(jnp.asarray(q), jnp.asarray(kk))))["rank"] == 3


def test_circle_construction_weights_bad_input():
    with pytest.raises(ValueError, match="perm"):
        bn.circle_construction_weights(np.array([0, 0, 1]), 1.0)
    with pytest.raises(ValueError, match="bound"):
        bn.circle_construction_weights(np.arange(3), -1.0)
