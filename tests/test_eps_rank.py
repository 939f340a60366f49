"""Unit tests of ``theorem.numeric.eps_rank``: ε-rank intervals, the randomized range finder
and its residual bound, the Gram route, and the Taylor bound for softmax.

Lemmas checked (the full SVD is the reference on every size where it runs):

* every method's interval ``[lower, upper]`` contains the exact ε-rank, for softmax matrices
  at several score bounds and for planted spectra with a cliff, a plateau and a slow decay;
* the randomized singular values never exceed the true ones (interlacing) and the
  probabilistic residual bound ``ρ`` is never below ``‖(I − QQᵀ)A‖₂``;
* ``power_failure_probability`` is the Beta-tail bound (≈ ``0.8√n θ^{−m}``), in [0, 1];
* the Taylor bound ``min(n, C(r+p, p))`` is never exceeded by a measured ε-rank and does
  not depend on n;
* bad input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from theorem.numeric import eps_rank as er

EPS_LIST = (1e-1, 1e-2, 1e-3, 1e-4)


def planted(sv: np.ndarray, seed: int = 0) -> np.ndarray:
    n = sv.size
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * sv) @ v.T


def exact(a, eps):
    return er.eps_rank_from_singular_values(np.linalg.svd(a, compute_uv=False), eps)


SPECTRA = {
    "cliff": np.r_[np.ones(20), np.full(180, 1e-6)],
    "plateau": np.r_[1.0, np.full(60, 5e-3), np.full(139, 1e-7)],
    "geometric": 0.93 ** np.arange(200),
}


@pytest.mark.parametrize("method", ["svd", "randomized", "gram"])
@pytest.mark.parametrize("name", list(SPECTRA))
def test_interval_contains_the_exact_eps_rank_planted(method, name):
    a = planted(SPECTRA[name], seed=len(name))
    res = er.eps_ranks(a, EPS_LIST, method=method, k0=16)
    for e in EPS_LIST:
        truth = exact(a, e)
        assert res[e].lower <= truth <= res[e].upper, (name, method, e, res[e].to_dict(), truth)


@pytest.mark.parametrize("b", [0.25, 1.0, 4.0, 16.0])
@pytest.mark.parametrize("method", ["svd", "randomized", "gram", "auto"])
def test_interval_contains_the_exact_eps_rank_softmax(b, method):
    a = er.softmax_attention(er.softmax_scores(240, 16, b, seed=2))
    # the sketch is capped at 64 columns: often uncertified, so the interval itself is under test
    res = er.eps_ranks(a, EPS_LIST, method=method, k_max=64 if method == "randomized" else None)
    for e in EPS_LIST:
        truth = exact(a, e)
        assert res[e].lower <= truth <= res[e].upper, (b, method, e, res[e].to_dict(), truth)
        assert res[e].rank == truth or not res[e].resolved


def test_certified_randomized_result_is_exact_when_the_spectrum_has_a_gap():
    a = planted(SPECTRA["cliff"], seed=3)
    res = er.eps_rank(a, 1e-3, method="randomized", k0=8)
    assert res.resolved and res.rank == 20 and res.failure_probability < 1e-12


def test_auto_uses_the_sketch_for_low_rank_and_large_n():
    a = er.softmax_attention(er.softmax_scores(800, 8, 0.5, seed=1))
    res = er.eps_rank(a, 1e-2, method="auto")
    assert res.method == "randomized" and res.resolved
    assert res.rank == exact(a, 1e-2)


@given(st.integers(20, 120), st.integers(1, 30), st.integers(0, 2), st.integers(0, 10_000))
def test_randomized_singular_values_interlace_and_residual_bound_holds(n, k, q, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) * (0.8 ** np.arange(n))  # decaying columns
    k = min(k, n)
    qm = er.randomized_range(a, k, power_iters=q, seed=seed)
    np.testing.assert_allclose(qm.T @ qm, np.eye(k), atol=1e-10)
    s_hat = np.linalg.svd(qm.T @ a, compute_uv=False)
    s = np.linalg.svd(a, compute_uv=False)
    assert np.all(s_hat <= s[: s_hat.size] * (1 + 1e-10) + 1e-13)
    rho, p_fail = er.residual_norm_bound(a, qm, seed=seed + 1)
    true = np.linalg.norm(a - qm @ (qm.T @ a), 2)
    note(f"true residual {true:.3e}, bound {rho:.3e}")
    assert true <= rho * (1 + 1e-12)
    assert 0 <= p_fail < 1e-10


def test_randomized_svd_recovers_a_low_rank_matrix():
    a = planted(np.r_[np.linspace(3, 1, 10), np.zeros(90)], seed=5)
    u, s, vt = er.randomized_svd(a, 10, power_iters=1)
    np.testing.assert_allclose(s, np.linspace(3, 1, 10), rtol=1e-10)
    np.testing.assert_allclose((u * s) @ vt, a, atol=1e-10)


def test_power_failure_probability():
    p = er.power_failure_probability(4096, 4.0, 16)
    approx = 0.8 * math.sqrt(4096) * 4.0**-16
    assert 0.5 * approx < p < 2 * approx
    assert er.power_failure_probability(100, 2.0, 1) == 1.0 or er.power_failure_probability(100, 2.0, 1) <= 1.0
    assert er.power_failure_probability(100, 4.0, 20) < er.power_failure_probability(100, 4.0, 10)


# --------------------------------------------------------------------------------
# the Taylor bound
# --------------------------------------------------------------------------------


def test_taylor_degree_definition():
    for b, e in [(0.5, 1e-2), (1.0, 1e-3), (4.0, 1e-3)]:
        p = er.taylor_degree(b, e)
        tail = lambda q: math.exp(b) - sum(b**j / math.factorial(j) for j in range(q + 1))  # noqa: E731
        assert math.exp(b) * tail(p) <= e * (1 + 1e-9)
        assert p == 0 or math.exp(b) * tail(p - 1) > e
    assert er.taylor_degree(0.0, 1e-3) == 0


@pytest.mark.parametrize("b", [60.0, 75.0, 700.0, 2000.0])
def test_taylor_degree_at_score_bounds_beyond_float_range(b):
    """e^B and B^p overflow float64 here; the degree is still the least p with e^B R_p(B) ≤ ε,
    checked in exact rational arithmetic (R_p(B) = Σ_{k>p} B^k/k!, its terms summed until they are
    below 10⁻⁴⁰ of the total)."""
    eps = Fraction(1, 100)
    p = er.taylor_degree(b, 1e-2)
    bb = Fraction(int(b))

    def log_lhs(q):  # log(e^B R_q(B)), the tail in exact arithmetic
        term, k, total = bb ** (q + 1) / math.factorial(q + 1), q + 1, Fraction(0)
        while True:
            total += term
            k += 1
            term = term * bb / k
            if k > bb and term < total / 10**40:
                return b + math.log(total.numerator) - math.log(total.denominator)

    assert log_lhs(p) <= math.log(eps) + 1e-9
    assert log_lhs(p - 1) > math.log(eps) - 1e-9


@pytest.mark.parametrize("b", [0.1, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_measured_eps_rank_never_exceeds_the_taylor_bound(b, d):
    for n in (40, 160, 400):
        a = er.softmax_attention(er.softmax_scores(n, d, b, seed=n))
        for e in (1e-2, 1e-4):
            bound = er.taylor_eps_rank_bound(b, e, d, n)
            assert exact(a, e) <= bound, (n, d, b, e)
    # independent of n: the same bound at every n beyond it
    assert er.taylor_eps_rank_bound(b, 1e-2, d, 10**6) == er.taylor_eps_rank_bound(b, 1e-2, d, 10**7)


def test_threshold_curve_is_in_score_units():
    # Alman & Song bound the entries of Q, K by B_e with A = exp(QKᵀ/d): scores ≤ B_e², so the
    # entry threshold √(ln n) is ln n in score units
    np.testing.assert_allclose(er.alman_song_threshold([1, math.e**4]), [0.0, 4.0])
    np.testing.assert_allclose(er.alman_song_entry_threshold([1, math.e**4]), [0.0, 2.0])
    rng = np.random.default_rng(0)
    d, be = 6, 0.7
    q, k = rng.uniform(-be, be, (20, d)), rng.uniform(-be, be, (20, d))
    assert np.max(np.abs(q @ k.T / d)) <= be**2


def test_softmax_scores_have_the_requested_bound_and_rank():
    s = er.softmax_scores(50, 4, 2.5, seed=1)
    assert np.max(np.abs(s)) == pytest.approx(2.5)
    assert np.linalg.matrix_rank(s) == 4


def test_sweep_records_pair_measured_with_bound():
    recs = er.softmax_eps_rank_sweep([32, 64], [0.5, 8.0], [1e-2], d=4)
    assert len(recs) == 4
    for r in recs:
        assert r["lower"] <= r["rank"] <= r["upper"] and r["lower"] <= r["taylor_bound"]
        assert r["log_n"] == pytest.approx(math.log(r["n"]))


# --------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    a = np.eye(4)
    with pytest.raises(ValueError, match="eps"):
        er.eps_ranks(a, [0.0])
    with pytest.raises(ValueError, match="eps"):
        er.eps_ranks(a, [])
    with pytest.raises(ValueError, match="method"):
        er.eps_ranks(a, [0.1], method="qr")
    with pytest.raises(ValueError, match="NaN"):
        er.eps_ranks(np.full((2, 2), np.nan), [0.1])
    with pytest.raises((ValueError, TypeError), match="A|parameter 'a'"):  # TypeError: the runtime shape check
        er.eps_ranks(np.zeros(3), [0.1])
    with pytest.raises(ValueError, match="k"):
        er.randomized_range(a, 9)
    with pytest.raises(ValueError, match="B"):
        er.taylor_degree(-1.0, 0.1)
    with pytest.raises(ValueError, match="n"):
        er.softmax_scores(0, 3, 1.0)
