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

from theorem.kernels.features import EluFeatures, SquaredFeatures, sym2_rows
from theorem.kernels import CSQ
from theorem.numeric.csq_linear import (elu_linear, linear_attention, numerator_causal, numerator_noncausal,
                                        squared_linear)
from theorem.numeric.linear_jaxpr import array_shapes
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


# ---------------------------------------------------------------------------------------------------
# reverse mode: the custom_vjp passes of theorem.numeric.csq_linear_core against jax.grad of an oracle
# ---------------------------------------------------------------------------------------------------
# The oracle is the quadratic form written here in jnp float64: T_ij = (q_i·k_j + e_i)² (squared features with
# the offset), (q_i·k_j)² (without), φ(q_i)·φ(k_j) with φ = elu + 1 (x + 1 for x > 0, eˣ otherwise), masked
# when causal; the numerator-and-denominator [N, Z] = T [v, 1] ("without the normalizer") or o = N / Z.
# Bound on [N, Z]'s gradient: 64·n·ε times the same gradient of the oracle at |inputs| (every term of the
# gradient is then counted with its absolute value; elu+1 and its derivative are positive, so there only
# |v| and |w| are taken).


def _oracle_numerator(kind, causal):
    def f(q, k, e, v):
        if kind == "elu":
            phi = lambda x: jnp.where(x > 0, x + 1.0, jnp.exp(jnp.minimum(x, 0.0)))  # noqa: E731
            t = phi(q) @ phi(k).T
        else:
            a = q @ k.T + (e[:, None] if kind == "squared" else 0.0)
            t = a * a
        if causal:
            t = jnp.where(np.tril(np.ones(t.shape, bool)), t, 0.0)
        return t @ jnp.concatenate([v, jnp.ones_like(v[:, :1])], axis=1)
    return f


_FEATURES = {"squared": SquaredFeatures(lower_order=True), "poly2": SquaredFeatures(lower_order=False),
             "elu": EluFeatures()}


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", list(_FEATURES))
def test_numerator_gradient_is_jax_grad_of_the_quadratic_oracle(kind, causal):
    """Without the normalizer: ∂/∂(q, k, e, v) of Σ w ⊙ [N, Z] through the custom_vjp equals jax.grad of the oracle
    (n = 37: padded, several blocks / chunks of 8)."""
    n, dk, dv = 37, 3, 2
    rng = np.random.default_rng(11)
    q, k, v, w = (rng.standard_normal(s) for s in ((n, dk), (n, dk), (n, dv), (n, dv + 1)))
    e = 1.0 + 0.3 * rng.standard_normal(n)
    algo = numerator_causal if causal else numerator_noncausal
    oracle = _oracle_numerator(kind, causal)
    with x64():
        args = tuple(jnp.asarray(x) for x in (q, k, e, v))
        got = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.asarray(w) * algo(_FEATURES[kind], *a, 8)),
                               argnums=(0, 1, 2, 3)))(*args)
        want = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.asarray(w) * oracle(*a)), argnums=(0, 1, 2, 3)))(*args)
        absolute = args if kind != "elu" else args[:2] + (args[2], jnp.abs(args[3]))
        absolute = tuple(jnp.abs(x) for x in absolute) if kind != "elu" else absolute
        scale = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.abs(jnp.asarray(w)) * oracle(*a)),
                                 argnums=(0, 1, 2, 3)))(*absolute)
    for name, g, o, s in zip(("q", "k", "e", "v"), got, want, scale):
        g, o, s = np.asarray(g), np.asarray(o), np.abs(np.asarray(s))
        assert g.dtype == np.float64 and g.shape == o.shape
        assert np.all(np.abs(g - o) <= 64 * n * EPS64 * (s + 1e-300)), name
    if kind != "squared":
        assert np.all(np.asarray(got[2]) == 0.0)  # no offset: e does not enter


def _csq_oracle_jnp(shift, causal):
    """CSQ attention (centered scores + shift, squared, normalized) from the n×n weights, in jnp (differentiable)."""
    def f(q, k, v):
        n, dk = q.shape
        s = q @ k.T / math.sqrt(dk)
        seen = np.tril(np.ones((n, n), bool)) if causal else np.ones((n, n), bool)
        mean = jnp.where(seen, s, 0.0).sum(1, keepdims=True) / seen.sum(1, keepdims=True).astype(np.float64)
        t = jnp.where(seen, (s - mean + shift) ** 2, 0.0)
        return (t @ v) / t.sum(1, keepdims=True)
    return f


@pytest.mark.slow
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shift", [1.0, 0.2])
def test_normalized_gradient_is_jax_grad_of_the_csq_oracle(shift, causal):
    """With the normalizer: jax.grad of Σ w ⊙ o through attention's linear form (the custom_vjp, then N/Z and the
    centering by autodiff) equals jax.grad of the n×n CSQ oracle, float64, keys sharing an offset."""
    n, dk, dv = 45, 4, 3
    q, k, v = _inputs(12, n, dk, dv, key_offset=2.0)
    w = np.random.default_rng(13).standard_normal((n, dv))
    with x64():
        args = tuple(jnp.asarray(x) for x in (q, k, v))
        got = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.asarray(w) * squared_linear(
            *a, shift=shift, center=True, causal=causal, chunk=8)), argnums=(0, 1, 2)))(*args)
        want = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.asarray(w) * _csq_oracle_jnp(shift, causal)(*a)),
                                argnums=(0, 1, 2)))(*args)
    _, err_scale = csq_oracle(q, k, v, shift=shift, center=True, causal=causal)
    for name, g, o in zip("qkv", got, want):
        g, o = np.asarray(g), np.asarray(o)
        # the output's round-off bound (per row, tests above) carried through one derivative: × n × max|∂|
        bound = 64 * n * n * EPS64 * float(err_scale.max()) * (float(np.abs(o).max()) + 1.0)
        assert np.abs(g - o).max() <= bound, (name, float(np.abs(g - o).max()), bound)


def test_causal_backward_stores_no_per_chunk_state():
    """The reverse pass rebuilds the chunk states: no array in the gradient's program holds one state per chunk."""
    n, dk, dv, c = 640, 3, 2, 64
    x, v = jnp.zeros((n, dk)), jnp.zeros((n, dv))
    d = SquaredFeatures().part_dims(dk)[0]

    def g(q, k, v):
        return jax.grad(lambda *a: jnp.sum(squared_linear(*a, shift=1.0, center=True, causal=True, chunk=c)),
                        argnums=(0, 1, 2))(q, k, v)
    shapes = array_shapes(g, x, x, v)
    assert (dv + 1, d) in shapes or (d, dv + 1) in shapes  # the state is there
    assert not [s for s in shapes if len(s) >= 3 and s[0] == n // c and set(s[1:]) == {dv + 1, d}]


def test_shift_gradient_flows_through_the_offsets_cotangent():
    """A traced shift (fitted by gradient) enters only through the offsets e: d/dc through the custom_vjp equals
    jax.grad of the n×n CSQ oracle w.r.t. c, float64, causal and not."""
    n, dk, dv = 30, 3, 2
    q, k, v = _inputs(14, n, dk, dv)
    w = np.random.default_rng(15).standard_normal((n, dv))
    for causal in (False, True):
        with x64():
            qj, kj, vj, wj = (jnp.asarray(x) for x in (q, k, v, w))
            got = jax.jit(jax.grad(lambda c: jnp.sum(wj * linear_attention(CSQ(shift=c), qj, kj, vj, causal=causal,
                                                                           chunk=8))))(0.7)
            want = jax.jit(jax.grad(lambda c: jnp.sum(wj * _csq_oracle_jnp(c, causal)(qj, kj, vj))))(0.7)
        assert abs(float(got) - float(want)) <= 1e-12 * max(1.0, abs(float(want))), (causal, float(got), float(want))
