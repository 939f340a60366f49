"""The soft penalty's cost, and the two linear-time candidates, against oracles written here (NumPy on the
n×n centred scores): the moments and the sampled summand are exact for what they compute; the exact
penalty's gradient builds n×n arrays and the candidates' do not."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorem.kernels import CSQ
from theorem.numeric import penalty_cost as pc
from theorem.util.precision import x64


def centred_plus_shift(q, k, shift):
    """Oracle: x_ij = q_i·(k_j − k̄)/√d_k + c, in NumPy."""
    return q @ (k - k.mean(axis=0)).T / np.sqrt(q.shape[1]) + shift


@given(st.sampled_from([(2, 1), (7, 3), (24, 4)]), st.sampled_from([0.0, 0.5, 1.0, 2.0]), st.integers(0, 10**6),
       st.floats(-2, 2))
def test_moments_and_sampled_summand_are_exact(shape, shift, seed, offset):
    n, dk = shape
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((n, dk)), rng.standard_normal((n, dk)) + offset
    x = centred_plus_shift(q, k, shift)
    idx = pc.sampled_keys(n, 5, seed)
    kern = CSQ(shift=shift)
    with x64():
        mu, second = pc.query_moments(jnp.asarray(q), jnp.asarray(k), kern)
        sampled = float(pc.sampled_penalty(jnp.asarray(q), jnp.asarray(k), idx, kern))
        exact = float(pc.exact_penalty(jnp.asarray(q), jnp.asarray(k), kern))
    scale = 1 + np.max(x**2)
    assert np.max(np.abs(np.asarray(mu) - x.mean(axis=1))) <= 1e-11 * scale
    assert np.max(np.abs(np.asarray(second) - (x**2).mean(axis=1))) <= 1e-11 * scale
    xs = np.take_along_axis(x, idx, axis=1)
    assert sampled == pytest.approx(np.mean(np.maximum(-xs, 0) ** 2), abs=1e-10 * scale**2)
    assert exact == pytest.approx(np.mean(np.maximum(-x, 0) ** 2), abs=1e-12 * scale**2)


def test_moment_penalty_is_zero_exactly_when_every_query_clears_kappa_sigma():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((20, 3)), rng.standard_normal((20, 3))
    x = centred_plus_shift(q, k, 1.0)
    mu, sd = x.mean(axis=1), x.std(axis=1)
    with x64():
        for kappa in (0.1, 1.0, 3.0):
            got = float(pc.moment_penalty(jnp.asarray(q), jnp.asarray(k), CSQ(), kappa))
            assert got == pytest.approx(np.mean(np.maximum(kappa * sd - mu, 0) ** 2), abs=1e-9)


def test_the_exact_penalty_gradient_is_quadratic_and_the_candidates_are_linear():
    rows = {name: pc.penalty_profile(name, (128, 512), dk=3, m=8) for name in pc.PENALTIES}
    exact = rows["exact"]
    assert [128, 128] in exact[0]["square"] and [512, 512] in exact[1]["square"]
    assert exact[1]["forward_and_backward"] / exact[0]["forward_and_backward"] == pytest.approx(16, rel=0.01)
    for name in ("moments", "sampled"):
        assert rows[name][0]["square"] == rows[name][1]["square"] == []
        assert rows[name][1]["forward_and_backward"] / rows[name][0]["forward_and_backward"] == pytest.approx(4, rel=0.01)
    assert rows["sampled"][1]["largest_array"] == [512, 8, int(CSQ().feature_dim(3))]
