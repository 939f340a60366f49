"""Unit tests of the matching toolkit: ``theorem.numeric.matching``, ``theorem.symbolic.matching``,
``theorem.numeric.bottleneck``, ``theorem.training.penalty_sweep``, ``theorem.training.bottleneck_fit``
— shapes, hand-computed values, closed forms against oracles written here, bad input."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from jaxtyping import TypeCheckError
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import chi2, norm

from theorem.kernels import KERNELS, get_kernel
from theorem.numeric import bottleneck as bn
from theorem.numeric import matching as nm
from theorem.numeric.matching.penalty import task_losses
from theorem.symbolic import matching as sm
from theorem.training.bottleneck_fit import fit_patterns
from theorem.training.penalty_sweep import penalty_sweep

# --------------------------------------------------------------------------------
# kernels and one-query weights
# --------------------------------------------------------------------------------


def test_matching_kernels_are_the_one_registry():
    assert nm.MATCHING_KERNELS is KERNELS
    assert nm.matching_kernel("csq") is KERNELS["csq"]


@pytest.mark.parametrize("name", list(KERNELS))
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
    got = nm.query_weights(nm.matching_kernel("rbf"), q[0], k)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_query_weights_return_float64_without_global_x64():
    with jax.enable_x64(False):
        w = nm.query_weights(nm.matching_kernel("softmax"), np.array([1.0, 2.0]), np.array([[0.0, 1.0], [1.0, 0.0]]))
        assert jnp.ones(2).dtype == jnp.float32  # the caller's setting is restored
    assert w.dtype == np.float64
    e = np.exp(np.array([2.0, 1.0]) / math.sqrt(2))  # scores q·k/√2 = (2, 1)/√2
    np.testing.assert_allclose(w, e / e.sum(), rtol=1e-14)


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
    # the counterexample is a reversal by an oracle: weights ∝ s², larger score, less weight
    q, keys = np.asarray(first.counterexample["q"]), np.asarray(first.counterexample["keys"])
    s = keys @ q / math.sqrt(q.size)
    w = s**2 / np.sum(s**2)
    hi, lo = np.argmax(s), np.argmin(s)
    assert s[hi] > s[lo] and w[hi] < w[lo]


def test_search_finds_nothing_where_nothing_is_violated():
    res = nm.search_counterexample("softmax", "a", max_examples=30)
    assert not res.found and res.counterexample is None
    assert res.met > 0 and res.evaluated >= res.met


def test_search_with_conditions_runs_the_conditional_search_only_after_a_violation():
    free, cond = nm.search_with_conditions("softmax", "a", max_examples=20)
    assert not free.found and cond is None
    free, cond = nm.search_with_conditions("poly2", "a", max_examples=30)
    assert free.found and cond is not None and cond.conditions == ("above-vertex",)


def test_matching_cases_bad_arguments():
    with pytest.raises(ValueError, match="matching_cases"):
        nm.matching_cases(max_keys=1)


@given(nm.matching_arrays(max_dk=2, max_keys=3, bound=4.0, equal_norms=True, nonnegative=True))
def test_matching_arrays_respect_their_bounds(arrays):
    q, keys = arrays
    assert 1 <= q.size <= 2 and 2 <= keys.shape[0] <= 3 and keys.shape[1] == q.size
    assert np.all(q >= 0) and np.all(q <= 4.0)
    norms = np.linalg.norm(keys, axis=1)
    assert np.ptp(norms) <= 1e-9 * max(1.0, norms.max()) and 0.5 - 1e-12 <= norms[0] <= 4.0 + 1e-12


@given(nm.matching_cases(max_dk=1, max_keys=2, bound=1.0))
def test_matching_cases_draw_cases(case):
    assert isinstance(case, nm.MatchingCase) and case.dk == 1 and case.keys.shape == (2, 1)


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


@pytest.mark.parametrize("center, n, tau", [(True, 32, 0.0), (True, 3, 2.0), (False, 32, 1.0), (False, 8, 0.0)])
def test_predicted_vertex_rate_equals_the_normal_tail(center, n, tau):
    # oracle: P(t_i + t_j < 0) with t_i + t_j ~ N(2c, spread²), spread² = 2 − 4/n or 2 + 4τ²
    spread = math.sqrt(2 - 4 / n) if center else math.sqrt(2 + 4 * tau**2)
    got = nm.predicted_vertex_misorder_rate(center=center, shift=0.7, n=n, key_mean=tau)
    assert got == pytest.approx(norm.cdf(-2 * 0.7 / spread), rel=1e-12)


def test_predicted_vertex_rate_for_gaussian_queries_averages_over_sigma():
    f = lambda x: norm.cdf(-2.0 / (math.sqrt(x / 4) * math.sqrt(2 - 4 / 10))) * chi2(4).pdf(x)  # noqa: E731
    oracle = integrate.quad(f, 0, np.inf)[0]
    got = nm.predicted_vertex_misorder_rate(center=True, shift=1.0, n=10, query="gaussian", dk=4)
    assert got == pytest.approx(oracle, rel=1e-7)


def test_predicted_euclid_rate_by_monte_carlo():
    # oracle: the event itself, simulated — u, v ~ N(0, 2I), q of norm √d_k, w = 2μ + v
    rng = np.random.default_rng(0)
    dk, tau, m = 4, 0.5, 400_000
    q = np.zeros(dk)
    q[0] = math.sqrt(dk)
    u = rng.standard_normal((m, dk)) * math.sqrt(2)
    w = rng.standard_normal((m, dk)) * math.sqrt(2 + 4 * tau**2)
    disagree = np.mean(np.sign(u @ q) != np.sign(np.sum(u * (2 * q - w), axis=1)))  # score vs distance order
    assert nm.predicted_euclid_misorder_rate(dk=dk, key_mean=tau) == pytest.approx(disagree, abs=4e-3)


def test_predicted_vertex_rate_edge_cases():
    assert nm.predicted_vertex_misorder_rate(center=True, shift=0.0, n=10) == 0.5
    small = nm.predicted_vertex_misorder_rate(center=True, shift=5.0, n=10)
    assert 0 < small < 1e-6
    with pytest.raises(ValueError, match="n:"):
        nm.predicted_vertex_misorder_rate(center=True, shift=1.0, n=2)
    with pytest.raises(ValueError, match="query"):
        nm.predicted_vertex_misorder_rate(center=False, shift=1.0, n=10, query="uniform")


def test_predicted_euclid_rate_dk1_is_a_normal_tail():
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


def test_task_loss_penalty_is_the_kernels_vertex_penalty():
    # oracle: mean over (batch, query, key) of relu(−(s − mean_j s + c))², c = 1
    rng = np.random.default_rng(4)
    params = {"wq": jnp.asarray(rng.standard_normal((3, 2))), "wk": jnp.asarray(rng.standard_normal((3, 2)))}
    x = jnp.asarray(rng.standard_normal((2, 5, 3)))
    tgt = jnp.asarray(rng.integers(0, 5, (2, 5)))
    nll, pen, s, a, picked = task_losses(KERNELS["csq"], params, x, tgt)
    xs = np.asarray(x)
    s_np = np.einsum("bid,de,bje->bij", xs, np.asarray(params["wq"]) @ np.asarray(params["wk"]).T, xs) / math.sqrt(2)
    t = s_np - s_np.mean(axis=-1, keepdims=True) + 1.0
    assert float(pen) == pytest.approx(np.mean(np.maximum(-t, 0.0) ** 2), rel=1e-12)
    w = t**2 / np.sum(t**2, axis=-1, keepdims=True)
    picked_np = np.take_along_axis(w, np.asarray(tgt)[..., None], axis=-1)[..., 0]
    assert float(nll) == pytest.approx(-np.mean(np.log(picked_np + 1e-30)), rel=1e-12)
    _, pen_soft, *_ = task_losses(KERNELS["softmax"], params, x, tgt)
    assert float(pen_soft) == 0.0


def test_penalty_sweep_bad_input():
    with pytest.raises(ValueError, match="kernel_name"):
        penalty_sweep((0.0,), kernel_name="poly2")
    with pytest.raises(ValueError, match="lams"):
        penalty_sweep((-1.0,))
    with pytest.raises(ValueError, match="seeds"):
        penalty_sweep((0.0,), seeds=())
    with pytest.raises(ValueError, match="lr"):
        penalty_sweep((0.0,), lr=0.0)


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
    with pytest.raises((ValueError, TypeCheckError), match="targets"):  # a 2-D stack: the shape check names it
        fit_patterns(good[0], (2,))
    with pytest.raises(ValueError, match="targets"):
        fit_patterns(good * 2, (2,))
    with pytest.raises(ValueError, match="kernels"):
        fit_patterns(good, (2,), kernels=("linear",))
    with pytest.raises(ValueError, match="dks"):
        fit_patterns(good, (0,))
    with pytest.raises(ValueError, match="bound"):
        fit_patterns(good, (2,), bound=-1.0)


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
