"""Biases as parameters: the pulled-back rank measured against its closed form (no model needed)."""


import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from theorem.kernels import get_kernel
from theorem.numeric.head import Head
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.numeric.pullback_bias import BIAS_MAPS, BiasedHead, augment, augmented_weights, measure
from theorem.numeric.pullback_bias_predicted import closed_form, predict
from theorem.strategies import TokenSpec, token_specs


def test_a_bias_is_a_weight_on_a_constant_coordinate():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(augment(x) @ augmented_weights(w, b), x @ w + b, rtol=1e-14, atol=1e-14)


@given(token_specs(max_n=7, max_d=4, scales=(1.0, 3.0, 1e-3)), st.integers(1, 2), st.data())
@example(TokenSpec(12, 5, "layernorm_affine", 0), 3, None)  # n > d, 1 ∈ col X: the real-model situation
def test_measured_equals_closed_form_with_biases(spec, k, data):
    x = spec.build()
    k = min(k, spec.d + 1)
    if data is None:
        columns, mp = None, "log-weights"
    else:
        columns = data.draw(st.one_of(st.none(), st.integers(1, k)))
        mp = data.draw(st.sampled_from(BIAS_MAPS))
    head = BiasedHead.draw(x, k, seed=spec.seed, map=mp, columns=columns)
    meas, pred = measure(head), predict(head)
    note(f"{head.describe()}: measured {meas.rank.summary()}, predicted {pred.rank} {pred.formula} {pred.violations}")
    if meas.rank.status == "ok" and pred.valid:
        assert meas.rank.rank == pred.rank


@pytest.mark.parametrize("n,d,k,mp", [(5, 8, 3, "scores"), (5, 8, 3, "weights"), (11, 4, 2, "scores"),
                                       (11, 4, 2, "weights")])
def test_biased_head_is_the_factorized_head_on_augmented_tokens(n, d, k, mp):
    x = TokenSpec(n, d, "gaussian", 3).build()
    head = BiasedHead.draw(x, k, seed=4, map=mp)
    # the factorized problem of theorem.numeric.pullback on X̃ with the head's own W̃_Q, W̃_K
    problem = PullbackProblem.from_head(Head(augment(x), head.wq_aug(), head.wk_aug()), get_kernel("softmax"), mp)
    ours, theirs = measure(head).rank, measure_rank(problem).rank
    assert ours.status == theirs.status == "ok"
    assert ours.rank == theirs.rank == predict(head).rank == predict_rank(problem).rank


def test_biases_add_nothing_when_ones_in_col_x():
    # LayerNorm with affine parameters puts 1 in col X: the biases add 2k ambient coordinates, no rank
    x = TokenSpec(14, 5, "layernorm_affine", 2).build()
    for mp in ("scores", "log-weights"):
        with_b = BiasedHead.draw(x, 3, seed=1, map=mp)
        without = BiasedHead.draw(x, 3, seed=1, map=mp, biases=False)
        assert with_b.ambient_dim == without.ambient_dim + 2 * 3
        m1, m2 = measure(with_b).rank, measure(without).rank
        assert m1.rank == m2.rank == predict(with_b).rank == predict(without).rank
        assert predict(with_b).invariants["r"] == predict(with_b).invariants["rank_X"] == 5


def test_biases_add_a_dimension_when_ones_not_in_col_x():
    x = TokenSpec(14, 5, "gaussian", 2).build()  # n > d: 1 ∉ col X, so r̃ = d + 1
    head = BiasedHead.draw(x, 2, seed=1, map="scores")
    pred = predict(head)
    assert pred.invariants["r"] == 6 and pred.invariants["rank_X"] == 5
    assert measure(head).rank.rank == pred.rank == 6 * 2 + 2 * 6 - 4


def test_key_bias_is_what_softmax_loses():
    # the weights map loses exactly the q₁ directions Q db_K 1ᵀ (generic: 1 ∉ col K)
    x = TokenSpec(9, 6, "gaussian", 5).build()
    s, w = BiasedHead.draw(x, 2, seed=0, map="scores"), BiasedHead.draw(x, 2, seed=0, map="log-weights")
    ps, pw = predict(s), predict(w)
    assert ps.rank - pw.rank == pw.invariants["q1"] == 2
    assert measure(s).rank.rank - measure(w).rank.rank == 2


def test_weights_and_log_weights_have_the_same_rank():
    x = TokenSpec(7, 4, "gaussian", 1).build()
    a, b = BiasedHead.draw(x, 2, seed=3, map="weights"), BiasedHead.draw(x, 2, seed=3, map="log-weights")
    assert measure(a).rank.rank == measure(b).rank.rank


def test_sketch_and_dense_routes_agree():
    x = TokenSpec(8, 4, "layernorm_affine", 1).build()
    head = BiasedHead.draw(x, 2, seed=0, map="log-weights")
    assert measure(head, route="dense").rank.rank == measure(head, route="sketch").rank.rank


@pytest.mark.parametrize("mp", BIAS_MAPS)
def test_gram_route_agrees_with_the_dense_jacobian(mp):
    """rank JᵀJ = rank J, with JᵀJ built from jvp/vjp pairs; its eigenvalues are the σᵢ²."""
    x = TokenSpec(12, 5, "layernorm_affine", 2).build()
    head = BiasedHead.draw(x, 3, seed=1, map=mp)
    dense, gram = measure(head, route="dense"), measure(head, route="gram")
    assert gram.rank.status == "ok" and gram.rank.rank == dense.rank.rank == predict(head).rank
    r = dense.rank.rank
    sv = np.sort(dense.rank.singular_values)[::-1][:r]
    lam = np.sort(gram.rank.singular_values)[::-1][:r]
    np.testing.assert_allclose(lam, sv**2, rtol=1e-8)


def test_closed_form_cases():
    assert closed_form("scores", 384, 32, 32, True, False) == 2 * 384 * 32 - 32 * 32
    assert closed_form("log-weights", 384, 32, 32, True, False) == 2 * 384 * 32 - 32 * 32 - 32
    assert closed_form("weights", 36, 32, 36, True, True) == 36 * 36 + 32 * 36 - 32 * 36 - 36
    assert closed_form("weights", 5, 2, 2, False, False) == 5 * 2 + 2 * 5 - 4


@pytest.mark.parametrize("kwargs,match", [
    ({"x": np.zeros((0, 3))}, "x:"),
    ({"x": np.full((3, 3), np.nan)}, "x:"),
    ({"w_q": np.zeros((4, 2))}, "w_q:"),
    ({"b_k": np.zeros(3)}, "b_k:"),
    ({"map": "output"}, "map:"),
    ({"columns": 5}, "columns:"),
])
def test_bad_input_names_the_argument(kwargs, match):
    rng = np.random.default_rng(0)
    base = dict(x=rng.standard_normal((4, 3)), w_q=rng.standard_normal((3, 2)), b_q=np.zeros(2),
                w_k=rng.standard_normal((3, 2)), b_k=np.zeros(2))
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        BiasedHead(**base)


def test_bad_route():
    head = BiasedHead.draw(np.eye(3), 1)
    with pytest.raises(ValueError, match="route"):
        measure(head, route="fast")


@pytest.mark.parametrize("n,d,k,columns", [(12, 5, 3, None), (12, 5, 3, 2), (9, 4, 2, 1)])
def test_fixed_biases_outside_col_x_scores_use_the_intersection_formula(n, d, k, columns):
    # 1 ∉ col X and the biases fixed: Q, K ⊄ col X, dim = r·k₁ + q₁·r − dim(U∩Q)·dim(U∩K)
    x = TokenSpec(n, d, "gaussian", 6).build()
    head = BiasedHead.draw(x, k, seed=2, map="scores", columns=columns, biases=False)
    pred = predict(head)
    assert "dim(U∩Q)" in pred.formula and pred.valid
    assert measure(head).rank.rank == pred.rank
    weights = predict(BiasedHead.draw(x, k, seed=2, map="log-weights", columns=columns, biases=False))
    assert weights.rank is None and weights.violations  # no softmax count claimed there
