"""Unit tests of ``theorem.numeric.attention_rank`` and ``theorem.symbolic.softmax_rank``.

Lemmas checked:

* the lifts factor the unnormalized weights exactly, ``T = L_Q L_Kᵀ``, and the factorized
  (and causal prefix-sum) algorithms reproduce ``A V``;
* on Gaussian tokens the measured rank equals :func:`generic_rank` for every kernel variant,
  for ``n < d``, ``n = d``, ``n > d``, in the M form and factorized;
* on every degenerate family the measured rank equals the invariant prediction
  ``min(rank L_Q, rank L_K)`` (polynomial and linear kernels), never exceeds it (all kernels,
  causal too) and never exceeds the unconditional bound ``min(n, D)``;
* LayerNorm'd tokens, with and without affine, follow :func:`layernorm_rank`;
* the rounding bound really bounds the float64 error of ``A`` (against extended precision);
* normalization keeps the rank; undefined rows are detected; bad input raises ``ValueError``;
* the closed forms (SymPy, :mod:`theorem.symbolic.attention_rank_formulas`) equal an oracle written here;
* the token families reproduce both former generators bit for bit.

The exact softmax certificates are tested in ``tests/test_softmax_rank.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

from theorem.kernels import CSQ, LinearElu, Poly2, Softmax
from theorem.numeric import attention_rank as ar
from theorem.numeric.rank import numerical_rank
from theorem.util.tokens import TokenSpec

KERNELS = ar.RANK_KERNELS
POLY = tuple(k for k in KERNELS if not isinstance(k, Softmax))
IDS = [ar.kernel_label(k) for k in KERNELS]


def _head(n, d, dk, family="gaussian", seed=0):
    return ar.Head.draw(ar.degenerate_tokens(family, n, d, seed), dk, seed=seed + 1)


# --------------------------------------------------------------------------------
# lifts and algorithms
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", POLY, ids=[ar.kernel_label(k) for k in POLY])
@pytest.mark.parametrize("dk", [None, 3])
def test_lifts_factor_the_unnormalized_weights(kernel, dk):
    if isinstance(kernel, LinearElu) and dk is None:
        pytest.skip("linear has no M form")
    head = _head(11, 4, dk, seed=2)
    lq, lk = ar.feature_lifts(kernel, head)
    t = ar.unnormalized_matrix(kernel, head)
    assert lq.shape[1] == ar.lift_width(kernel, head.dk)
    np.testing.assert_allclose(lq @ lk.T, t, rtol=1e-12, atol=1e-12 * np.abs(t).max())


@pytest.mark.parametrize("kernel", POLY, ids=[ar.kernel_label(k) for k in POLY])
def test_factorized_algorithms_reproduce_the_output(kernel):
    head = _head(40, 5, 3, seed=4)
    v = np.random.default_rng(0).standard_normal((40, 2))
    np.testing.assert_allclose(ar.factorized_output(kernel, head, None, v), ar.attention_matrix(kernel, head) @ v,
                               rtol=1e-10, atol=1e-12)
    if isinstance(kernel, CSQ) and kernel.center:
        with pytest.raises(ValueError, match="kernel"):
            ar.causal_factorized_output(kernel, head, None, v)
    else:
        np.testing.assert_allclose(ar.causal_factorized_output(kernel, head, None, v),
                                   ar.attention_matrix(kernel, head, causal=True) @ v, rtol=1e-9, atol=1e-11)


def test_softmax_has_no_lift():
    head = _head(5, 3, None)
    assert ar.feature_lifts(Softmax(), head) is None
    with pytest.raises(ValueError, match="kernel"):
        ar.factorized_output(Softmax(), head, None, np.ones((5, 1)))


# --------------------------------------------------------------------------------
# closed forms on generic tokens
# --------------------------------------------------------------------------------

GENERIC_SIZES = [(3, 6, None), (6, 6, None), (30, 4, None), (4, 6, 3), (6, 6, 6), (40, 6, 2), (50, 5, 4), (2, 3, None)]


@pytest.mark.parametrize("kernel", POLY, ids=[ar.kernel_label(k) for k in POLY])
@pytest.mark.parametrize("n,d,dk", GENERIC_SIZES)
def test_generic_closed_form_equals_measured(kernel, n, d, dk):
    if isinstance(kernel, LinearElu) and dk is None:
        pytest.skip("linear has no M form")
    head = _head(n, d, dk, seed=n * d)
    meas = ar.measured_rank(kernel, head)
    assert meas.status == "ok", meas.summary()
    assert meas.rank == ar.generic_rank(kernel, n, d, dk), (meas.summary(), ar.generic_formula(kernel))
    assert meas.rank <= ar.upper_bound(kernel, n, head.dk)


def test_generic_closed_form_values():
    assert ar.generic_rank(Poly2(), 100, 8) == 36
    assert ar.generic_rank(CSQ(1.0, True), 100, 8) == 45 == math.comb(8, 2) + 8 + 8 + 1
    assert ar.generic_rank(CSQ(0.0, True), 2, 8) == 1  # two centred keys are ±k: one square
    assert ar.generic_rank(LinearElu(), 100, 8, 4) == 4
    assert ar.generic_rank(Softmax(), 7, 1) == 7
    assert ar.generic_rank(CSQ(0.0, True), 9, 3, causal=True) is None  # first row 0/0
    assert ar.generic_rank(Poly2(), 9, 3, causal=True) == 9


def _oracle_generic(kernel, n, d, dk):
    """The generic closed forms written out with math.comb (independent of the SymPy module)."""
    dk = d if dk is None else dk
    shift = getattr(kernel, "shift", 0.0)
    centred = isinstance(kernel, CSQ) and kernel.center
    if isinstance(kernel, Softmax):
        return n
    if isinstance(kernel, LinearElu):
        return min(n, dk)
    r = min(n, d, dk)
    if shift > 0:
        return min(n, (r + 1) * (r + 2) // 2)
    if centred:
        rp = min(n - 1, d, dk)
        return None if n == 1 else min(n, rp * (rp + 1) // 2)
    return min(n, r * (r + 1) // 2)


def _oracle_layernorm(kernel, n, d, dk, affine):
    dk = d if dk is None else dk
    shift = getattr(kernel, "shift", 0.0)
    centred = isinstance(kernel, CSQ) and kernel.center
    tri = lambda m: m * (m + 1) // 2  # noqa: E731
    if isinstance(kernel, Softmax):
        return n
    if isinstance(kernel, LinearElu):
        return min(n, dk)
    if centred and shift == 0:
        return None if n == 1 else min(n, tri(min(n - 1, d - 1, dk)))
    if not affine:
        r = min(d - 1, dk)
        return min(n, tri(r + 1) - (dk >= d - 1)) if shift > 0 else min(n, tri(r))
    if shift > 0:
        return min(n, tri(d) - 1 if dk >= d - 1 else tri(dk + 1))
    return min(n, tri(d) - 1 if dk >= d else tri(dk))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_sympy_closed_forms_agree_with_an_independent_oracle(kernel):
    for n in (1, 2, 3, 5, 9, 40, 200):
        for d in (1, 2, 3, 4, 7):
            for dk in (None, 1, 2, 3, 5, 8):
                if isinstance(kernel, LinearElu) and dk is None:
                    continue
                assert ar.generic_rank(kernel, n, d, dk) == _oracle_generic(kernel, n, d, dk), (n, d, dk)
                if d >= 3:
                    for affine in (False, True):
                        got = ar.layernorm_rank(kernel, n, d, dk, affine=affine)
                        assert got == _oracle_layernorm(kernel, n, d, dk, affine), (n, d, dk, affine)


def test_rank_classes_follow_the_kernel_attributes():
    assert [ar.rank_class(k) for k in KERNELS] == ["softmax", "square", "square", "centred", "shifted", "shifted",
                                                    "linear"]


def test_token_families_are_deterministic_and_have_their_structure():
    n, d = 9, 5
    for fam in ar.TOKEN_FAMILIES:
        x = ar.degenerate_tokens(fam, n, d, seed=3)
        assert x.shape == (n, d) and x.dtype == np.float64
        np.testing.assert_array_equal(x, ar.degenerate_tokens(fam, n, d, seed=3))
    g = np.random.default_rng(3).standard_normal((n, d))  # every family draws G first
    np.testing.assert_array_equal(ar.degenerate_tokens("gaussian", n, d, 3), g)
    rep = ar.degenerate_tokens("repeated_half", n, d, 3)
    np.testing.assert_array_equal(rep[5:], rep[:4])
    assert np.linalg.matrix_rank(ar.degenerate_tokens("low_rank_half", n, d, 3)) == 3
    assert np.linalg.matrix_rank(ar.degenerate_tokens("rank_one", n, d, 3)) == 1
    ln = ar.degenerate_tokens("layernorm_exact", n, d, 3)
    np.testing.assert_allclose(ln.sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose((ln**2).mean(axis=1), 1, rtol=1e-12)
    flip = ar.degenerate_tokens("sign_flip", n, d, 3)
    np.testing.assert_array_equal(flip[1], -flip[0])
    np.testing.assert_allclose(ar.degenerate_tokens("centred", n, d, 3).mean(axis=0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="d"):
        ar.degenerate_tokens("layernorm_exact", 4, 1)


def _oracle_tokens(kind, n, d, seed):
    """The two generators that existed before theorem.util.tokens (strategies.TokenSpec.build and
    attention_rank.degenerate_tokens), written out: the merged generator must reproduce both bit for bit."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, d))
    if kind == "repeated":
        x = g.copy()
        src, dup = rng.integers(0, n, size=n), rng.random(n) < 0.4
        x[dup] = x[src[dup]]
        return x
    if kind == "repeated_half":
        x, half = g.copy(), (n + 1) // 2
        x[half:] = x[: n - half]
        return x
    if kind in ("low_rank", "offset", "low_rank_half"):
        k = max(1, (d + 1) // 2) if kind == "low_rank_half" else max(1, min(n, d) - 1)
        x = rng.standard_normal((n, k)) @ rng.standard_normal((k, d))
        return x + rng.standard_normal((1, d)) if kind == "offset" else x
    if kind in ("layernorm", "layernorm_affine"):
        z = g - g.mean(axis=1, keepdims=True)
        z = z / np.sqrt((z**2).mean(axis=1, keepdims=True) + 1e-5)
        return z * (1.0 + 0.5 * rng.standard_normal(d)) + 0.5 * rng.standard_normal(d) if kind.endswith("affine") else z
    if kind in ("layernorm_exact", "layernorm_exact_affine"):
        z = g - g.mean(axis=1, keepdims=True)
        z = z / np.sqrt((z**2).mean(axis=1, keepdims=True))
        return z * rng.uniform(0.5, 1.5, d) + rng.standard_normal(d) if kind.endswith("affine") else z
    if kind == "integer":
        return rng.integers(-2, 3, size=(n, d)).astype(np.float64)
    return g


@pytest.mark.parametrize("kind", ["gaussian", "repeated", "repeated_half", "low_rank", "low_rank_half", "offset",
                                  "layernorm", "layernorm_affine", "layernorm_exact", "layernorm_exact_affine",
                                  "integer"])
def test_token_families_reproduce_both_former_generators(kind):
    for n, d, seed in [(1, 2, 0), (7, 3, 1), (12, 4, 8), (3, 6, 5)]:
        np.testing.assert_array_equal(TokenSpec(n, d, kind, seed).build(), _oracle_tokens(kind, n, d, seed))
        np.testing.assert_array_equal(TokenSpec(n, d, kind, seed, 1e-3).build(), 1e-3 * _oracle_tokens(kind, n, d, seed))


@pytest.mark.parametrize("n,d", [(5, 3), (12, 2)])
def test_softmax_float_rank_is_n_when_well_conditioned(n, d):
    head = _head(n, d, None, seed=7)
    meas = ar.measured_rank(Softmax(), head)
    assert meas.rank == n == ar.predicted_rank(Softmax(), head).rank


# --------------------------------------------------------------------------------
# degenerate inputs
# --------------------------------------------------------------------------------

configs = st.tuples(
    st.sampled_from(ar.TOKEN_FAMILIES), st.integers(1, 40), st.integers(1, 7), st.integers(0, 7),
    st.integers(0, 2**20),
)


@given(configs, st.sampled_from(range(len(KERNELS))), st.booleans())
@example(("one_repeat", 2, 2, 0, 5), 3, False)  # centred, no shift: n = 2 gives rank 1
@example(("constant_column", 16, 1, 1, 3), 3, False)  # all keys equal: A undefined
@example(("layernorm_exact_affine", 12, 3, 0, 1), 4, False)  # shift adds nothing when 1 ∈ col X
def test_invariant_prediction_on_degenerate_tokens(cfg, kidx, causal):
    family, n, d, dk, seed = cfg
    kernel = KERNELS[kidx]
    assume(not (family.startswith("layernorm") and d < 2))  # LayerNorm without ε needs d ≥ 2
    dk = None if dk == 0 else min(dk, d)
    if isinstance(kernel, LinearElu) and dk is None:
        dk = d
    head = _head(n, d, dk, family, seed)
    pred = ar.predicted_rank(kernel, head, causal)
    note(f"{family} n={n} d={d} dk={dk} {ar.kernel_label(kernel)} causal={causal}: {pred.to_dict()}")
    if pred.rank is None:
        assert pred.violations
        if "undefined" in pred.formula:
            with pytest.raises(ValueError, match="undefined"):
                ar.measured_rank(kernel, head, causal=causal)
        return
    meas = ar.measured_rank(kernel, head, causal=causal)
    note(f"measured {meas.summary()}")
    assert meas.rank <= ar.upper_bound(kernel, n, head.dk, causal)
    assert meas.rank <= pred.rank  # the float rank is a lower bound on the exact rank
    if not causal and not isinstance(kernel, Softmax) and pred.valid:
        assert meas.rank == pred.rank


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("d", [3, 4, 5])
def test_layernorm_closed_forms(affine, d):
    family = "layernorm_exact_affine" if affine else "layernorm_exact"
    for dk in [None, *range(1, d + 1)]:
        for n in (4, 40):
            head = _head(n, d, dk, family, seed=d * 31 + n)
            for kernel in POLY:
                if isinstance(kernel, LinearElu) and dk is None:
                    continue
                meas = ar.measured_rank(kernel, head)
                assert meas.rank == ar.layernorm_rank(kernel, n, d, dk, affine=affine), (
                    family, d, dk, n, ar.kernel_label(kernel), meas.summary())


def test_layernorm_sphere_costs_the_shifted_lift_one_dimension():
    # without affine, M form: tokens on a sphere in a hyperplane through 0 (u = d − 1)
    d, n = 5, 60
    assert ar.layernorm_rank(CSQ(1.0, False), n, d) == math.comb(d + 1, 2) - 1
    assert ar.generic_rank(CSQ(1.0, False), n, d - 1) == math.comb(d + 1, 2)
    assert ar.layernorm_rank(Poly2(), n, d, affine=True) == math.comb(d + 1, 2) - 1
    with pytest.raises(ValueError, match="d"):
        ar.layernorm_rank(Poly2(), n, 2)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_normalization_keeps_the_rank(kernel):
    head = _head(30, 4, 3, seed=11)
    t = ar.unnormalized_matrix(kernel, head)
    a = ar.attention_matrix(kernel, head)
    if isinstance(kernel, Softmax):
        np.testing.assert_allclose(t / t.sum(1, keepdims=True), a, rtol=1e-12)
        return
    assert numerical_rank(t).rank == numerical_rank(a).rank


def test_undefined_rows_are_detected():
    x = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 1.0]])  # a zero token: its poly2 row is all zero
    head = ar.Head(x, np.eye(2), np.eye(2), form="M")
    assert ar.undefined_rows(Poly2(), head).tolist() == [1]
    pred = ar.predicted_rank(Poly2(), head)
    assert pred.rank is None and "undefined" in pred.violations[0]
    with pytest.raises(ValueError, match="undefined"):
        ar.measured_rank(Poly2(), head)
    assert ar.undefined_rows(CSQ(1.0, True), head).size == 0  # the shift rescues it


def test_causal_rank_is_n_with_positive_diagonal():
    head = _head(20, 3, 2, seed=3)
    for kernel in (Softmax(), LinearElu(), CSQ(1.0, False)):
        pred = ar.predicted_rank(kernel, head, causal=True)
        assert pred.rank == 20 and pred.valid
    assert ar.predicted_rank(CSQ(0.0, True), head, causal=True).rank is None


def test_rounding_bound_covers_the_float64_error():
    """``‖fl(A) − A‖_F ≤ bound`` with ``A`` recomputed in extended precision from the same q, k."""
    ld = np.longdouble
    if np.finfo(ld).eps >= np.finfo(np.float64).eps:
        pytest.skip("no extended precision on this platform")
    for seed, kernel in enumerate(KERNELS):
        head = _head(25, 4, 3, family="centred", seed=seed)
        q, k = head.q.astype(ld), head.k.astype(ld)
        s = q @ k.T / np.sqrt(ld(head.dk))
        if isinstance(kernel, Softmax):
            t = np.exp(s - s.max(axis=1, keepdims=True))
        elif isinstance(kernel, LinearElu):
            phi = lambda z: np.where(z > 0, z + 1, np.exp(np.minimum(z, 0)))  # noqa: E731
            t = phi(q) @ phi(k).T
        else:
            centred = isinstance(kernel, CSQ) and kernel.center
            f = s - (s.mean(axis=1, keepdims=True) if centred else 0) + ld(getattr(kernel, "shift", 0.0))
            t = f * f
        exact = t / t.sum(axis=1, keepdims=True)
        err = float(np.sqrt(np.sum((ar.attention_matrix(kernel, q.astype(float), k.astype(float)) - exact) ** 2)))
        bound = ar.weights_error_bound(kernel, head.q, head.k)
        assert err <= bound, (ar.kernel_label(kernel), err, bound)


def test_score_rank_closed_form():
    for n, d, dk in [(10, 4, 2), (3, 5, None), (20, 6, 6)]:
        head = _head(n, d, dk, seed=n)
        assert ar.score_rank(head).rank == min(n, d, head.dk)


# --------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="x"):
        ar.Head(np.zeros((0, 3)), np.eye(3), np.eye(3))
    with pytest.raises((ValueError, TypeError), match="w_q"):  # TypeError: the runtime shape check
        ar.Head(np.zeros((4, 3)), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        ar.Head(np.full((2, 2), np.nan), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="dk"):
        ar.Head.draw(np.zeros((3, 2)), dk=0)
    with pytest.raises(ValueError, match="family"):
        ar.degenerate_tokens("nope", 3, 2)
    with pytest.raises(ValueError, match="n"):
        ar.generic_rank(Poly2(), 0, 3)
    with pytest.raises(ValueError, match="dk"):
        ar.generic_rank(LinearElu(), 4, 3)
    with pytest.raises((ValueError, TypeError), match="kernel"):  # TypeError: the runtime type checker
        ar.upper_bound(object(), 3, 2)
    with pytest.raises(ValueError, match="linear"):
        ar.predicted_rank(LinearElu(), _head(4, 3, None))
    with pytest.raises((ValueError, TypeError), match="q, k|parameter 'k'"):  # TypeError: the runtime shape check
        ar.measured_rank(Poly2(), np.zeros((3, 2)), np.zeros((4, 2)))
