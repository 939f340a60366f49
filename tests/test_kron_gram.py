"""The Kronecker Gram of a biased head's pulled-back map, and its rank route, against a dense oracle.

The oracle is written here: the head's map θ ↦ S or log softmax(S), ``S = (X̃W̃_Q)(X̃W̃_K)ᵀ/√k`` with the
first ``k'`` columns of ``W̃`` varied, differentiated by ``jax.jacfwd``; its Gram ``JᵀJ`` and its SVD rank.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.numeric.kron_gram import (certify_block, factors, kron_gram, pivoted_rank, rump_shift, trailing_bound,
                                       triangle_digest)
from theorem.numeric.kron_rank import measure_kron
from theorem.numeric.pullback_bias import BiasedHead


def oracle_jacobian(head: BiasedHead) -> np.ndarray:
    """``∂ vec(map)/∂θ`` by jacfwd of a forward map written from the definition."""
    n, d = head.x.shape
    ones = jnp.ones((n, 1))
    xt = jnp.concatenate([jnp.asarray(head.x), ones], axis=1)
    wq = jnp.concatenate([jnp.asarray(head.w_q), jnp.asarray(head.b_q)[None]], axis=0)
    wk = jnp.concatenate([jnp.asarray(head.w_k), jnp.asarray(head.b_k)[None]], axis=0)
    rows, kv = d + 1, head.kv

    def f(theta):
        p = rows * kv
        q = xt @ wq.at[:, :kv].set(theta[:p].reshape(rows, kv))
        k = xt @ wk.at[:, :kv].set(theta[p:].reshape(rows, kv))
        s = q @ k.T / math.sqrt(head.k)
        return (s if head.map == "scores" else jax.nn.log_softmax(s, axis=-1)).ravel()

    theta = jnp.concatenate([wq[:, :kv].ravel(), wk[:, :kv].ravel()])
    return np.asarray(jax.jit(jax.jacfwd(f))(theta))


def ones_in_col(x: np.ndarray) -> np.ndarray:
    """Tokens whose last coordinate makes every row sum to 1 (so ``1 ∈ col X``, as after a LayerNorm)."""
    x = x.copy()
    x[:, -1] = 1.0 - x[:, :-1].sum(axis=1)
    return x


@pytest.mark.parametrize("map,columns,whiten", [("scores", None, True), ("log-weights", None, False),
                                                ("log-weights", 1, True)])
def test_gram_equals_dense_oracle(map, columns, whiten):
    x = np.random.default_rng(3).standard_normal((7, 3))
    head = BiasedHead.draw(x, 2, seed=1, map=map, columns=columns)
    jac = oracle_jacobian(head)
    f = factors(head, whiten=whiten)
    half = head.rows * head.kv
    r = np.zeros((2 * half, 2 * half))
    r[:half, :half] = np.kron(f.r_x, f.r_k)  # vec(R_x dM R_kᵀ) = (R_x ⊗ R_k) vec(dM), row-major
    r[half:, half:] = np.kron(f.r_x, f.r_q)
    assert np.linalg.matrix_rank(r) == 2 * half  # the reparametrization is invertible
    want = (jac @ r).T @ (jac @ r)
    np.testing.assert_allclose(kron_gram(f), want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("n,d,k,ones,map", [(9, 3, 2, True, "log-weights"), (6, 4, 3, False, "log-weights"),
                                            (12, 4, 3, True, "scores")])
def test_rank_equals_dense_svd_rank_and_is_certified(n, d, k, ones, map):
    x = np.random.default_rng(n + d).standard_normal((n, d))
    x = ones_in_col(x) if ones else x
    head = BiasedHead.draw(x, k, seed=2, map=map)
    sv = np.linalg.svd(oracle_jacobian(head), compute_uv=False)
    dense_rank = int(np.sum(sv > sv[0] * 1e-9))
    assert sv[dense_rank - 1] > 1e-6 * sv[0] and (dense_rank == sv.size or sv[dense_rank] < 1e-12 * sv[0])
    meas = measure_kron(head)
    assert meas.rank.status == "ok" and meas.rank.rank == dense_rank
    cert = meas.certificate
    assert cert["proved"] and cert["sigma_r_lower"] > cert["sigma_r_plus_1_upper"] * 100


def test_schur_trace_bounds_the_dropped_eigenvalues():
    rng = np.random.default_rng(0)
    b = rng.standard_normal((40, 25)) * np.logspace(0, -3, 25)
    g = b @ b.T + 1e-13 * np.eye(40)  # numerically rank 25, 15 eigenvalues at 1e-13
    lam = np.linalg.eigvalsh(g)[::-1]
    diag = np.diag(g).copy()
    pr = pivoted_rank(g.copy())
    bound = pr.schur_trace(diag, 25)
    assert lam[25] <= bound < 1e-10
    assert pr.schur_trace(diag, 20) > lam[21]  # before the cut the complement still holds signal


def test_weights_map_is_refused():
    head = BiasedHead.draw(np.random.default_rng(1).standard_normal((5, 2)), 2, map="weights")
    with pytest.raises(ValueError, match="Kronecker Gram"):
        factors(head)


def _psd(p: int, rank: int, floor: float, seed: int) -> np.ndarray:
    """A PSD matrix with ``rank`` eigenvalues spread over [1e-3, 1] and the rest at ``floor`` (C order)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    lam = np.concatenate([np.logspace(0, -3, rank), np.full(p - rank, floor)])
    g = (q * lam) @ q.T
    return np.ascontiguousarray((g + g.T) / 2)


def test_pivoted_rank_leaves_the_other_triangle_alone():
    # large enough for dpstrf's blocked path and threaded level-3 BLAS
    g = _psd(1500, 1200, 1e-14, 5)
    before, digest = np.triu(g, 1), triangle_digest(g)
    pivoted_rank(g)
    assert triangle_digest(g) == digest and np.array_equal(np.triu(g, 1), before)


def test_trailing_bound_bounds_the_first_dropped_eigenvalue():
    g = _psd(400, 300, 1e-13, 6)
    lam = np.linalg.eigvalsh(g)[::-1]  # the oracle
    diag = np.diag(g).copy()
    pr = pivoted_rank(g)
    up = trailing_bound(g, pr, diag, 300)
    assert lam[300] <= up["bound"] < 1e-9
    assert trailing_bound(g, pr, diag, 250)["bound"] > lam[250]  # before the cut the complement holds signal


@pytest.mark.parametrize("seed", [0, 1])
def test_certify_block_proves_exactly_below_the_kept_minimum(seed):
    g = _psd(300, 300, 0.0, seed)
    kept = np.sort(np.random.default_rng(seed).permutation(300)[:260])
    lam_min = np.linalg.eigvalsh(g[np.ix_(kept, kept)])[0]  # the oracle
    diag = np.diag(g).copy()
    for s, want in [(0.98 * lam_min, True), (1.02 * lam_min, False)]:
        h = g.copy()
        h[np.tril_indices(300)] = np.nan  # certify_block reads only the strict upper triangle and diag
        proved, c = certify_block(h, kept, s, diag)
        assert proved is want and 0 < c < 1e-3 * lam_min


def test_rump_shift_covers_the_factorizations_backward_error():
    # tr M·(p+3)·eps·(1 + O(eps p)), plus the rounded diagonal: never below Rump's γ_{p+1}/(1-γ_{p+1}) tr M
    for p, tr in [(10, 5.0), (24640, 1e3)]:
        gam = (p + 1) * np.finfo(float).eps / 2 / (1 - (p + 1) * np.finfo(float).eps / 2)
        assert rump_shift(tr, p, 1.0, 1e-6) > gam / (1 - gam) * tr + np.finfo(float).eps * 1.0
