"""The per-head measurements of theorem.real.analysis and theorem.real.fit, on synthetic heads (no model)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from theorem.kernels import get_kernel
from theorem.real.analysis import eps_rank, matching_record, rank_record
from theorem.real.fit import fit_pattern, log_weights, tv_distance


def _softmax_head(n, dk, seed, key_norms="free"):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((n, dk)), rng.standard_normal((n, dk))
    if key_norms == "equal":
        k /= np.linalg.norm(k, axis=1, keepdims=True)
    s = q @ k.T / math.sqrt(dk)
    a = np.asarray(get_kernel("softmax").weights_from_scores(jnp.asarray(s)))
    return q, k, s, a


def test_eps_rank_is_the_eckart_young_count():
    sv = np.array([10.0, 1.0, 0.1, 1e-5])
    assert [eps_rank(sv, e) for e in (0.5, 0.05, 0.005, 1e-7)] == [1, 2, 3, 4]
    assert eps_rank(np.zeros(3), 0.1) == 0
    # ‖A − A_r‖₂ = σ_{r+1} ≤ ε σ₁ exactly at r = eps_rank
    a = np.random.default_rng(0).standard_normal((6, 6))
    u, s, vt = np.linalg.svd(a)
    r = eps_rank(s, 0.3)
    approx = (u[:, :r] * s[:r]) @ vt[:r]
    assert np.linalg.norm(a - approx, 2) <= 0.3 * s[0] + 1e-12
    assert r == 0 or np.linalg.norm(a - (u[:, :r - 1] * s[:r - 1]) @ vt[:r - 1], 2) > 0.3 * s[0]


def test_rank_record_reports_b_against_sqrt_log_n():
    _, _, s, a = _softmax_head(20, 4, 1)
    rec = rank_record(a, s)
    assert rec["B"] == pytest.approx(np.max(np.abs(s)))
    assert rec["sqrt_log_n"] == pytest.approx(math.sqrt(math.log(20)))
    assert rec["rank"] == rec["predicted_rank"] == 20 and rec["rank_status"] == "ok"
    for eps, measured in rec["eps_rank"].items():  # the n-independent Taylor bound holds
        assert measured <= rec["eps_rank_bound"][eps] <= 20


def test_taylor_bound_survives_large_score_bounds():
    from theorem.numeric.eps_rank import taylor_eps_rank_bound

    assert taylor_eps_rank_bound(75.0, 1e-2, 32, 512) == 512
    # small scores: the bound is n-independent and can be far below n
    s = np.full((400, 400), 0.01)
    a = np.full((400, 400), 1 / 400)
    rec = rank_record(a, s)
    assert rec["eps_rank"]["0.01"] <= rec["eps_rank_bound"]["0.01"] < 400


@given(st.integers(3, 12), st.integers(1, 4), st.integers(0, 2**16))
def test_matching_counts_equal_the_kernel_formulas(n, dk, seed):
    q, k, _, a = _softmax_head(n, dk, seed)
    rec = matching_record(q, k, a, queries=n)
    note(str(rec))
    assert rec["softmax"]["a"]["reversed"] == rec["softmax"]["a"]["predicted_reversed"] == 0
    for kern in ("softmax", "csq", "poly2"):
        for reading in ("a", "b"):
            assert rec[kern][reading]["reversed"] == rec[kern][reading]["predicted_reversed"]


def test_equal_key_norms_remove_euclidean_reversals_for_softmax():
    q, k, _, a = _softmax_head(10, 3, 7, key_norms="equal")
    rec = matching_record(q, k, a, queries=10)
    assert rec["softmax"]["b"]["reversed"] == 0
    q, k, _, a = _softmax_head(10, 3, 7)
    assert matching_record(q, k, a, queries=10)["softmax"]["b"]["reversed"] > 0


def test_matching_rejects_unknown_kernels():
    q, k, _, a = _softmax_head(5, 2, 0)
    with pytest.raises(ValueError, match="kernels"):
        matching_record(q, k, a, kernels=("rbf",))


def test_log_weights_normalize_and_match_the_kernels():
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    for name, kern in (("softmax", get_kernel("softmax")), ("poly2", get_kernel("poly2")),
                       ("csq", get_kernel("csq", shift=1.0, center=True))):
        w = np.exp(np.asarray(log_weights(name, jnp.asarray(q), jnp.asarray(k))))
        np.testing.assert_allclose(w, np.asarray(kern.weights(jnp.asarray(q), jnp.asarray(k))), rtol=1e-10, atol=1e-14)


def test_fit_recovers_a_pattern_its_own_kernel_made():
    rng = np.random.default_rng(0)
    n, d, dk = 12, 5, 3
    x = rng.standard_normal((n, d))
    wq, wk = rng.standard_normal((d, dk)), rng.standard_normal((d, dk))
    bq, bk = np.zeros(dk), np.zeros(dk)
    target = np.exp(np.asarray(log_weights("csq", jnp.asarray(x @ wq), jnp.asarray(x @ wk))))
    start = wq + 0.3 * rng.standard_normal((d, dk)), wk + 0.3 * rng.standard_normal((d, dk))
    res = fit_pattern(x, target, start[0], bq, start[1], bk, "csq", steps=150, lr=1e-2)
    assert res.tv < 0.5 * res.tv_start
    assert tv_distance(target, target) == 0.0


def test_fit_bad_input_names_the_argument():
    x = np.zeros((4, 3))
    w = np.zeros((3, 2))
    with pytest.raises(ValueError, match="kernel"):
        fit_pattern(x, np.eye(4), w, np.zeros(2), w, np.zeros(2), "linear")
    with pytest.raises((ValueError, TypeError), match="target"):  # TypeError: jaxtyping's shape check (n×n)
        fit_pattern(x, np.eye(3), w, np.zeros(2), w, np.zeros(2), "csq")
    with pytest.raises(ValueError, match="steps"):
        fit_pattern(x, np.eye(4), w, np.zeros(2), w, np.zeros(2), "csq", steps=-1)
