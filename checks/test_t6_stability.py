"""T6 (stability): "CSQ ... stabilizes training".

Lemmas checked:

* poly2's row weights are homogeneous of degree 0 in the scores, so its query–key gradient at
  ``(αW_Q, αW_K)`` is exactly ``g(1)/α``; centered CSQ with ``c = 0`` is the same;
* with a shift ``c > 0`` (and for softmax) the weights are smooth at ``S = 0`` and the gradient is
  ``α·C + O(α³)``: the relative error of the linear law falls ~100× per decade of ``α``;
* centered CSQ's normalizer is exactly ``Σ_j S̃_ij² + n c²`` (the centered scores sum to 0), so it is
  never below ``n c²``; without centering it reaches 0 at ``S = −c``, where the weights are 0/0;
* the ledger: T6.stab.grad returns ``holds`` from these measurements; in the quick profile T6.stab.sweep
  is decided by the recorded sweep: open when no Newcombe interval (built here from scipy's
  Wilson bounds) separates CSQ from poly2 or CSQ+penalty from softmax, decided when CSQ+penalty is separated, and the widths cannot separate them below 16 seeds per rate.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st
from scipy import stats

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


def _separated(k1: int, n1: int, k2: int, n2: int) -> bool:
    """Does Newcombe's 95 % interval of p₁ − p₂ (from scipy's Wilson bounds) exclude 0?"""
    w1 = stats.binomtest(k1, n1).proportion_ci(method="wilson")
    w2 = stats.binomtest(k2, n2).proportion_ci(method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    return (p1 - p2 + math.hypot(w1.high - p1, p2 - w2.low) < 0) or (p1 - p2 - math.hypot(p1 - w1.low, w2.high - p2) > 0)


def test_sweep_reading_is_decided_by_the_recorded_sweep(results):
    res = results["T6.stab.sweep"]
    assert res.error is None, res.error
    record = find(res.evidence, "record.stability")
    assert record.supports is None
    quick = find_all(res.evidence, "quick")
    assert quick and all(e.supports is None for e in quick)
    for e in quick:  # the smoke run trained every kernel and counted sensibly
        for label in ("softmax", "poly2", "csq", "csq+penalty", "linear"):
            s = e.data["summaries"][label]
            assert 0 <= s["diverged_runs"] <= s["runs"] == len(e.data["seeds"]) * len(e.data["lrs"])
    if record.data.get("missing"):
        assert res.outcome.verdict is Verdict.OPEN
        return
    assert res.outcome.because.startswith("from the recorded sweep")
    separated = []
    for setting in record.data["settings"]:
        summ = setting["summaries"]
        poly = summ["poly2"]
        # with fewer seeds than a Wilson lower bound of n/n ≥ 0.8 needs, no width bracket separates anything
        assert stats.binomtest(poly["seeds"], poly["seeds"]).proportion_ci(method="wilson").low < 0.8
        for label, vs in (("csq", "poly2"), ("csq+penalty", "poly2"), ("csq+penalty", "softmax")):
            a, b = summ[label], summ[vs]
            if _separated(a["diverged_runs"], a["runs"], b["diverged_runs"], b["runs"]):
                separated.append((setting["name"], label, vs))
    if not separated:
        assert res.outcome.verdict is Verdict.OPEN and "cannot detect" in res.outcome.because
    elif any(label == "csq+penalty" for _, label, _ in separated):  # the claimed recipe separated: decided
        assert res.outcome.verdict is not Verdict.OPEN
    for label in ("softmax", "poly2", "csq+penalty"):
        assert f"{label} " in res.outcome.because
