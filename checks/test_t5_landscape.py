"""T5: "a degree-2 kernel explores exactly the same landscape as softmax".

Lemmas checked:

* **dimension** (T5.a): on the minimal input ``X = (1, −1)ᵀ`` the softmax weights map has a
  1-dimensional pulled-back gradient space and poly2's a 0-dimensional one (closed forms
  ``r(r − e)`` and ``r² − m(X)``), and that is the counterexample the ledger's Hypothesis
  search reports;
* **function class** (T5.b): poly2 gives a key and its antipode the same weight for every ``M``
  (so it cannot put more than ½ on either); CSQ's constructed ``M`` puts weight exactly 1 on the
  key whenever the other centered keys are independent; softmax rows on collinear keys are
  monotone, so their L1 distance to the non-monotone CSQ row ``(1, 0, 1, 4, 9)/15`` is ≥ 1/15;
* **landscape** (T5.c): poly2's loss is constant on rays ``αM`` and obeys the Euler identity
  ``H·M = −∇L``; softmax's does not;
* the ledger's three readings return verdicts, and their counterexamples are the ones above.
"""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, example, given, note, target
from hypothesis import strategies as st

from theorem.claims.ledger import Profile, Verdict, find
from theorem.claims.t5_landscape import READINGS, _dims
from theorem.kernels import get_kernel
from theorem.training.function_class import csq_one_hot_certificate, row_weights
from theorem.training.landscape import LandscapeProblem

tokens = st.integers(0, 10_000).map(lambda s: np.random.default_rng(s))


def test_minimal_input_where_the_dimensions_differ():
    dims = _dims(np.array([[1.0], [-1.0]]))
    assert dims["softmax"]["measured"] == dims["softmax"]["predicted"] == 1
    assert dims["poly2"]["measured"] == dims["poly2"]["predicted"] == 0
    assert dims["csq(shift=1, center=True)"]["measured"] == 1


@given(tokens, st.integers(2, 6), st.integers(1, 3), st.floats(-5, 5))
def test_poly2_gives_a_key_and_its_antipode_the_same_weight(rng, n, d, scale):
    x = rng.standard_normal((n, d))
    x[1] = -x[0]
    m = scale * rng.standard_normal((d, d))
    w = np.asarray(row_weights(get_kernel("poly2"), jnp.asarray(x), jnp.asarray(m), int(rng.integers(n))))
    assume(np.all(np.isfinite(w)))  # M = 0: every score 0, the row is 0/0
    assert w[0] == pytest.approx(w[1], rel=1e-12, abs=1e-15)
    assert w[0] <= 0.5 + 1e-12


@given(tokens, st.integers(2, 4), st.floats(0.25, 4.0))
def test_csq_realises_the_antipodal_one_hot_exactly(rng, n, c):
    d = n - 1 + int(rng.integers(0, 2))  # the centered keys j ≠ a are independent for n − 1 ≤ d
    x = rng.standard_normal((n, d))
    x[1] = -x[0]
    m = csq_one_hot_certificate(x, 0, 0, c)
    w = np.asarray(row_weights(get_kernel("csq", shift=c), jnp.asarray(x), jnp.asarray(m), 0))
    note(f"row {w}")
    np.testing.assert_allclose(w, np.eye(n)[0], atol=1e-9)


P = np.array([float(Fraction(v, 15)) for v in (1, 0, 1, 4, 9)])


@given(st.floats(-50, 50))
@example(0.9)
def test_softmax_cannot_realise_the_nonmonotone_csq_row(m):
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    w = np.asarray(row_weights(get_kernel("softmax"), jnp.asarray(t[:, None]), jnp.full((1, 1), m), 3))
    gap = float(np.sum(np.abs(w - P)))
    target(-gap, label="closeness to the CSQ row")
    assert np.all(np.diff(w) >= -1e-15) or np.all(np.diff(w) <= 1e-15)  # monotone in t
    assert gap >= 1 / 15 - 1e-12
    csq = np.asarray(row_weights(get_kernel("csq"), jnp.asarray(t[:, None]), jnp.ones((1, 1)), 3))
    np.testing.assert_allclose(csq, P, atol=1e-15)


_PROBLEM = LandscapeProblem(5, 2, 0)
_LOSSES = {name: _PROBLEM.loss(get_kernel(name)) for name in ("softmax", "poly2")}
_HESS = {k: jax.jit(jax.hessian(f)) for k, f in _LOSSES.items()}
_GRAD = {k: jax.jit(jax.grad(f)) for k, f in _LOSSES.items()}


@given(tokens, st.floats(0.05, 20.0))
def test_poly2_loss_is_constant_on_rays_and_obeys_euler(rng, alpha):
    m = jnp.asarray(rng.standard_normal(4))
    f = _LOSSES["poly2"]
    assert float(f(alpha * m)) == pytest.approx(float(f(m)), rel=1e-12)
    h, g = np.asarray(_HESS["poly2"](m)), np.asarray(_GRAD["poly2"](m))
    residual = np.linalg.norm(h @ np.asarray(m) + g) / (np.linalg.norm(h, 2) * np.linalg.norm(m) + np.linalg.norm(g))
    assert residual < 1e-10
    # softmax: the same identity fails by O(1) at the same point
    hs, gs = np.asarray(_HESS["softmax"](m)), np.asarray(_GRAD["softmax"](m))
    soft = np.linalg.norm(hs @ np.asarray(m) + gs) / (np.linalg.norm(hs, 2) * np.linalg.norm(m) + np.linalg.norm(gs))
    note(f"poly2 Euler residual {residual:.1e}, softmax {soft:.2e}")
    assert soft > 1e-6


@pytest.fixture(scope="module")
def results():
    return {r.id: r.check("T5", Profile("quick")) for r in READINGS}


def test_dimension_reading_headlines_a_counterexample_in_the_claims_regime(results):
    res = results["T5.a"]
    assert res.error is None, res.error
    assert res.outcome.verdict is Verdict.FAILS
    x = np.asarray(res.outcome.counterexample["X"])
    n, d = x.shape
    assert d >= 2 and n > d and np.linalg.matrix_rank(x) == d  # not the d = 1 input where poly2 ignores M
    dims = res.outcome.counterexample["dims"]
    assert all(v["measured"] == v["predicted"] for v in dims.values())  # each count is its closed form
    assert dims["poly2"]["measured"] < dims["softmax"]["measured"] <= d * d  # poly2 loses its row scales
    # the degenerate minimum stays as secondary evidence
    assert find(res.evidence, "fuzz.degenerate").data["counterexample"]["X"] == [[1.0], [-1.0]]


def test_function_class_reading_rests_on_the_exact_bounds(results):
    res = results["T5.b"]
    assert res.error is None, res.error
    anti = find(res.evidence, "pattern.antipodal").data
    assert anti["measured"]["poly2"] >= 1 - 1e-9 and anti["csq_certificate_gap"] < 1e-9
    nonmono = find(res.evidence, "pattern.nonmonotone").data
    assert nonmono["softmax"]["gap"] >= 1 / 15 - 1e-9
    assert nonmono["poly2"]["gap"] == pytest.approx(13 / 15, abs=1e-9)
    assert res.outcome.verdict is Verdict.FAILS


def _np_output(kernel: str, x, wv, m):
    """The head's output A(X M Xᵀ/√d) X W_V in NumPy: the oracle of the landscape reading."""
    s = x @ m @ x.T / np.sqrt(x.shape[1])
    if kernel == "softmax":
        t = np.exp(s - s.max(axis=1, keepdims=True))
    else:  # poly2
        t = s**2
    return (t / t.sum(axis=1, keepdims=True)) @ x @ wv


def test_landscape_reading_agrees_with_a_numpy_oracle(results):
    res = results["T5.c"]
    assert res.error is None, res.error
    prob = LandscapeProblem(6, 3, 0)  # the quick profile's problem; only its drawn arrays are used
    x, wv, m_star, m0 = (np.asarray(a) for a in (prob.x, prob.wv, prob.m_teacher, prob.m0))
    n, d = x.shape
    y = _np_output("softmax", x, wv, m_star)
    loss = lambda k, m: 0.5 * np.sum((_np_output(k, x, wv, m) - y) ** 2) / n  # noqa: E731
    # poly2 is degree-0 homogeneous: its loss is constant along every ray αM, softmax's is not
    for alpha in (0.3, 2.0, -5.0):
        assert loss("poly2", alpha * m0) == pytest.approx(loss("poly2", m0), rel=1e-12)
    assert abs(loss("softmax", 2.0 * m0) - loss("softmax", m0)) > 1e-6
    # softmax at its zero-residual minimum: H = JᵀJ/n, J by central differences
    h = 1e-6
    cols = []
    for e in np.eye(d * d):
        step = h * e.reshape(d, d)
        cols.append((_np_output("softmax", x, wv, m_star + step) - _np_output("softmax", x, wv, m_star - step)).ravel()
                    / (2 * h))
    jac = np.stack(cols, axis=1)
    lam_min = np.linalg.eigvalsh(jac.T @ jac / n)[0]
    assert lam_min > 0
    assert find(res.evidence, "softmax_minimum").measured == pytest.approx(lam_min, rel=1e-4)
    assert find(res.evidence, "euler").measured < 1e-10
    assert res.outcome.verdict is Verdict.FAILS  # degenerate poly2 critical points vs a non-degenerate softmax minimum
