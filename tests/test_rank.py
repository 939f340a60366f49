"""Unit tests of ``theorem.numeric.rank``: the float64 rank with its tolerance and gap tests.

Lemmas checked:

* on small integer matrices the float rank equals the exact rational rank, with status ok;
* a planted spectrum with a clear gap gives the planted rank; a singular value planted
  just above the tolerance is counted by the tolerance test and flagged by the gap test;
* a spectrum without a gap is "ill-defined";
* bad input (NaN, Inf, wrong ndim) raises ``ValueError``; zero and empty matrices have rank 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theorem.numeric.rank import DEFAULT_MIN_GAP, numerical_rank, rank_from_singular_values

EPS = np.finfo(np.float64).eps
LOCAL_SETTINGS = settings(deadline=None)


# --------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------

entries = st.integers(min_value=-3, max_value=3)
shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


def integer_matrices() -> st.SearchStrategy[np.ndarray]:
    """Integer matrices with entries in −3..3 and shape up to 6×6."""
    return shapes.flatmap(lambda s: arrays(np.int64, s, elements=entries))


@st.composite
def low_rank_integer_matrices(draw) -> np.ndarray:
    """A product A·B of integer factors (n×k)(k×m), k < min(n, m) when possible: rank ≤ k."""
    n, m = draw(shapes)
    k = draw(st.integers(1, max(1, min(n, m) - 1)))
    a = draw(arrays(np.int64, (n, k), elements=entries))
    b = draw(arrays(np.int64, (k, m), elements=entries))
    return a @ b


def exact_rank(matrix: np.ndarray) -> int:
    return sp.Matrix(matrix.tolist()).rank()


def random_orthogonal(n: int, seed: int) -> np.ndarray:
    """Haar-ish orthogonal matrix from the QR of a Gaussian matrix (fixed seed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def planted(sigma: list[float], shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """U diag(σ) Vᵀ with random orthogonal U, V; σ is padded with zeros."""
    n, m = shape
    s = np.zeros((n, m))
    s[np.arange(len(sigma)), np.arange(len(sigma))] = sigma
    return random_orthogonal(n, seed) @ s @ random_orthogonal(m, seed + 1).T


# --------------------------------------------------------------------------------
# float rank == exact rank on integer matrices
# --------------------------------------------------------------------------------


@LOCAL_SETTINGS
@given(integer_matrices())
@example(np.full((6, 6), 3))  # rank 1, every row equal
@example(np.array([[3, 3], [3, 2]]))  # det −3
@example(np.zeros((4, 5), dtype=np.int64))
def test_float_rank_matches_exact_rank(matrix):
    result = numerical_rank(matrix.astype(np.float64))
    note(result.summary())
    assert result.rank == exact_rank(matrix)
    assert result.status == "ok"


@LOCAL_SETTINGS
@given(low_rank_integer_matrices())
@example(np.outer([3, -3, 2, 1, 3, -2], [3, 3, -3, 1, 2, 3]))  # entries up to 9, rank 1
def test_float_rank_matches_exact_rank_of_products(matrix):
    result = numerical_rank(matrix.astype(np.float64))
    note(result.summary())
    assert result.rank == exact_rank(matrix)
    assert result.status == "ok"


@LOCAL_SETTINGS
@given(integer_matrices())
def test_rank_from_singular_values_agrees_with_numerical_rank(matrix):
    """The two entry points agree, and the order of the singular values does not matter."""
    a = matrix.astype(np.float64)
    sv = np.linalg.svd(a, compute_uv=False)
    direct = numerical_rank(a)
    shuffled = rank_from_singular_values(np.random.default_rng(0).permutation(sv), a.shape)
    assert (shuffled.rank, shuffled.status) == (direct.rank, direct.status)
    assert shuffled.tolerance == pytest.approx(direct.tolerance)


# --------------------------------------------------------------------------------
# planted spectra
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(8, 6), (6, 8), (7, 7)])
def test_planted_rank_four(seed, shape):
    sigma = [1.0, 0.5, 0.1, 1e-3]
    result = numerical_rank(planted(sigma, shape, seed))
    assert result.rank == 4
    assert result.status == "ok"
    assert result.gap > DEFAULT_MIN_GAP
    np.testing.assert_allclose(result.singular_values[:4], sigma, rtol=1e-10)
    assert result.tolerance == pytest.approx(max(shape) * EPS * 1.0, rel=1e-10)


def test_planted_value_just_above_tolerance_is_counted_but_ill_defined():
    """σ₅ = 10·τ is above the tolerance (rank 5), but σ₅/σ₆ ≪ min_gap: not a rank to lean on."""
    shape = (8, 6)
    tol = max(shape) * EPS
    result = numerical_rank(planted([1.0, 0.5, 0.1, 1e-3, 10 * tol], shape))
    assert result.rank == 5
    assert result.status == "ill-defined"
    assert result.gap < DEFAULT_MIN_GAP


def test_planted_small_value_with_clear_gap_is_counted_and_ok():
    """σ₅ = 1e-8 lies far above round-off (≈ 1e-16): rank 5 with a gap ≈ 1e8."""
    result = numerical_rank(planted([1.0, 0.5, 0.1, 1e-3, 1e-8], (8, 6)))
    assert result.rank == 5
    assert result.status == "ok"


@pytest.mark.parametrize(
    ("ratio", "status"), [(2.0 * DEFAULT_MIN_GAP, "ok"), (0.5 * DEFAULT_MIN_GAP, "ill-defined")]
)
def test_gap_threshold_on_exact_singular_values(ratio, status):
    """With σ_{r+1} below τ, the status is decided by σ_r/σ_{r+1} against min_gap."""
    shape = (6, 6)
    tol = max(shape) * EPS
    below = tol / 2
    sv = np.array([1.0, 0.3, ratio * below, below, 0.0, 0.0])
    result = rank_from_singular_values(sv, shape)
    assert result.rank == 3
    assert result.gap == pytest.approx(ratio)
    assert result.status == status


def test_min_gap_is_a_parameter():
    sv = np.array([1.0, 1e-10, 1e-20])
    assert rank_from_singular_values(sv, (3, 3)).status == "ok"  # gap 1e10
    assert rank_from_singular_values(sv, (3, 3), min_gap=1e12).status == "ill-defined"


# --------------------------------------------------------------------------------
# no gap: ill-defined
# --------------------------------------------------------------------------------

GEOMETRIC = 10.0 ** (-np.arange(40) / 2)  # 1, 10^-1/2, ..., 10^-19.5: ratio √10 everywhere


def test_geometric_spectrum_is_ill_defined():
    result = rank_from_singular_values(GEOMETRIC, (40, 40))
    assert result.status == "ill-defined"
    assert result.gap == pytest.approx(np.sqrt(10.0))
    assert 0 < result.rank < 40


@pytest.mark.parametrize("seed", [0, 1])
def test_geometric_spectrum_matrix_is_ill_defined(seed):
    result = numerical_rank(planted(list(GEOMETRIC), (40, 40), seed))
    assert result.status == "ill-defined"
    assert not result.well_defined


# --------------------------------------------------------------------------------
# edge cases and bad input
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (6, 2)])
def test_zero_matrix_has_rank_zero(shape):
    result = numerical_rank(np.zeros(shape))
    assert result.rank == 0
    assert result.status == "ok"


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0)])
def test_empty_matrix_has_rank_zero(shape):
    result = numerical_rank(np.zeros(shape))
    assert result.rank == 0
    assert result.status == "ok"


def test_empty_singular_values_give_rank_zero():
    assert rank_from_singular_values(np.zeros(0), (0, 0)).rank == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_raise(bad):
    a = np.eye(3)
    a[1, 2] = bad
    with pytest.raises(ValueError):
        numerical_rank(a)


def test_non_finite_singular_values_raise():
    with pytest.raises(ValueError):
        rank_from_singular_values(np.array([1.0, np.nan]), (2, 2))


@pytest.mark.parametrize("bad", [np.ones(4), np.ones((2, 2, 2)), np.float64(1.0)], ids=["1-D", "3-D", "0-D"])
def test_wrong_ndim_raises(bad):
    with pytest.raises(ValueError):
        numerical_rank(bad)


def test_full_rank_has_infinite_gap_and_serializes():
    result = numerical_rank(np.eye(4))
    assert (result.rank, result.status) == (4, "ok")
    assert np.isinf(result.gap)
    assert result.to_dict()["gap"] is None
    assert "rank 4" in result.summary()
