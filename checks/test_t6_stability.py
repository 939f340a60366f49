"""T6 (stability): "CSQ ... stabilizes training".

Lemmas checked:

* poly2's row weights are homogeneous of degree 0 in the scores, so its query–key gradient at
  ``(αW_Q, αW_K)`` is exactly ``g(1)/α``; centered CSQ with ``c = 0`` is the same;
* with a shift ``c > 0`` (and for softmax) the weights are smooth at ``S = 0`` and the gradient is
  ``α·C + O(α³)``: the relative error of the linear law falls ~100× per decade of ``α``;
* centered CSQ's normalizer is exactly ``Σ_j S̃_ij² + n c²`` (the centered scores sum to 0), so it is
  never below ``n c²``; without centering it reaches 0 at ``S = −c``, where the weights are 0/0;
* the ledger: T6.stab.grad returns ``holds`` from these measurements; T6.stab.sweep returns the
  verdict that :func:`theorem.training.stability.judge` gives on the measured summaries, and a
  ``fails`` carries the setting it failed on.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

import theorem.training  # noqa: F401  (float64)
from theorem.claims.ledger import Profile, Verdict
from theorem.claims.t6_stability import READINGS
from theorem.kernels import get_kernel
from theorem.training.gradient_scale import gradient_scaling
from theorem.training.stability import judge


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
    grads = {e.data["kernel"]: e.data for e in res.evidence if e.data.get("kind") == "gradient"}
    assert grads["poly2"]["measured"][-1] > 100 * grads["poly2"]["measured"][0]
    assert grads["csq(shift=1, center=True)"]["measured"][-1] < grads["csq(shift=1, center=True)"]["measured"][0]


def test_sweep_reading_is_the_rule_applied_to_its_measurements(results):
    res = results["T6.stab.sweep"]
    assert res.error is None, res.error
    settings = [{"name": e.data["name"], "summaries": e.data["summaries"]} for e in res.evidence
                if e.data.get("kind") == "sweep"]
    assert settings
    j = judge(settings)
    assert res.outcome.verdict.value == j["verdict"]
    for s in settings:
        for label in ("softmax", "poly2", "csq", "csq+penalty", "linear"):
            summ = s["summaries"][label]
            assert 0.0 <= summ["divergence_rate"] <= 1.0 and summ["trainable_width_decades"] >= 0
    if res.outcome.verdict is Verdict.FAILS:
        assert res.outcome.counterexample["setting"] in {s["name"] for s in settings}
