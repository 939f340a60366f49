"""The sketch's cotangents and the norm of their stack, against the stack formed explicitly."""

import numpy as np
import pytest

from theorem.numeric import sketch
from theorem.numeric.sketch import rank_one_cotangents, stacked_norm


def _omega(u, v):
    return np.stack([np.outer(a, b).ravel() for a, b in zip(u, v)])


@pytest.mark.parametrize("s,n,w", [(5, 3, 3), (40, 6, 2), (70, 4, 4)])
def test_stacked_norm_is_the_spectral_norm_of_the_stack(s, n, w):
    u, v = np.concatenate([b[0] for b in rank_one_cotangents(s, n, w, seed=2, batch=16)]), \
        np.concatenate([b[1] for b in rank_one_cotangents(s, n, w, seed=2, batch=16)])
    exact = np.linalg.norm(_omega(u, v), 2)
    assert stacked_norm(u, v) == pytest.approx(exact, rel=1e-12)
    assert stacked_norm(u, v) < np.linalg.norm(_omega(u, v), "fro")


def test_lanczos_route_bounds_the_norm_from_above(monkeypatch):
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((300, 7)), rng.standard_normal((300, 5))
    exact = np.linalg.norm(_omega(u, v), 2)
    monkeypatch.setattr(sketch, "_DENSE_LIMIT", 10)  # force the matrix-free route
    got = stacked_norm(u, v)
    assert exact <= got <= exact * (1 + 1e-6)


def test_cotangent_batches_reproduce_the_recorded_draws():
    # the recorded sketches drew (batch, n) and (batch, w) blocks from one generator and used the first b rows
    rng = np.random.default_rng(1)
    expect_u = [rng.standard_normal((4, 3))[:4] for _ in range(1)]
    got = list(rank_one_cotangents(4, 3, 2, seed=1, batch=4))
    assert np.array_equal(got[0][0], expect_u[0])


def test_a_recorded_sketch_is_rederived_to_what_the_new_tolerance_measures():
    # measure a small biased head by the sketch (new ‖Ω‖₂ reference), then rebuild the old Frobenius-scaled
    # tolerance it would have recorded and re-derive: same tolerance, same rank and status
    from theorem.numeric.pullback_bias import BiasedHead, measure
    from theorem.util.tokens import TokenSpec

    head = BiasedHead.draw(TokenSpec(9, 4, "gaussian", 2).build(), 2, seed=3, map="log-weights")
    new = measure(head, route="sketch")
    samples, p = new.samples, head.ambient_dim
    eps = np.finfo(np.float64).eps
    old_ref = head.jacobian_scale() * np.sqrt(head.n * head.n * samples)
    old_tolerance = max(old_ref, new.rank.singular_values[0]) * max(samples, p) * eps
    again, omega, scale = sketch.rederived_rank(new.rank.singular_values, (samples, p), old_tolerance, head.n, head.n)
    assert scale == pytest.approx(head.jacobian_scale(), rel=1e-12)
    assert again.tolerance == pytest.approx(new.rank.tolerance, rel=1e-9)
    assert (again.rank, again.status) == (new.rank.rank, new.rank.status)
    assert omega < np.sqrt(head.n * head.n * samples)  # ‖Ω‖₂ < ‖Ω‖_F
