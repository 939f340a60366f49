"""The exact-algebra probe of T8: Jacobian ranks beside their closed forms, the lost direction and the one-layer
factorization checked directly; the exact Jacobian over Q against a dual-number oracle over fractions and against JAX at the same
dyadic point; the closed forms' lookup."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.symbolic.function_dimension import STACK_PARAMETERS, dimension_formula, evaluate
from theorem.training.depth import _init_student, _student
from theorem.training.exact_dimension import dyadic_point, exact_dimension, exact_jacobian, flint_available
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


class _Dual:
    """Oracle arithmetic: ``v + ε dv`` over exact fractions, ε² = 0 (forward mode by the product and quotient rules)."""

    def __init__(self, v, dv=Fraction(0)):
        self.v, self.dv = Fraction(v), Fraction(dv)

    def __add__(self, o):
        o = o if isinstance(o, _Dual) else _Dual(o)
        return _Dual(self.v + o.v, self.dv + o.dv)

    __radd__ = __add__

    def __mul__(self, o):
        o = o if isinstance(o, _Dual) else _Dual(o)
        return _Dual(self.v * o.v, self.v * o.dv + self.dv * o.v)

    __rmul__ = __mul__

    def __truediv__(self, o):
        return _Dual(self.v / o.v, (self.dv * o.v - self.v * o.dv) / (o.v * o.v))


def _mm(a, b):
    return [[sum((a[i][k] * b[k][j] for k in range(len(b))), _Dual(0)) for j in range(len(b[0]))] for i in range(len(a))]


def _oracle_jacobian(point):
    """Oracle: every output's derivative along each parameter, by dual numbers over exact fractions, the model
    written out with loops (row-normalized ``s^p``; no ``1/√d``, which the normalization cancels)."""
    q = lambda a: Fraction(int(round(a * 2 ** point["bits"])), 2 ** point["bits"])  # noqa: E731
    order, pr = point["order"], point["params"]

    def attn(h, wq, wk, power):
        qq, kk = _mm(h, wq), _mm(h, wk)
        s = _mm(qq, [list(c) for c in zip(*kk)])
        t = [[_prod([v] * power) for v in row] for row in s]
        return [[v / sum(row, _Dual(0)) for v in row] for row in t]

    def model(ps, x):
        if point["family"] == "poly":
            return _mm(_mm(attn(x, ps["w_q"], ps["w_k"], point["p"]), x), ps["w_v"])
        h = _mm(x, ps["w_in"])
        for i in range(point["depth"]):
            u = _mm(_mm(attn(h, ps[f"w_q.{i}"], ps[f"w_k.{i}"], 2), h), ps[f"w_v.{i}"])
            h = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(h, u)]
        return _mm(h, ps["w_out"])

    cols = []
    for name in order:
        for a in range(pr[name].shape[0]):
            for b in range(pr[name].shape[1]):
                ps = {k: [[_Dual(q(v), int(k == name and (i, j) == (a, b))) for j, v in enumerate(row)]
                          for i, row in enumerate(pr[k])] for k in order}
                cols.append([v.dv for x in point["xs"] for row in model(ps, [[_Dual(q(v)) for v in r] for r in x])
                             for v in row])
    return [list(r) for r in zip(*cols)]


def _prod(vs):
    out = vs[0]
    for v in vs[1:]:
        out = out * v
    return out


@pytest.mark.skipif(not flint_available(), reason="python-flint (exact rational linear algebra) not installed")
@pytest.mark.parametrize("kw", [dict(family="poly", d=2, n=3, samples=1, p=4),
                                dict(family="stack", d=2, n=3, samples=1, width=2, depth=2)])
def test_the_exact_jacobian_is_the_dual_number_oracles_at_the_dyadic_point(kw):
    p = kw.pop("p", 2)
    point = {**dyadic_point(**kw, seed=5), "p": p}
    jq = exact_jacobian(point)
    oracle = _oracle_jacobian(point)
    assert (jq.nrows(), jq.ncols()) == (len(oracle), len(oracle[0]))
    assert all(Fraction(int(jq[i, j].p), int(jq[i, j].q)) == oracle[i][j]
               for i in range(len(oracle)) for j in range(len(oracle[0])))
    assert any(v != 0 for row in oracle for v in row)


@pytest.mark.skipif(not flint_available(), reason="python-flint (exact rational linear algebra) not installed")
def test_exact_and_float64_ranks_agree_with_the_closed_forms_at_one_point():
    d = 2
    r = exact_dimension("poly", d, 4, 3, p=4, seed=1)
    assert r["exact_rank"] == r["float_rank"] == 2 * d * d - 1 and r["jacobian_difference"] < 1e-12
    s = exact_dimension("stack", d, 4, 3, width=3, depth=1, seed=2)
    assert s["exact_rank"] == s["float_rank"] == 3 * d * d - 1 and s["jacobian_difference"] < 1e-12
    assert s["tolerance"] > 0 and s["gap"] > 1e6


def test_the_point_is_dyadic_and_exactly_representable():
    point = {**dyadic_point("stack", 2, 3, 1, width=2, depth=1, bits=2, seed=0), "p": 2}
    for a in [point["xs"], *point["params"].values()]:
        assert np.array_equal(a * 4, np.round(a * 4)) and np.all(a != 0)
    assert point["order"] == ["w_in", "w_q.0", "w_k.0", "w_v.0", "w_out"]


@pytest.mark.parametrize("kw", [dict(family="cubic", d=2, n=3, samples=1), dict(family="stack", d=2, n=3, samples=1),
                                dict(family="poly", d=0, n=3, samples=1)])
def test_bad_sizes_are_refused(kw):
    with pytest.raises(ValueError):
        dyadic_point(**kw)


def test_the_closed_forms_are_looked_up_and_none_beyond_one_layer():
    assert evaluate(dimension_formula("poly"), d=3) == 17
    assert evaluate(dimension_formula("stack", depth=1, width=3, dim=3), d=3) == 26
    assert dimension_formula("stack", depth=2, width=4, dim=2) is None
    assert dimension_formula("stack", depth=1, width=1, dim=2) is None
    assert evaluate(STACK_PARAMETERS, d=2, w=4, L=3) == 2 * 2 * 4 + 3 * 3 * 16
    with pytest.raises(ValueError, match="missing"):
        evaluate(STACK_PARAMETERS, d=2)
    with pytest.raises(ValueError, match="family"):
        dimension_formula("cubic")
