"""The built-in Hedgehog-style exp-feature kernel (theorem.kernels.hedgehog): its weights against a NumPy oracle
written here, its log-weights where the weights underflow, its feature parameters (bind), the kernel check
battery, and the model's feature parameters: every other kernel's parameters and forward pass unchanged
(an oracle forward pass written here), W carried per layer and reached by the gradient."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.kernels import HedgehogExp, get_kernel
from theorem.numeric.kernel_checks import check_kernel
from theorem.training.model import ModelConfig, apply, init_params, layer_kernel, queries_keys
from theorem.training.tasks import MQAR
from theorem.util.precision import x64


def oracle_weights(q, k, w, causal):
    """A_ij ∝ φ(q_i)·φ(k_j), φ(x) = [e^{xW}/Σe^{xW}, e^{−xW}/Σe^{−xW}], masked j > i when causal."""
    def phi(x):
        z = x @ w
        up, down = np.exp(z - z.max(-1, keepdims=True)), np.exp(-z - (-z).max(-1, keepdims=True))
        return np.concatenate([up / up.sum(-1, keepdims=True), down / down.sum(-1, keepdims=True)], -1)
    t = phi(q) @ phi(k).T
    if causal:
        t = np.tril(t)
    return t / t.sum(-1, keepdims=True)


@pytest.mark.parametrize("causal", [False, True])
def test_weights_match_the_oracle_with_and_without_a_feature_matrix(causal):
    rng = np.random.default_rng(0)
    q, k, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.normal(size=(3, 5))
    with x64():
        got_i = np.asarray(get_kernel("hedgehog").weights(q, k, causal=causal))
        got_w = np.asarray(HedgehogExp().bind({"w": jnp.asarray(w)}).weights(q, k, causal=causal))
    np.testing.assert_allclose(got_i, oracle_weights(q, k, np.eye(3), causal), rtol=1e-12)
    np.testing.assert_allclose(got_w, oracle_weights(q, k, w, causal), rtol=1e-12)
    assert HedgehogExp().bind({"w": jnp.asarray(w)}).feature_dim(3) == 10 and HedgehogExp().feature_dim(3) == 6


def test_log_weights_are_finite_where_the_features_underflow():
    # scale 800: e^{−1600} underflows in float64, so some feature entries are exactly 0
    q = np.array([[800.0, -800.0], [1.0, 0.0]])
    k = np.array([[-800.0, 800.0], [800.0, -800.0], [0.0, 1.0]])
    with x64():
        logw = np.asarray(get_kernel("hedgehog").log_weights(q, k))
        w = np.asarray(get_kernel("hedgehog").weights(q, k))
    assert np.all(np.isfinite(logw))
    np.testing.assert_allclose(np.exp(logw), w, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.exp(logw).sum(-1), 1.0, rtol=1e-12)


def test_kernel_check_battery_passes_its_linear_form():
    r = check_kernel("hedgehog", ("linear_time", "linear_equals_quadratic"))
    assert r["linear_time"].status == "ok" and r["linear_time"].numbers["feature_dim"] > 0
    assert r["linear_equals_quadratic"].status == "ok" and r["linear_equals_quadratic"].holds


@pytest.mark.slow
def test_kernel_check_battery_runs_every_check():
    r = check_kernel("hedgehog")
    assert all(c.status in ("ok", "not-available") for c in r.values()), {n: c.status for n, c in r.items()}
    assert r["pullback_dimension"].status == "ok" and r["monotonicity"].status == "ok"


# --- the model's feature parameters ---------------------------------------------------------------
TASK = MQAR(seq_len=12, num_pairs=2, vocab_size=8)


def oracle_forward(params, x, weights_fn):
    """One layer of the model written out: E[x_t] + E'[x_{t−1}], RMS norm, h + A h W_V W_O, RMS norm, W_out."""
    prev = np.concatenate([[0], x[:-1]])
    h = params["embed"][x] + params["embed_prev"][prev]
    rms = lambda z: z / np.sqrt(np.mean(z**2, -1, keepdims=True) + 1e-12)  # noqa: E731
    lay = params["layers"][0]
    inp = rms(h)
    a = weights_fn(inp @ lay["w_q"], inp @ lay["w_k"], lay)
    h = h + a @ (inp @ lay["w_v"]) @ lay["w_o"]
    return rms(h) @ params["w_out"]


def softmax_oracle(q, k, lay):
    s = q @ k.T / math.sqrt(q.shape[-1])
    s = np.where(np.tril(np.ones_like(s, dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_other_kernels_get_no_feature_parameters_and_the_same_initial_point():
    key = jax.random.PRNGKey(3)
    with x64():
        soft = init_params(ModelConfig(kernel="softmax"), TASK, key)
        hog = init_params(ModelConfig(kernel="hedgehog"), TASK, key)
    assert set(soft["layers"][0]) == {"w_q", "w_k", "w_v", "w_o"}
    assert set(hog["layers"][0]) == {"w_q", "w_k", "w_v", "w_o", "kernel"}
    np.testing.assert_array_equal(np.asarray(hog["layers"][0]["kernel"]["w"]), np.eye(16))
    shared = lambda p: [np.asarray(v) for v in jax.tree_util.tree_leaves(  # noqa: E731
        {**p, "layers": [{n: a for n, a in lay.items() if n != "kernel"} for lay in p["layers"]]})]
    for a, b in zip(shared(soft), shared(hog)):
        np.testing.assert_array_equal(a, b)  # bit-identical


@pytest.mark.parametrize("kernel", ["softmax", "hedgehog"])
def test_forward_pass_matches_the_oracle(kernel):
    cfg = ModelConfig(kernel=kernel)
    with x64():
        params = init_params(cfg, TASK, jax.random.PRNGKey(1))
        if kernel == "hedgehog":  # a non-identity W, so the test sees W used
            params["layers"][0]["kernel"] = {"w": jax.random.normal(jax.random.PRNGKey(2), (16, 16)) / 4}
        batch = TASK.sample(jax.random.PRNGKey(0), 2)
        out, _ = apply(params, cfg, TASK, batch.inputs)
        q, k = queries_keys(params, cfg, TASK, batch.inputs)[0]
    p = jax.tree_util.tree_map(np.asarray, params)
    fn = softmax_oracle if kernel == "softmax" else (lambda q, k, lay: oracle_weights(q, k, lay["kernel"]["w"], True))
    for b in range(2):
        x = np.asarray(batch.inputs[b])
        np.testing.assert_allclose(np.asarray(out[b]), oracle_forward(p, x, fn), rtol=1e-9, atol=1e-12)
        prev = np.concatenate([[0], x[:-1]])
        h = p["embed"][x] + p["embed_prev"][prev]
        inp = h / np.sqrt(np.mean(h**2, -1, keepdims=True) + 1e-12)
        np.testing.assert_allclose(np.asarray(q[b]), inp @ p["layers"][0]["w_q"], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(k[b]), inp @ p["layers"][0]["w_k"], rtol=1e-12)


def test_weights_are_differentiable_in_the_feature_matrix_against_finite_differences():
    rng = np.random.default_rng(5)
    q, k, r = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 4))
    w0, dw = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    with x64():
        f = jax.jit(lambda w: jnp.sum(HedgehogExp().bind({"w": w}).weights(q, k, causal=True) * r))
        g = float(jnp.sum(jax.jit(jax.grad(f))(jnp.asarray(w0)) * dw))
        h = 1e-6
        fd = (float(f(jnp.asarray(w0 + h * dw))) - float(f(jnp.asarray(w0 - h * dw)))) / (2 * h)
    assert g != 0.0 and g == pytest.approx(fd, rel=1e-6)


@pytest.mark.slow
def test_feature_matrix_gets_a_gradient_and_layer_kernel_binds_it():
    cfg = ModelConfig(kernel="hedgehog")
    with x64():
        params = init_params(cfg, TASK, jax.random.PRNGKey(0))
        batch = TASK.sample(jax.random.PRNGKey(1), 4)

        def loss(p):
            return TASK.loss_and_accuracy(apply(p, cfg, TASK, batch.inputs)[0], batch)[0]

        g = jax.grad(loss)(params)["layers"][0]["kernel"]["w"]
        w2 = {"w": 2.0 * jnp.eye(16)}
        bound = layer_kernel(cfg, {**params["layers"][0], "kernel": w2})
        q = jax.random.normal(jax.random.PRNGKey(4), (5, 16))
        got = np.asarray(bound.weights(q, q))
    assert float(jnp.max(jnp.abs(g))) > 0
    np.testing.assert_allclose(got, oracle_weights(np.asarray(q), np.asarray(q), 2.0 * np.eye(16), False), rtol=1e-12)
    soft = ModelConfig(kernel="softmax")
    assert layer_kernel(soft, {"w_q": None}) is soft.kernel_obj  # no feature parameters: the kernel itself
