"""T6 (stability): "CSQ ... stabilizes training".

Lemmas checked:

* poly2's row weights are homogeneous of degree 0 in the scores, so its query–key gradient at
  ``(αW_Q, αW_K)`` is exactly ``g(1)/α``; centered CSQ with ``c = 0`` is the same;
* with a shift ``c > 0`` (and for softmax) the weights are smooth at ``S = 0`` and the gradient is
  ``α·C + O(α³)``: the relative error of the linear law falls ~100× per decade of ``α``;
* centered CSQ's normalizer is exactly ``Σ_j S̃_ij² + n c²`` (the centered scores sum to 0), so it is
  never below ``n c²``; without centering it reaches 0 at ``S = −c``, where the weights are 0/0;
* the ledger: T6.stab.grad returns ``holds`` from these measurements; T6.stab.sweep returns the
  verdict that the reading's statement, applied by hand in the test, gives on the measured summaries, and a
  ``fails`` carries the setting it failed on.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from theorem.claims.ledger import Profile, Verdict, find, find_all
from theorem.claims.t6_stability import READINGS
from theorem.kernels import get_kernel
from theorem.training.gradient_scale import gradient_scaling


@given(st.integers(0, 1000), st.sampled_from([("poly2", {}), ("csq", {"shift": 0.0, "center": True})]),
       st.floats(1e-4, 10.0))
def test_homogeneous_kernels_have_gradient_g1_over_alpha(seed, kernel, alpha):
    name, params = kernel
    r = gradient_scaling(name, params, (1.0, alpha), seed=seed)
    note(f"measured {r['measured']}, predicted {r['predicted']}")
    assert r["singular"]
    assert r["measured"][1] * alpha == pytest.approx(r["measured"][0], rel=1e-9)


@given(st.integers(0, 1000), st.sampled_from([("softmax", {}), ("csq", {"shift": 1.0, "center": True}),
                                               ("csq", {"shift": 0.5, "center": False})]))
def test_shifted_kernels_have_a_gradient_vanishing_like_alpha(seed, kernel):
    name, params = kernel
    r = gradient_scaling(name, params, (1e-2, 1e-3, 1e-4), seed=seed)
    e = r["relative_error"]
    note(f"relative errors of g(α) = αC: {e}")
    assert not r["singular"]
    assert e[2] < 1e-5 and e[2] <= e[1] / 30 + 1e-14


@given(st.integers(1, 7), st.floats(0.0, 5.0), st.integers(0, 10_000), st.floats(1e-3, 1e3))
@example(n=3, c=1.0, seed=0, scale=1.0)
def test_centered_normalizer_is_sum_of_squares_plus_n_c_squared(n, c, seed, scale):
    s = jnp.asarray(np.random.default_rng(seed).standard_normal((n, n)) * scale)
    kern = get_kernel("csq", shift=c, center=True)
    z = np.asarray(jnp.sum(kern.unnormalized(s), axis=-1))
    centered = np.asarray(s) - np.asarray(s).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(z, np.sum(centered**2, axis=1) + n * c**2, rtol=1e-10)
    assert np.all(z >= n * c**2 * (1 - 1e-12))


def test_without_centering_the_normalizer_vanishes_at_minus_c():
    for c in (0.5, 1.0, 2.0):
        kern = get_kernel("csq", shift=c, center=False)
        s = -c * jnp.ones((4, 4))
        assert float(jnp.max(jnp.sum(kern.unnormalized(s), axis=-1))) == 0.0
        assert not np.any(np.isfinite(np.asarray(kern.weights_from_scores(s))))


@pytest.fixture(scope="module")
def results():
    return {r.id: r.check("T6", Profile("quick")) for r in READINGS}


def test_gradient_reading_holds_from_its_measurements(results):
    res = results["T6.stab.grad"]
    assert res.error is None, res.error
    assert res.outcome.verdict is Verdict.HOLDS
    grads = {e.data["kernel"]: e.data for e in find_all(res.evidence, "gradient")}
    assert grads["poly2"]["measured"][-1] > 100 * grads["poly2"]["measured"][0]
    assert grads["csq(shift=1, center=True)"]["measured"][-1] < grads["csq(shift=1, center=True)"]["measured"][0]


def _oracle_relation(a: dict, b: dict) -> str:
    """The comparison of the reading, written from its statement: a is *more* stable than b when its divergence
    rate is lower by more than two standard errors (at least 1/N) or its trainable width is wider by a grid step,
    and it is not worse on the other count."""
    runs = min(a["runs"], b["runs"])
    pooled = (a["divergence_rate"] + b["divergence_rate"]) / 2
    margin = max(1 / runs, 2 * (2 * pooled * (1 - pooled) / runs) ** 0.5)
    step = max(a["grid_spacing_decades"], b["grid_spacing_decades"])
    rate = a["divergence_rate"] - b["divergence_rate"]
    width = a["trainable_width_decades"] - b["trainable_width_decades"]
    better = rate < -margin or width >= step - 1e-9
    worse = rate > margin or width <= -step + 1e-9
    return "mixed" if better and worse else "more" if better else "less" if worse else "same"


def test_sweep_reading_agrees_with_the_statement_applied_by_hand(results):
    res = results["T6.stab.sweep"]
    assert res.error is None, res.error
    sweeps = find_all(res.evidence, "sweep")
    assert sweeps
    ok_pen, ok_any = [], []
    for e in sweeps:
        summ = e.data["summaries"]
        for label in ("softmax", "poly2", "csq", "csq+penalty", "linear"):
            assert 0.0 <= summ[label]["divergence_rate"] <= 1.0 and summ[label]["trainable_width_decades"] >= 0
        good = {label: _oracle_relation(summ[label], summ["poly2"]) == "more"
                and _oracle_relation(summ[label], summ["softmax"]) in ("more", "same") for label in ("csq", "csq+penalty")}
        ok_pen.append(good["csq+penalty"])
        ok_any.append(good["csq+penalty"] or good["csq"])
    expected = (Verdict.HOLDS if all(ok_pen) else Verdict.HOLDS_WITH_CONDITIONS if any(ok_any) else Verdict.FAILS)
    assert res.outcome.verdict is expected
    if expected is Verdict.FAILS:
        assert res.outcome.counterexample["setting"] in {e.data["name"] for e in sweeps}
    record = find(res.evidence, "record.stability")  # the recorded full sweep, or a note that it is missing
    assert record.supports is None
