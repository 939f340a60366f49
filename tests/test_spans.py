"""Spans along training and across data (theorem.numeric.spans, theorem.training.spans, theorem.symbolic.spans)
against oracles written here in NumPy: the weights map's Jacobian by its chain rule, by hand, and facts of the
loss proved in docs/pullback.md (poly2's gradient ⊥ M, softmax's gradient annihilates c when X c = 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from theorem.kernels import get_kernel
from theorem.numeric.spans import data_invariants, predicted_union, span_rank, token_stream, union_rank
from theorem.symbolic.spans import evaluate, gradient_ceiling, span_formula, stacked_softmax_pullback
from theorem.training.spans import trajectory


def jacobian_oracle(x: np.ndarray, m: np.ndarray, kernel: str) -> np.ndarray:
    """∂ vec A/∂ vec M (n² × d²) by the chain rule written out: dS = X dM Xᵀ/√d, then row i of A
    (softmax: (diag a − a aᵀ) dS_i; poly2: (2/Z)(diag s − a sᵀ) dS_i)."""
    n, d = x.shape
    s = x @ m @ x.T / math.sqrt(d)
    cols = []
    for a in range(d):
        for b in range(d):
            e = np.zeros((d, d))
            e[a, b] = 1.0
            ds = x @ e @ x.T / math.sqrt(d)
            da = np.zeros((n, n))
            for i in range(n):
                if kernel == "softmax":
                    w = np.exp(s[i] - s[i].max())
                    w /= w.sum()
                    da[i] = (np.diag(w) - np.outer(w, w)) @ ds[i]
                else:
                    z = np.sum(s[i] ** 2)
                    w = s[i] ** 2 / z
                    da[i] = (2.0 / z) * (np.diag(s[i]) - np.outer(w, s[i])) @ ds[i]
            cols.append(da.ravel())
    return np.stack(cols, axis=1)


def oracle_union(xs, ms, kernel) -> int:
    blocks = [jacobian_oracle(x, m, kernel) for x, m in zip(xs, ms)]
    blocks = [b / np.linalg.norm(b, 2) for b in blocks]
    return int(np.linalg.matrix_rank(np.concatenate(blocks), tol=1e-9))


N, D = 6, 3
RNG = np.random.default_rng(5)
M0, M1 = RNG.standard_normal((D, D)) / math.sqrt(D), RNG.standard_normal((D, D)) / math.sqrt(D)


@pytest.mark.parametrize("family, kernel, expected", [
    ("gaussian", "softmax", D * D),
    ("layernorm_affine_shared", "softmax", D * (D - 1)),  # one γ, β: the 1-direction is lost for all of them
    ("layernorm_affine", "softmax", D * D),  # a γ, β per matrix: the lost directions differ
    ("gaussian", "poly2", D * D - 1),  # the direction M is invisible for every X
])
def test_union_over_data_matches_the_hand_written_jacobian(family, kernel, expected):
    xs = list(token_stream(family, 3, N, D, seed=2))
    got = union_rank(xs, [M0] * 3, get_kernel(kernel))
    assert got.status == "ok"
    assert got.rank == oracle_union(xs, [M0] * 3, kernel) == expected


def test_poly2_union_over_two_parameter_points_reaches_d_squared():
    x = token_stream("gaussian", 1, N, D, seed=4)[0]
    one, two = union_rank([x], [M0], get_kernel("poly2")), union_rank([x, x], [M0, M1], get_kernel("poly2"))
    assert (one.rank, two.rank) == (oracle_union([x], [M0], "poly2"), oracle_union([x, x], [M0, M1], "poly2"))
    assert (one.rank, two.rank) == (D * D - 1, D * D)


def test_softmax_union_over_parameter_points_stays_at_its_one_point_value():
    x = token_stream("layernorm_affine_shared", 1, N, D, seed=4)[0]
    got = union_rank([x, x, x], [M0, M1, -M1], get_kernel("softmax"))
    assert got.rank == oracle_union([x], [M0], "softmax") == D * (D - 1)


def test_layernorm_shared_stream_has_one_vector_c_with_x_c_equal_to_ones():
    xs = token_stream("layernorm_affine_shared", 4, N, D, seed=1)
    cs = [np.linalg.lstsq(x, np.ones(N), rcond=None)[0] for x in xs]
    assert all(np.allclose(x @ c, 1.0, atol=1e-9) for x, c in zip(xs, cs))
    assert all(np.allclose(c, cs[0], atol=1e-8) for c in cs)
    other = token_stream("layernorm_affine", 2, N, D, seed=1)
    c0, c1 = (np.linalg.lstsq(x, np.ones(N), rcond=None)[0] for x in other)
    assert not np.allclose(c0 / np.linalg.norm(c0), c1 / np.linalg.norm(c1), atol=1e-3)


def test_data_invariants_and_the_closed_form_by_hand():
    xs = list(token_stream("layernorm_affine_shared", 3, N, D, seed=0))
    centred = np.concatenate([x - x.mean(axis=0) for x in xs])
    inv = data_invariants(xs)
    assert inv["r"] == D and inv["common_row_space"] and inv["rho_u"] == np.linalg.matrix_rank(centred) == D - 1
    assert predicted_union("softmax", "data", xs, [M0] * 3)["value"] == D * (D - 1)
    assert predicted_union("poly2", "data", xs, [M0] * 3)["value"] == D * D - 1
    assert predicted_union("poly2", "trajectory", xs[:2], [M0, M1])["value"] == D * D
    assert predicted_union("poly2", "trajectory", xs[:2], [M0, 3.0 * M0])["value"] == D * D - 1  # parallel points
    bad = predicted_union("softmax", "data", [xs[0], np.c_[xs[1][:, :2], np.zeros(N)]], [M0] * 2)
    assert bad["value"] is None and bad["violations"]


def test_span_rank_of_vectors_of_very_different_sizes():
    basis = RNG.standard_normal((4, 9))
    vectors = RNG.standard_normal((7, 4)) @ basis * np.logspace(0, -8, 7)[:, None]
    got = span_rank(vectors)
    assert (got.rank, got.status) == (4, "ok")


def test_exact_softmax_pullback_matches_numpy():
    x = sp.Matrix([[1, 0], [2, 1], [0, 3], [1, 1]])
    rows = np.array(stacked_softmax_pullback([x]).tolist(), dtype=float)
    xn = np.array(x.tolist(), dtype=float)
    oracle = [(xn.T @ np.outer(np.eye(4)[a], np.eye(4)[b] - np.eye(4)[3]) @ xn).ravel() for a in range(4) for b in range(3)]
    assert np.allclose(rows, oracle)
    assert evaluate(span_formula("softmax", "data"), r=2, rho_u=2) == np.linalg.matrix_rank(rows) == 4


def test_closed_forms_evaluate_and_reject_bad_invariants():
    assert evaluate(gradient_ceiling(12), T=5) == 5 and evaluate(gradient_ceiling(12), T=20) == 12
    assert evaluate(span_formula("poly2", "trajectory"), r=4, par=1) == 15
    with pytest.raises(ValueError):
        evaluate(span_formula("softmax", "data"), r=2, rho_u=3)
    with pytest.raises(KeyError):
        span_formula("linear", "data")


def _loss_np(m, x, mt, kernel):
    def weights(mm):
        s = x @ mm @ x.T / math.sqrt(x.shape[1])
        t = np.exp(s - s.max(axis=1, keepdims=True)) if kernel == "softmax" else s**2
        return t / t.sum(axis=1, keepdims=True)

    return 0.5 * np.sum((weights(m) - weights(mt)) ** 2) / x.shape[0]


@pytest.mark.parametrize("kernel", ["softmax", "poly2"])
def test_trajectory_records_the_points_and_gradients_of_the_fit(kernel):
    xs = token_stream("layernorm_affine_shared", 5, N, D, seed=3)
    tr = trajectory(get_kernel(kernel), xs, steps=5, learning_rate=0.1, optimizer="sgd")
    ms, g = tr["ms"], tr["grads"].reshape(5, D, D)
    assert np.allclose(ms[1:], ms[:-1] - 0.1 * g[:-1], atol=1e-12)  # SGD: M_{t+1} = M_t − η g_t
    h = 1e-6
    fd = np.zeros((D, D))
    for a in range(D):
        for b in range(D):
            e = np.zeros((D, D))
            e[a, b] = h
            fd[a, b] = (_loss_np(ms[2] + e, xs[2], tr["m_teacher"], kernel)
                        - _loss_np(ms[2] - e, xs[2], tr["m_teacher"], kernel)) / (2 * h)
    assert np.allclose(g[2], fd, atol=1e-7)
    c = np.linalg.lstsq(xs[0], np.ones(N), rcond=None)[0]
    if kernel == "poly2":  # A(αM) = A(M): every gradient is orthogonal to the point it was met at
        assert np.allclose(np.einsum("tab,tab->t", g, ms), 0.0, atol=1e-12)
    else:  # X c = 1 for every matrix of the stream: every gradient annihilates c
        assert np.allclose(g @ c, 0.0, atol=1e-12)
