"""T4 – matching.  Each test states the lemma it checks.

Lemmas: softmax is dot-product monotone; it matches by distance exactly when key norms are
equal, because softmax(q·k) = softmax(−‖q−k‖²/2 + ‖k‖²/2); the scaled RBF softmax matches by
distance always; poly2 is monotone only above its vertex; elu+1 is monotone in neither sense;
the half-mass gap is log(n − 1) for softmax, and elu+1's is the piecewise closed form.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, example, given, note, target
from hypothesis import strategies as st

from theorem.claims.ledger import Profile, Verdict, find
from theorem.claims.t4_matching import READINGS, property_reading
from theorem.experiments.records import require_record
from theorem.kernels import get_kernel
from theorem.numeric import matching as nm
from theorem.symbolic import matching as sm


def _case(q, keys):
    return nm.MatchingCase(np.asarray(q, dtype=float), np.asarray(keys, dtype=float))


def _scores_made_nonnegative(case):
    """The case with every key whose score is negative reflected through the origin (s_j → |s_j|):
    a draw on poly2's increasing side, so the lemma is tested where it speaks."""
    sign = np.where(case.scores < 0, -1.0, 1.0)
    return nm.MatchingCase(case.q, case.keys * sign[:, None])


# -- (a) and (b) for softmax and the scaled RBF softmax ------------------------------------


@given(nm.matching_cases())
def test_softmax_never_reverses_dot_products(case):
    rev = nm.reversal(nm.matching_kernel("softmax"), case, "a")
    target(rev.amount)
    assert not rev.violated


@given(nm.matching_cases(equal_norms=True))
def test_softmax_matches_by_distance_when_key_norms_are_equal(case):
    rev = nm.reversal(nm.matching_kernel("softmax"), case, "b")
    target(rev.amount)
    assert not rev.violated


@given(nm.matching_cases())
def test_scaled_rbf_softmax_always_matches_by_distance(case):
    rev = nm.reversal(nm.matching_kernel("rbf"), case, "b")
    target(rev.amount)
    assert not rev.violated


def test_softmax_distance_counterexample_is_the_key_norm_term():
    # q = −1: key 0 is nearer (distance 1) but key −3 has the larger dot product (3 > 0)
    case = _case([-1.0], [[0.0], [-3.0]])
    rev = nm.reversal(nm.matching_kernel("softmax"), case, "b")
    assert rev.violated and (rev.i, rev.j) == (0, 1)
    np.testing.assert_allclose(rev.weights, [1 / (1 + math.e**3), math.e**3 / (1 + math.e**3)], rtol=1e-12)


# -- (c) the identity --------------------------------------------------------------------


def test_identity_is_derived_by_sympy():
    assert sm.softmax_rbf_identity().holds
    assert sm.factorization("softmax").splits
    assert not sm.factorization("poly2").splits and not sm.factorization("csq").splits


@given(
    st.integers(1, 4).flatmap(
        lambda dk: st.tuples(
            st.just(dk),
            st.lists(st.floats(-4, 4), min_size=3 * dk, max_size=3 * dk),
            st.lists(st.floats(-4, 4), min_size=3 * dk, max_size=3 * dk),
        )
    )
)
def test_softmax_equals_softmax_of_rbf_plus_key_norm(data):
    dk, qv, kv = data
    q, k = np.reshape(qv, (3, dk)), np.reshape(kv, (3, dk))
    lam = 1 / math.sqrt(dk)
    rbf_plus_norm = -lam * ((q[:, None] - k[None]) ** 2).sum(-1) / 2 + lam * (k**2).sum(-1)[None] / 2
    soft = get_kernel("softmax")
    measured = np.asarray(soft.weights(jnp.asarray(q), jnp.asarray(k)))
    predicted = np.asarray(soft.weights_from_scores(jnp.asarray(rbf_plus_norm)))
    np.testing.assert_allclose(measured, predicted, rtol=1e-12, atol=1e-15)


# -- poly2 and elu+1 -----------------------------------------------------------------------


def test_poly2_lets_a_negative_score_win():
    # q·k = −10 beats q·k = 1: weights 100/101 vs 1/101
    w = nm.query_weights(nm.matching_kernel("poly2"), np.array([1.0]), np.array([[1.0], [-10.0]]))
    np.testing.assert_allclose(w, [1 / 101, 100 / 101], rtol=1e-13)


@given(nm.matching_cases().map(_scores_made_nonnegative))
@example(_case([1.0], [[2.0], [0.5]]))
def test_poly2_is_monotone_above_its_vertex(case):
    kern = nm.matching_kernel("poly2")
    margin = nm.vertex_margin(kern, case)
    assume(margin > 1e-9 * (1 + np.abs(case.scores).max()))  # zero scores sit on the vertex itself
    rev = nm.reversal(kern, case, "a")
    target(rev.amount, label="reversal")
    assert not rev.violated


@given(nm.matching_cases())
def test_poly2_reverses_exactly_where_the_two_lowest_scores_sum_below_zero(case):
    kern = nm.matching_kernel("poly2")
    s = case.scores
    assume(len(np.unique(np.round(s, 9))) == len(s))  # ties: the exact condition is stated for distinct scores
    rev = nm.reversal(kern, case, "a")
    margin = nm.quadratic_order_margin(s)
    note(f"scores {s}, margin {margin}, reversal {rev.amount}")
    assume(abs(margin) > 1e-6 * (1 + np.abs(s).max()))  # on the boundary round-off decides
    assert rev.violated == (margin < 0)


def test_linear_minimal_counterexample_is_what_the_ledger_reports():
    result = property_reading("T4", "linear", "a").check("T4", Profile("quick"))
    assert result.error is None
    assert result.outcome.verdict == Verdict.FAILS
    free = find(result.evidence, "fuzz.unconditional").data["counterexample"]
    # the minimal unconditional violation is a real reversal: the larger dot product gets less weight
    case = _case(free["q"], free["keys"])
    rev = nm.reversal(nm.matching_kernel("linear"), case, "a")
    assert rev.violated and case.scores[rev.i] > case.scores[rev.j] and rev.weights[rev.i] < rev.weights[rev.j]
    assert len(free["q"]) <= 2 and len(free["keys"]) == 2  # shrunk to the smallest shape
    # and the ledger's counterexample (under nonnegative inputs) is one too
    c = result.outcome.counterexample
    assert min(c["q"]) >= 0 and min(min(k) for k in c["keys"]) >= 0
    assert nm.reversal(nm.matching_kernel("linear"), _case(c["q"], c["keys"]), "a").violated


def test_linear_fails_euclidean_matching_even_with_equal_norms():
    # q = −1, keys ±1 (equal norms): the nearer key −1 gets e⁻²… against 2e⁻¹
    w = nm.query_weights(nm.matching_kernel("linear"), np.array([-1.0]), np.array([[-1.0], [1.0]]))
    assert w[0] < w[1]
    assert w[0] / w[1] == pytest.approx(math.exp(-1) / 2, rel=1e-12)


# -- (d) contrast --------------------------------------------------------------------------


@given(st.sampled_from((3, 5, 17, 64)), st.sampled_from([(k, lv) for k in ("softmax", "linear", "poly2") for lv in nm.CONTRAST_LEVELS[k]]))
def test_half_mass_gap_equals_its_closed_form(n, kernel_level):
    kernel, level = kernel_level
    measured = nm.measure_contrast_gap(kernel, n, level)
    predicted = sm.contrast_gap_value(kernel, n, level)
    note(f"{kernel} n={n} L={level}: measured {measured['gap']}, predicted {predicted}")
    assert measured["first_crossing"]
    assert measured["gap"] == pytest.approx(predicted, rel=1e-9, abs=1e-12)


def test_softmax_gap_is_log_n_minus_1():
    assert str(sm.contrast_gap("softmax").expr) == "log(n - 1)"


# -- the ledger ---------------------------------------------------------------------------


@pytest.mark.parametrize("reading_id", ["T4.a:poly2", "T4.c", "T4.d", "T4.e"])
def test_ledger_reading_returns_a_verdict(reading_id):
    reading = next(r for r in READINGS if r.id == reading_id)
    result = reading.check("T4", Profile("quick"))
    assert result.error is None, result.error
    expected = {"T4.a:poly2": Verdict.HOLDS_WITH_CONDITIONS, "T4.c": Verdict.HOLDS, "T4.d": Verdict.HOLDS_WITH_CONDITIONS,
                "T4.e": Verdict.OPEN}
    assert result.outcome.verdict == expected[reading_id], result.outcome.because
    if reading_id == "T4.a:poly2":  # the counterexample reported is a real reversal
        c = result.outcome.counterexample
        assert nm.reversal(nm.matching_kernel("poly2"), _case(c["q"], c["keys"]), "a").violated
    if reading_id == "T4.d":  # the counterexample: elu+1 as cheap as softmax deep in its exponential branch
        c = result.outcome.counterexample
        assert c["kernel"] == "linear" and c["level"] < -np.log(c["n"] - 1)
        assert c["measured"] == pytest.approx(np.log(c["n"] - 1), rel=1e-9)


@pytest.mark.slow
def test_every_t4_reading_runs():
    for reading in READINGS:
        result = reading.check("T4", Profile("quick"))
        assert result.error is None, (reading.id, result.error)


# -- T4.e: the controlled experiment's record -------------------------------------------------


def test_trained_softmax_models_never_reverse_dot_products_and_elu_models_do():
    """The lemma of (a) inside trained models: every softmax run of ``matching_causal`` has in-model (a) rate
    exactly 0 (softmax is strictly increasing in the score), while elu+1's runs reverse some pairs; the learned
    Hedgehog arm carries 256 feature parameters per head beyond the others' equal count."""
    res = require_record("matching_causal")["result"]
    soft = [r["a_rate"] for r in res["rows"] if r["kernel"] == "softmax"]
    lin = [r["a_rate"] for r in res["rows"] if r["kernel"] == "linear"]
    assert soft and all(a == 0.0 for a in soft)
    assert lin and all(a > 0.0 for a in lin)
    counts = res["num_params"]
    assert counts["hedgehog"] - counts["softmax"] == 16 * 16
    assert len({counts[k] for k in ("linear", "rebased", "csq", "softmax")}) == 1
