"""float32 stability of the linear form at n = 32768, for the inputs a LayerNorm'd model produces.

The reference is float64 and quadratic, computed row by row (each sampled row needs only its own
n scores), so it is independent of the rewrite.  The yardstick is float32 itself: the float32
quadratic form of the same rows.  The linear form must be no worse than twice that (it is better:
its sums run over blocks), and the reference point μ (the mean of the keys) is what keeps it so
when the keys share a large mean: without it the expansion (a + e)² = a² + 2ae + e² cancels.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.attention import attention
from theorem.numeric import csq_linear as cl
from theorem.kernels.features import SquaredFeatures

N = 32768
EPS32 = float(np.finfo(np.float32).eps)


def layernorm_qkv(n, d_model, dk, dv, seed, key_bias):
    """q, k, v = LN(x) W with x Gaussian, W ~ N(0, 1/d_model), plus a shared key bias of size ``key_bias``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_model))
    x = x - x.mean(1, keepdims=True)
    x = x / np.sqrt((x**2).mean(1, keepdims=True) + 1e-5)
    wq, wk = rng.standard_normal((2, d_model, dk)) / math.sqrt(d_model)
    wv = rng.standard_normal((d_model, dv)) / math.sqrt(d_model)
    bias = key_bias * rng.standard_normal(dk) / math.sqrt(dk)
    return x @ wq, x @ wk + bias, x @ wv


def reference_rows(q, k, v, rows, causal, shift=1.0):
    """Quadratic CSQ outputs of the given rows, in the dtype of the inputs."""
    dk = q.shape[1]
    out = []
    for i in rows:
        m = i + 1 if causal else k.shape[0]
        s = k[:m] @ q[i] / np.sqrt(np.asarray(dk, q.dtype))
        t = (s - s.mean() + q.dtype.type(shift)) ** 2
        out.append(t @ v[:m] / t.sum())
    return np.array(out)


def _rows():
    return np.unique(np.concatenate([np.arange(4), np.random.default_rng(0).integers(0, N, 60), [N - 1]]))


def _errors(causal, key_bias, fn=None):
    q, k, v = layernorm_qkv(N, 64, 16, 16, seed=11, key_bias=key_bias)
    rows = _rows()
    ref = reference_rows(q, k, v, rows, causal)
    f32 = [np.asarray(a, np.float32) for a in (q, k, v)]
    if fn is None:
        out = np.asarray(attention(*f32, kernel="csq", causal=causal, algorithm="linear"))[rows]
    else:
        out = np.asarray(jax.jit(fn)(*f32))[rows]
    quad32 = reference_rows(*f32, rows, causal).astype(np.float64)
    return np.abs(out - ref).max(), np.abs(quad32 - ref).max(), np.abs(v).max()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("key_bias", [0.0, 4.0, 30.0])
def test_float32_linear_form_is_as_accurate_as_float32_itself(causal, key_bias):
    err, err32, vmax = _errors(causal, key_bias)
    assert np.isfinite(err)
    assert err <= max(2 * err32, 16 * EPS32 * vmax), (err, err32)


def _without_reference_point(q, k, v):
    """The same rewrite with μ = 0: a_ij = s q·k_j, e_i = c − s q·k̄ (non-causal)."""
    qs = q / math.sqrt(q.shape[-1])
    e = 1.0 - jnp.sum(qs * jnp.mean(k, axis=0, keepdims=True), axis=-1)
    return cl.linear_noncausal(SquaredFeatures(), qs, k, e, v)


def test_the_reference_point_is_what_keeps_shared_key_means_harmless():
    err, err32, _ = _errors(False, 30.0)
    bad, _, _ = _errors(False, 30.0, _without_reference_point)
    # (a + e)² expanded around μ = 0 cancels: ≈ 50× worse here (4.7e-6 vs 9.5e-8), and 8× worse than
    # float32's own quadratic form; with μ the linear form beats that yardstick
    assert bad > 20 * err
    assert bad > 4 * err32 > 4 * err
