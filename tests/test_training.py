"""Unit tests of ``theorem.training``: tasks, model, penalty, training loop, stability rule, probes.

Lemmas checked:

* MQAR: every query position holds a key of the sequence and its target is the value that
  followed that key; keys are distinct; bad sizes raise ``ValueError`` naming the argument;
* nearest-key: keys come in antipodal pairs and the answer is the key nearest the query;
* the model: parameter shapes do not depend on the kernel (matched initial points), causal
  outputs do not depend on later tokens, and the kernel switch equals the direct kernel — with
  finite gradients even where an unselected kernel is singular;
* the penalty is 0 exactly when every visible centered score is at or above the vertex;
* training: one shared program for several kernels gives the same runs as a program per kernel;
  a forced blow-up is classified as divergence;
* the stability rule can return each of its verdicts; the depth-pattern rule each pattern.
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorem.kernels import get_kernel
from theorem.claims.t6_stability import judge
from theorem.experiments.records import load_record
from theorem.claims.t8_depth import classify_pattern
from theorem.training.depth import polynomial_attention
from theorem.training.loop import fit
from theorem.training.function_class import csq_one_hot_certificate, row_weights
from theorem.training.model import ModelConfig, _switched, apply, init_params
from theorem.training.penalty import vertex_penalty
from theorem.training.stability import compare, run_stats, summarize
from theorem.training.sweep import _round, _unround, recompute_summaries, setting_by_name
from theorem.training.tasks import MQAR, NearestKey, get_task
from theorem.training.train import STANDARD_VARIANTS, TrainConfig, Variant, train_grid, train_variants

# --------------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------------


@given(st.integers(0, 10_000), st.sampled_from([(12, 2, 8), (16, 4, 16), (40, 8, 32)]))
def test_mqar_targets_are_the_values_that_followed_the_keys(seed, shape):
    n, p, v = shape
    task = MQAR(n, p, v)
    b = task.sample(jax.random.PRNGKey(seed), 4)
    tok, tgt, mask = (np.asarray(a) for a in (b.inputs, b.targets, b.info))
    assert tok.shape == tgt.shape == mask.shape == (4, n)
    for row in range(4):
        keys, values = tok[row, 0 : 2 * p : 2], tok[row, 1 : 2 * p : 2]
        assert len(set(keys.tolist())) == p and np.all((keys >= 1) & (keys < v // 2))
        assert np.all(values >= v // 2)
        assert mask[row].sum() == p and not mask[row, : 2 * p].any()
        lookup = dict(zip(keys.tolist(), values.tolist()))
        for pos in np.flatnonzero(mask[row]):
            assert tgt[row, pos] == lookup[tok[row, pos]]


@pytest.mark.parametrize("kwargs, name", [
    (dict(seq_len=8, num_pairs=4), "seq_len"),
    (dict(num_pairs=0), "num_pairs"),
    (dict(vocab_size=7), "vocab_size"),
    (dict(num_pairs=4, vocab_size=8), "vocab_size"),
])
def test_mqar_bad_sizes_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MQAR(**kwargs)


def test_get_task_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="unknown task"):
        get_task("copying")
    with pytest.raises(ValueError, match="bad parameters"):
        get_task("mqar", lenght=3)


def test_nearest_key_has_antipodal_pairs_and_the_nearest_key_is_the_answer():
    task = NearestKey(num_keys=6, key_dim=3, value_dim=2, noise=0.05)
    b = task.sample(jax.random.PRNGKey(3), 64)
    x, ans = np.asarray(b.inputs), np.asarray(b.info)
    keys, query = x[:, :6, :3], x[:, 6, :3]
    np.testing.assert_allclose(keys[:, :3], -keys[:, 3:], atol=0)
    assert np.all(np.argmax(np.einsum("bkd,bd->bk", keys, query), axis=1) == ans)
    np.testing.assert_allclose(np.asarray(b.targets), x[np.arange(64), ans, 3:])
    assert np.all(x[:, 6, 3:] == 0.0)
    with pytest.raises(ValueError, match="num_keys"):
        NearestKey(num_keys=5)


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------


def test_parameter_shapes_do_not_depend_on_the_kernel():
    task = MQAR(16, 2, 16)
    shapes = {name: jax.tree_util.tree_map(jnp.shape, init_params(ModelConfig(name), task, jax.random.PRNGKey(0)))
              for name in ("softmax", "poly2", "csq", "linear")}
    assert all(s == shapes["softmax"] for s in shapes.values())
    a = init_params(ModelConfig("softmax"), task, jax.random.PRNGKey(0))
    b = init_params(ModelConfig("csq"), task, jax.random.PRNGKey(0))
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


@pytest.mark.parametrize("kernel", ["softmax", "poly2", "csq", "linear"])
def test_causal_outputs_do_not_see_later_tokens(kernel):
    task = MQAR(16, 2, 16)
    cfg = ModelConfig(kernel, d_model=8, d_key=4, n_layers=2)
    params = init_params(cfg, task, jax.random.PRNGKey(1))
    x = task.sample(jax.random.PRNGKey(2), 2).inputs
    y = x.at[:, 10:].set((x[:, 10:] + 3) % 16)
    forward = jax.jit(lambda inp: apply(params, cfg, task, inp)[0])
    out_x, out_y = forward(x), forward(y)
    np.testing.assert_allclose(out_x[:, :10], out_y[:, :10], rtol=1e-12, atol=1e-12)


def test_kernel_switch_equals_each_kernel_and_keeps_gradients_finite():
    kernels = [get_kernel("softmax"), get_kernel("poly2"), get_kernel("csq"), get_kernel("linear")]
    rng = np.random.default_rng(0)
    q, k = jnp.asarray(rng.standard_normal((5, 3))), jnp.asarray(rng.standard_normal((5, 3)))
    for b, kern in enumerate(kernels):
        w, _ = _switched(kernels, jnp.asarray(b), q, k, causal=True)
        np.testing.assert_allclose(w, kern.weights(q, k, causal=True), rtol=1e-12, atol=1e-15)
    # q = 0 makes poly2 0/0; the softmax run must not see that NaN in its gradient
    zero = jnp.zeros((5, 3))
    g = jax.grad(lambda qq: jnp.sum(_switched(kernels, jnp.asarray(0), qq, k, causal=True)[0] ** 2))(zero)
    assert np.all(np.isfinite(np.asarray(g)))
    assert not np.all(np.isfinite(np.asarray(get_kernel("poly2").weights(zero, k))))


def test_model_config_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kernel"):
        ModelConfig("relu")
    with pytest.raises(ValueError, match="d_model"):
        ModelConfig(d_model=0)
    with pytest.raises(ValueError, match="shift"):
        ModelConfig("csq", (("shift", -1.0),))


# --------------------------------------------------------------------------------------------
# the one loop
# --------------------------------------------------------------------------------------------


def _numpy_adam(grad, x0, steps, lr, b1=0.9, b2=0.999, eps=1e-8, clip=None):
    """Adam written out (Kingma & Ba, with bias correction), the oracle of the loop."""
    x, m, v, path = np.array(x0, dtype=np.float64), 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = grad(x)
        path.append(x.copy())
        if clip is not None and np.linalg.norm(g) > clip:
            g = g * (clip / np.linalg.norm(g))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return x, np.array(path)


@given(st.integers(0, 10_000), st.sampled_from([None, 0.5]))
def test_the_loop_is_adam_on_a_quadratic(seed, clip):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, 3))
    h, c = a @ a.T + np.eye(3), rng.standard_normal(3)
    x0 = rng.standard_normal(3)
    loss = lambda x: 0.5 * x @ h @ x - c @ x  # noqa: E731
    want, path = _numpy_adam(lambda x: h @ x - c, x0, 25, 0.05, clip=clip)
    res = fit(lambda x: 0.5 * x @ jnp.asarray(h) @ x - jnp.asarray(c) @ x, jnp.asarray(x0), steps=25,
              learning_rate=0.05, clip=clip, track_best=True)
    np.testing.assert_allclose(np.asarray(res.params), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.losses), [loss(x) for x in path], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.grad_norms), [np.linalg.norm(h @ x - c) for x in path], rtol=1e-10)
    seen = [loss(x) for x in path] + [loss(want)]
    assert float(res.best_loss) == pytest.approx(min(seen), rel=1e-10, abs=1e-12)
    best_x = (list(path) + [want])[int(np.argmin(seen))]
    np.testing.assert_allclose(np.asarray(res.best_params), best_x, rtol=1e-10, atol=1e-12)
    assert not bool(res.diverged)


def test_the_loop_reads_one_data_slice_per_step_and_sgd_is_plain_gradient_descent():
    xs = np.arange(6.0).reshape(3, 2)  # the loss at step t pulls θ towards xs[t]
    res = fit(lambda p, x: jnp.sum((p - x) ** 2), jnp.zeros(2), steps=3, learning_rate=0.25, optimizer="sgd",
              data=jnp.asarray(xs))
    theta = np.zeros(2)
    for x in xs:
        theta = theta - 0.25 * 2 * (theta - x)
    np.testing.assert_allclose(np.asarray(res.params), theta, rtol=1e-14)


def test_a_nonfinite_step_is_counted_and_skipped_on_request():
    # log(θ) has no real value below 0: a big SGD step from θ = 1 lands at θ = -1
    loss = lambda p: jnp.log(p) ** 2 + p  # noqa: E731
    plain = fit(loss, jnp.asarray(1.0), steps=3, learning_rate=2.0, optimizer="sgd")
    assert bool(plain.diverged) and not np.isfinite(float(plain.params))
    kept = fit(loss, jnp.asarray(1.0), steps=3, learning_rate=2.0, optimizer="sgd", skip_nonfinite=True)
    assert bool(kept.diverged) and float(kept.params) == pytest.approx(-1.0)  # θ = −1 is stuck, never updated
    with pytest.raises(ValueError, match="optimizer"):
        fit(loss, jnp.asarray(1.0), steps=3, learning_rate=1.0, optimizer="lion")


# --------------------------------------------------------------------------------------------
# penalty
# --------------------------------------------------------------------------------------------


@given(st.integers(2, 6), st.floats(0.1, 3.0), st.integers(0, 1000), st.booleans())
def test_penalty_is_the_mean_squared_hinge_below_the_vertex(n, c, seed, causal):
    kern = get_kernel("csq", shift=c)
    s = jnp.asarray(np.random.default_rng(seed).standard_normal((n, n)) * 2)
    vis = np.tril(np.ones((n, n))) if causal else np.ones((n, n))
    t = np.asarray(kern.shifted_scores(s, causal))
    expected = np.sum(vis * np.maximum(-t, 0.0) ** 2) / vis.sum()
    assert float(vertex_penalty(kern, s, causal)) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert (float(vertex_penalty(kern, s, causal)) == 0.0) == bool(np.all(t[vis > 0] >= 0))
    assert float(vertex_penalty(get_kernel("poly2"), s, causal)) == 0.0


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------

TINY = dict(d_model=8, d_key=4)
TINY_TRAIN = TrainConfig(steps=4, batch_size=4, eval_batch=8, fast_compile=True)


def test_the_shared_program_equals_one_program_per_kernel():
    task = MQAR(12, 2, 8)
    variants = (STANDARD_VARIANTS[0], STANDARD_VARIANTS[2])  # softmax, poly2
    res = train_variants(task, ModelConfig(**TINY), TINY_TRAIN, variants, [1e-3], [0, 1])
    alone = train_grid(task, ModelConfig("poly2", **TINY), TINY_TRAIN, [1e-3], [0, 1])
    np.testing.assert_allclose(res["poly2"].loss, alone.loss, rtol=1e-9)
    np.testing.assert_allclose(res["poly2"].eval_acc, alone.eval_acc, rtol=1e-9)
    assert np.all(np.isfinite(res["softmax"].loss))


def test_a_huge_learning_rate_is_classified_as_divergence():
    task = MQAR(12, 2, 8)
    cfg = TrainConfig(steps=30, batch_size=8, eval_batch=16, optimizer="sgd", fast_compile=True)
    res = train_grid(task, ModelConfig("softmax", norm=False, **TINY), cfg, [1e-3, 1e4], [0])
    stats = run_stats(res.loss, res.grad_norm, res.eval_acc)
    summ = summarize(stats, res.lrs, task.chance_accuracy)
    assert summ["divergence_by_lr"] == [0.0, 1.0]


def test_train_grid_rejects_bad_grids():
    task = MQAR(12, 2, 8)
    with pytest.raises(ValueError, match="lrs"):
        train_grid(task, ModelConfig(**TINY), TINY_TRAIN, [0.0], [0])
    with pytest.raises(ValueError, match="seeds"):
        train_grid(task, ModelConfig(**TINY), TINY_TRAIN, [1e-3], [-1])
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lion")
    with pytest.raises(ValueError, match="penalty"):
        Variant("x", "csq", penalty=-1.0)


# --------------------------------------------------------------------------------------------
# stability statistics and the rule
# --------------------------------------------------------------------------------------------


def _summary(div, width_points, lrs=(1e-3, 1e-2, 1e-1, 1.0), seeds=5, chance=0.1):
    """A synthetic kernel: ``div`` diverged runs at the top learning rates, ``width_points`` trainable."""
    s, l = seeds, len(lrs)
    loss = np.ones((s, l, 10))
    loss[..., -2:] = 0.1
    acc = np.zeros((s, l))
    acc[:, :width_points] = 0.9
    loss[:, l - div :, -2:] = 5.0  # blow-up above 1.5 × start
    stats = run_stats(loss, np.ones((s, l, 10)), acc)
    return summarize(stats, lrs, chance)


def test_summary_counts_divergence_and_trainable_width():
    s = _summary(div=1, width_points=2)
    assert s["divergence_rate"] == pytest.approx(0.25)
    assert s["trainable_width_decades"] == pytest.approx(2.0)
    assert s["trainable_lr_range"] == [1e-3, 1e-2]


def test_comparison_relations():
    assert compare(_summary(0, 3), _summary(2, 1))["relation"] == "more"
    assert compare(_summary(2, 1), _summary(0, 3))["relation"] == "less"
    assert compare(_summary(0, 2), _summary(0, 2))["relation"] == "same"
    assert compare(_summary(2, 3), _summary(0, 1))["relation"] == "mixed"


def test_summary_counts_runs_by_learning_rate():
    s = _summary(div=1, width_points=2)
    assert s["diverged_runs"] == round(s["divergence_rate"] * s["runs"]) == sum(s["diverged_by_lr_count"])
    assert s["diverged_by_lr_count"] == [0] * (len(s["lrs"]) - 1) + [s["seeds"]]
    assert s["train_count_by_lr"][:2] == [s["seeds"]] * 2


def test_equal_kernels_are_open_not_fails():
    # the former rule called CSQ as stable as poly2 "fails"; with intervals an equal count separates nothing
    same = _summary(0, 3)

    def setting(name, csq, poly, soft):
        return {"name": name, "summaries": {"csq+penalty": csq, "poly2": poly, "softmax": soft, "csq": csq}}

    out = judge([setting("a", same, same, same)])
    assert out["verdict"] == "open" and "cannot detect" in out["because"]
    assert judge([{"name": "x", "summaries": {"softmax": same}}])["verdict"] == "open"


def test_sweep_json_round_trip_and_bad_input():
    a = np.array([[1.234567891, np.inf], [np.nan, -np.inf]])
    back = _unround(json.loads(json.dumps(_round(a))))
    assert back[0, 0] == pytest.approx(1.2346) and np.isposinf(back[0, 1]) and np.isnan(back[1, 0])
    with pytest.raises(ValueError, match="not a sweep"):
        recompute_summaries({})
    with pytest.raises(ValueError, match="unknown 'no-such-setting'"):
        setting_by_name("no-such-setting")


def test_the_recorded_sweep_summaries_follow_from_its_per_run_numbers():
    """The record's stored summaries are what today's summarize gives on its stored per-run numbers."""
    rec = load_record("stability")
    assert rec is not None and rec["result"]["settings"]
    stored = {(s["name"], k): v["summary"]["divergence_rate"] for s in rec["result"]["settings"]
              for k, v in s["kernels"].items()}
    again = recompute_summaries(rec["result"])
    for s in again["settings"]:
        for label, k in s["kernels"].items():
            runs = k["runs"]
            init, final = _unround(runs["initial_loss"]), _unround(runs["final_loss"])
            nonfinite = np.asarray(runs["nonfinite"], dtype=bool)
            diverged = nonfinite | ~(final <= 1.5 * init)  # the reading's divergence, by hand
            assert k["summary"]["divergence_rate"] == pytest.approx(diverged.mean())
            assert stored[(s["name"], label)] == pytest.approx(diverged.mean())


# --------------------------------------------------------------------------------------------
# probes
# --------------------------------------------------------------------------------------------


def test_degree_two_polynomial_attention_is_poly2():
    rng = np.random.default_rng(0)
    x, wq, wk, wv = (jnp.asarray(rng.standard_normal(s)) for s in ((5, 3), (3, 3), (3, 3), (3, 3)))
    s = (x @ wq) @ (x @ wk).T / math.sqrt(3)
    np.testing.assert_allclose(polynomial_attention(x, wq, wk, wv, 2),
                               get_kernel("poly2").weights_from_scores(s) @ x @ wv, rtol=1e-12)


def _table(res):
    return {"degrees": [2, 4, 8], "depths": [1, 2, 3], "widths": [6], "d": 3,
            "residual": np.asarray(res, dtype=float)[:, :, None].tolist()}


def test_depth_pattern_rule_distinguishes_its_patterns():
    assert classify_pattern(_table([[0, 0, 0], [0.1, 1e-4, 1e-4], [0.1, 0.1, 1e-4]]))["pattern"] == "consistent-with-6.2"
    assert classify_pattern(_table([[0, 0, 0], [0.1, 0.09, 0.08], [0.2, 0.2, 0.19]]))["pattern"] == "depth-does-not-help"
    assert classify_pattern(_table([[0, 0, 0], [0.1, 0.02, 0.02], [0.2, 0.05, 0.05]]))["pattern"] == "depth-helps-but-no-fit"
    assert classify_pattern(_table([[0.2, 0, 0], [0.1, 0.02, 0.02], [0.2, 0.05, 0.05]]))["pattern"] == "optimizer-unreliable"


def test_csq_certificate_is_an_exact_one_hot_row():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3))
    m = csq_one_hot_certificate(x, 0, 2, 1.0)
    row = np.asarray(row_weights(get_kernel("csq"), jnp.asarray(x), jnp.asarray(m), 0))
    np.testing.assert_allclose(row, np.eye(4)[2], atol=1e-12)
