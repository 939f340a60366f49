"""The linear form (theorem.numeric.csq_linear) in its transposed feature layout, against oracles written here.

The oracle evaluates the weights directly in NumPy float64, the n×n way: scores s·q·kᵀ (s = 1/√d_k), the
mean over the keys each query sees subtracted (CSQ, centered), the shift added, squared, masked when causal;
elu+1 as x + 1 (x > 0) or eˣ.  Error bound per row, as in tests/test_attention.py: 64·n·ε·(Σ_j W_ij |v_j| /
Σ_j T_ij + max|v|), W the size of the terms the expansion adds, (s|q_i|·(|k'_j| + 2 max|k'|) + c)² with k' the
keys less their mean (elu+1: W = T).  Sizes are chosen so that n is not a multiple of the block or chunk
(padding) and there are several blocks (the scan), at d_k = 4 and at d_k = 64 (D = 2145, the bench's size).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.kernels.features import sym2_rows
from theorem.numeric.csq_linear import elu_linear, squared_linear
from theorem.util.precision import x64

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)


def csq_oracle(q, k, v, *, shift, center, causal):
    """Output and the per-row error scale of CSQ attention, directly from the n×n weights (float64)."""
    n, dk = q.shape
    s = 1.0 / math.sqrt(dk)
    scores = s * (q @ k.T)
    seen = np.tril(np.ones((n, n), bool)) if causal else np.ones((n, n), bool)
    if center:
        mean = np.where(seen, scores, 0.0).sum(1, keepdims=True) / seen.sum(1, keepdims=True)
        scores = scores - mean
    t = np.where(seen, (scores + shift) ** 2, 0.0)
    kp = np.linalg.norm(k - k.mean(0), axis=1)
    w = np.where(seen, (s * np.linalg.norm(q, axis=1)[:, None] * (kp[None, :] + 2 * kp.max()) + shift) ** 2, 0.0)
    z = t.sum(1)
    return (t @ v) / z[:, None], (w @ np.abs(v)).max(1) / z + np.abs(v).max()


def elu_oracle(q, k, v, *, causal):
    phi = lambda x: np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))  # noqa: E731
    n = q.shape[0]
    t = phi(q) @ phi(k).T
    if causal:
        t = np.where(np.tril(np.ones((n, n), bool)), t, 0.0)
    z = t.sum(1)
    return (t @ v) / z[:, None], (t @ np.abs(v)).max(1) / z + np.abs(v).max()


def _inputs(seed, n, dk, dv, scale=1.0, key_offset=0.0):
    rng = np.random.default_rng(seed)
    q = scale * rng.standard_normal((n, dk))
    k = scale * rng.standard_normal((n, dk)) + key_offset
    return q, k, rng.standard_normal((n, dv))


CASES = [  # (n, d_k, d_v, chunk, scale, key offset, shift, centered)
    (37, 4, 3, 8, 1.0, 0.0, 1.0, True),
    (37, 4, 3, 8, 1.0, 1e3, 1.0, True),  # keys sharing a large mean: the reference point keeps it exact
    (53, 4, 2, 16, 30.0, 0.0, 1.0, True),  # large scores
    (41, 4, 3, 8, 1.0, 0.0, 0.05, True),  # small shift: the denominator ≥ m c² is small
    (37, 4, 3, 8, 1.0, 5.0, 1.0, False),  # uncentered, offset keys
    (70, 64, 5, 32, 1.0, 0.0, 1.0, True),  # D = 2145: the bench's feature map
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[f"n{c[0]}-dk{c[1]}-x{c[4]}-off{c[5]}-c{c[6]}-{c[7]}" for c in CASES])
def test_csq_linear_matches_the_direct_quadratic_oracle_float64(case, causal):
    n, dk, dv, chunk, scale, offset, shift, center = case
    q, k, v = _inputs(n + dk, n, dk, dv, scale, offset)
    want, err_scale = csq_oracle(q, k, v, shift=shift, center=center, causal=causal)
    with x64():
        got = np.asarray(squared_linear(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), shift=shift, center=center,
                                        causal=causal, chunk=chunk))
    assert got.dtype == np.float64 and got.shape == (n, dv)
    err = np.abs(got - want).max(1)
    assert np.all(err <= 64 * n * EPS64 * err_scale), float((err / err_scale).max() / EPS64)


@pytest.mark.parametrize("causal", [False, True])
def test_csq_linear_float32_at_the_bench_width(causal):
    """float32 at d_k = 64 (the bench's D = 2145), several blocks and chunks, against the float64 oracle."""
    n, dk, dv = 300, 64, 64
    q, k, v = _inputs(1, n, dk, dv)
    want, err_scale = csq_oracle(q, k, v, shift=1.0, center=True, causal=causal)
    got = np.asarray(squared_linear(*(jnp.asarray(x, jnp.float32) for x in (q, k, v)), shift=1.0, center=True,
                                    causal=causal, chunk=64))
    assert got.dtype == np.float32
    err = np.abs(got - want).max(1)
    assert np.all(err <= 64 * n * EPS32 * err_scale)
    assert err.max() > 0  # float32 really ran (the comparison is not float64 against itself)


@pytest.mark.parametrize("causal", [False, True])
def test_elu_linear_uses_the_default_transposed_parts_exactly(causal):
    """elu+1 has no transposed map of its own: the default (the row parts, transposed) must agree with the oracle,
    at queries and keys down to −50 where elu(x) + 1 computed literally would round to 0."""
    n, dk, dv = 45, 3, 2
    q, k, v = _inputs(3, n, dk, dv, scale=20.0)
    q[:, 0] = -50.0
    want, err_scale = elu_oracle(q, k, v, causal=causal)
    with x64():
        got = np.asarray(elu_linear(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), causal=causal, chunk=8))
    err = np.abs(got - want).max(1)
    assert np.all(np.isfinite(got)) and np.all(err <= 64 * n * EPS64 * err_scale)


def test_sym2_rows_is_the_upper_triangle_of_each_column_outer_product():
    rng = np.random.default_rng(4)
    d, c = 5, 7
    x = rng.standard_normal((d, c))
    want = np.stack([x[a] * x[b] for a in range(d) for b in range(a, d)])  # rows (a, b), a ≤ b, row-major
    with x64():
        got = np.asarray(sym2_rows(jnp.asarray(x)))
    assert got.shape == (d * (d + 1) // 2, c)
    np.testing.assert_array_equal(got, want)  # products of the same two float64 numbers: bit-identical


def test_gradient_through_the_linear_form_matches_the_oracles_gradient():
    """jax.grad through the transposed layout (float64) equals the gradient of the direct weights, by central
    differences of the NumPy oracle along one random direction of (q, k, v)."""
    n, dk, dv = 29, 4, 3
    q, k, v = _inputs(5, n, dk, dv)
    rng = np.random.default_rng(6)
    w = rng.standard_normal((n, dv))
    dirs = [rng.standard_normal(x.shape) for x in (q, k, v)]
    for causal in (False, True):
        def loss(a, b, c):
            return jnp.sum(jnp.asarray(w) * squared_linear(a, b, c, shift=1.0, center=True, causal=causal, chunk=8))
        with x64():
            grads = jax.grad(loss, argnums=(0, 1, 2))(*(jnp.asarray(x) for x in (q, k, v)))
        slope = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(grads, dirs))
        h = 1e-5
        f = [np.sum(w * csq_oracle(*(x + sgn * h * d for x, d in zip((q, k, v), dirs)), shift=1.0, center=True,
                                   causal=causal)[0]) for sgn in (1, -1)]
        numeric = (f[0] - f[1]) / (2 * h)
        assert abs(slope - numeric) <= 1e-6 * max(1.0, abs(numeric))
