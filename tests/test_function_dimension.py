"""The exact-algebra probe of T8: Jacobian ranks beside their closed forms, the lost direction and the one-layer
factorization checked directly, and the description rule driven to each of its conclusions."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.claims import t8_depth as t8
from theorem.claims.ledger import Evidence
from theorem.training.depth import _init_student, _student
from theorem.training.function_dimension import polynomial_dimension, stack_dimension


@pytest.mark.parametrize("d,n,p", [(1, 4, 2), (2, 4, 4), (2, 5, 2)])
def test_polynomial_attention_has_dimension_two_d_squared_minus_one(d, n, p):
    r = polynomial_dimension(d, n, p, samples=20, seed=3)
    assert r["status"] == "ok" and r["rank"] == 2 * d * d - 1 == r["closed_form"]


def test_the_lost_direction_is_the_scale_of_w_q():
    # A_p ∝ s^p is unchanged by W_Q → c W_Q: the outputs' derivative along W_Q itself is 0
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((5, 2)))
    wq, wk, wv = (jnp.asarray(rng.standard_normal((2, 2))) for _ in range(3))

    def out(c):
        s = (x @ (c * wq)) @ (x @ wk).T / math.sqrt(2)
        t = s**4
        return (t / t.sum(axis=1, keepdims=True)) @ x @ wv

    assert float(jnp.max(jnp.abs(jax.jacfwd(out)(1.0)))) < 1e-12


def test_one_layer_factorizes_through_three_d_by_d_matrices():
    d, w = 2, 5
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.float64),
                                    _init_student(jax.random.PRNGKey(1), d, w, 1))
    x = jnp.asarray(np.random.default_rng(2).standard_normal((4, d)))
    layer, w_in, w_out = params["layers"][0], params["w_in"], params["w_out"]
    m = w_in @ layer["w_q"] @ layer["w_k"].T @ w_in.T / math.sqrt(w)
    s2 = (x @ m @ x.T) ** 2
    oracle = x @ w_in @ w_out + (s2 / s2.sum(axis=1, keepdims=True)) @ x @ (w_in @ layer["w_v"] @ w_out)
    np.testing.assert_allclose(np.asarray(_student(params, x)), np.asarray(oracle), rtol=1e-10, atol=1e-12)
    r = stack_dimension(d, 4, w, 1, samples=20)
    assert r["status"] == "ok" and r["rank"] == 3 * d * d - 1 == r["closed_form"]


def _ev(poly_ranks, stack_ranks, saturated=True, closed=None):
    rows = [{"family": f"degree-{p} attention", "p": p, "rank": r, "closed_form": r if closed is None else closed,
             "ok": True, "saturated": saturated} for p, r in zip((2, 4), poly_ranks)]
    rows += [{"family": f"{L}-layer", "depth": L, "rank": r, "closed_form": None, "ok": True, "saturated": saturated}
             for L, r in zip((1, 2), stack_ranks)]
    return Evidence("numeric", "synthetic", None, {"rows": rows}, key="algebra.dimension")


@pytest.mark.parametrize("ev,words", [
    (_ev((7, 7), (11, 34)), "does not separate depths"),
    (_ev((7, 7), (5, 34)), "cannot contain it"),
    (_ev((7, 7), (11, 34), saturated=False), "not conclusive"),
    (_ev((7, 7), (11, 34), closed=8), "not conclusive"),
])
def test_the_algebra_description_follows_the_counts(ev, words):
    assert words in t8.describe_algebra(ev)
