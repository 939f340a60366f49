"""The measurement machinery: dense Jacobian vs matrix-free sketch, scale bound, closed-form pieces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, note, reject
from hypothesis import strategies as st

from theorem.bench.compiles import count_compiles
from theorem.claims._pullback import measure_row
from theorem.kernels import get_kernel
from theorem.numeric.predicted import Subspace, predict_rank, token_invariants
from theorem.numeric.pullback import (
    PullbackProblem,
    UndefinedMapError,
    dense_jacobian,
    make_problem,
    measure_rank,
    sketched_gradients,
)
from theorem.strategies import TokenSpec, token_specs


@given(token_specs(max_n=7, max_d=4, scales=(1.0,)), st.sampled_from(["softmax", "poly2", "csq"]),
       st.sampled_from(["scores", "weights", "output"]))
def test_sketch_rank_equals_dense_rank(spec, kernel, mp):
    p = make_problem(spec.build(), kernel, mp)
    try:
        dense = measure_rank(p, route="dense").rank
    except UndefinedMapError:
        reject()  # undefined map (0/0): nothing to compare
    sketch = measure_rank(p, route="sketch").rank
    note(f"dense {dense.summary()} sketch {sketch.summary()}")
    assume(dense.status == "ok" and sketch.status == "ok")
    assert dense.rank == sketch.rank


def test_sketch_rows_are_pulled_back_cotangents():
    # each sketched row is Jᵀ vec(u vᵀ): check one against the dense Jacobian
    p = make_problem(TokenSpec(5, 3, "gaussian", 0).build(), "softmax", "weights")
    rows = sketched_gradients(p, 3, seed=7, batch=3)
    rng = np.random.default_rng(7)
    u, v = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    jac = dense_jacobian(p)
    expect = np.stack([jac.T @ np.outer(u[i], v[i]).ravel() for i in range(3)])
    np.testing.assert_allclose(rows, expect, rtol=1e-10, atol=1e-12)


@given(token_specs(max_n=6, max_d=4), st.sampled_from(["softmax", "poly2", "csq"]),
       st.sampled_from(["scores", "weights", "output"]), st.booleans())
def test_jacobian_scale_bounds_the_spectral_norm(spec, kernel, mp, factorized):
    p = make_problem(spec.build(), kernel, mp, dk=spec.d if factorized else None)
    jac = dense_jacobian(p)
    assume(np.all(np.isfinite(jac)))  # an undefined map (0/0) has no Jacobian to bound
    assert np.linalg.norm(jac, 2) <= p.jacobian_scale() * (1 + 1e-9)


def test_invariants_of_layernorm_affine_tokens():
    inv = token_invariants(TokenSpec(12, 4, "layernorm_affine", 8).build())
    assert (inv["r"], inv["e"], inv["rho"]) == (4, 1, 3)
    inv = token_invariants(TokenSpec(12, 4, "layernorm", 8).build())
    assert (inv["r"], inv["e"], inv["rho"]) == (3, 0, 3)


def test_subspace_membership_is_three_valued():
    sp = Subspace.column_space(np.eye(4)[:, :2])
    assert sp.contains(np.array([1.0, 2.0, 0.0, 0.0])) is True
    assert sp.contains(np.array([0.0, 0.0, 1.0, 0.0])) is False
    assert sp.contains(np.array([1.0, 0.0, 1e-7, 0.0])) is None


def test_partly_saturated_softmax_is_flagged_not_predicted():
    x = TokenSpec(8, 3, "gaussian", 0, 10.0).build()
    pred = predict_rank(make_problem(x, "softmax"))
    assert not pred.valid and any("partly saturated" in v for v in pred.violations)


def test_one_hot_rows_move_nothing():
    p = make_problem(TokenSpec(8, 3, "gaussian", 0, 60.0).build(), "softmax")
    pred = predict_rank(p)
    assert pred.valid and pred.invariants["saturated_rows"] == 8 and pred.rank == 0
    assert measure_rank(p).rank.rank == 0


@pytest.mark.parametrize("bad,msg", [
    (np.zeros((0, 3)), "n ≥ 1"), (np.zeros(3), "2-D"), (np.full((2, 2), np.nan), "NaN"),
])
def test_problem_rejects_bad_tokens(bad, msg):
    with pytest.raises(ValueError, match=msg):
        PullbackProblem(bad, get_kernel("softmax"))


def test_linear_kernel_needs_factorized_form():
    with pytest.raises(ValueError, match="--dk"):
        PullbackProblem(np.ones((3, 2)), get_kernel("linear"))


# --- compilations: the measured path compiles a few functions per shape, and nothing on a repeated one ----


def test_count_compiles_counts_a_fresh_jit_once():
    f = jax.jit(lambda a: a * 3.0 + 1.0)
    with count_compiles() as first:
        f(np.ones(17))
    with count_compiles() as again:
        f(np.ones(17))
    assert (first.compiles, again.compiles) == (1, 0)


@pytest.mark.parametrize("kernel", ["softmax", "csq"])
def test_measure_row_compiles_at_most_three_functions_per_new_shape_and_none_again(kernel):
    measure_row(TokenSpec(6, 3, "gaussian", 0), kernel)  # warm: any one-off compilations of the kernel
    with count_compiles() as new_shape:
        first = measure_row(TokenSpec(19, 3, "gaussian", 1), kernel)
    with count_compiles() as same_shape:  # a new problem, a new (equal) kernel object, other tokens
        second = measure_row(TokenSpec(19, 3, "gaussian", 2), kernel)
    assert new_shape.compiles <= 3  # value and scores, kernel terms, the Jacobian
    assert same_shape.compiles == 0
    assert first["rank_status"] == second["rank_status"] == "ok"


def test_kernel_terms_equal_the_eager_kernel_bit_for_bit():
    # oracle: the scores and kernel terms computed op by op, eagerly, from the head's own parameters
    x = TokenSpec(7, 3, "layernorm", 10).build()
    for name in ("softmax", "poly2", "csq"):
        problem = PullbackProblem(x, get_kernel(name), "weights")
        m = jnp.asarray(problem.fixed_parameters()["M"])
        s = np.asarray(jnp.asarray(x) @ m @ jnp.asarray(x).T / np.sqrt(3.0))
        got_s, got_t, got_n = problem.kernel_terms()
        assert np.array_equal(got_s, s)
        assert np.array_equal(got_t, np.asarray(problem.kernel.unnormalized(jnp.asarray(s))))
        assert np.array_equal(got_n, np.asarray(problem.kernel.null_direction(jnp.asarray(s))))


def test_measure_row_of_a_spec_is_shared_and_each_caller_gets_its_own_copy():
    spec = TokenSpec(9, 3, "gaussian", 4)
    first = measure_row(spec, "poly2", spectrum=True)
    first["invariants"]["r"] = -1  # a caller mutating its row must not reach the next caller
    with count_compiles() as again:
        second = measure_row(spec, "poly2")
    fresh = measure_row(spec.build(), "poly2", spectrum=True)  # an array: measured afresh, not from the cache
    assert again.compiles == 0
    assert "singular_values" not in second and second["invariants"]["r"] == 3
    assert {k: v for k, v in fresh.items() if k != "tokens"} == {
        k: v for k, v in measure_row(spec, "poly2", spectrum=True).items() if k != "tokens"}
