"""The vmapped training grid is the serial trainer, run by run.

:func:`theorem.training.train.train_variants` trains every (seed, learning rate) of a kernel in one
compiled program (``jax.vmap`` over runs of one ``lax.scan``).  The oracle here trains each run alone,
in a plain Python loop over steps with ``optax`` called directly (not through
:func:`theorem.training.loop.fit`), from the initial point and data stream the module docstring of
:mod:`theorem.training.train` documents: ``init_params(split(PRNGKey(s), 3)[0])``, batch ``i`` from
``fold_in(split(PRNGKey(s), 3)[1], i)``, held-out batch from ``split(PRNGKey(s), 3)[2]``.  The two agree
to 1e-6 (relative) in every per-step loss, gradient norm and penalty and in the held-out loss and
accuracy, so vmapping changes no run's initial point, data or updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from theorem.training._jit import fast_jit  # XLA optimization level 0: compiles faster, same operations
from theorem.training.model import ModelConfig, apply, init_params
from theorem.training.tasks import MQAR, Batch
from theorem.training.train import TrainConfig, Variant, train_variants

TASK = MQAR(12, 2, 8)
MODEL = dict(d_model=8, d_key=4)
CFG = TrainConfig(steps=4, batch_size=4, eval_batch=8, fast_compile=True)
VARIANT = Variant("csq+penalty", "csq", (("shift", 1.0), ("center", True)), 1.0)  # a kernel and the penalty
LRS = (1e-3, 0.3)
SEEDS = (3, 0)


def serial_runs(variant: Variant) -> dict[tuple[int, float], dict[str, np.ndarray]]:
    """Every (seed, lr) run alone, step by step: Adam on ``loss + λ·penalty`` with the documented keys."""
    model = ModelConfig(variant.kernel, variant.kernel_params, **MODEL)
    adam = optax.scale_by_adam()  # optax.adam(lr) is this followed by a scaling by −lr

    def total(p, b):
        out, aux = apply(p, model, TASK, b.inputs)
        loss, _ = TASK.loss_and_accuracy(out, b)
        return loss + variant.penalty * aux["vertex_penalty"], (loss, aux["vertex_penalty"])

    @fast_jit
    def step(p, state, b, lr):
        (_, (loss, pen)), g = jax.value_and_grad(total, has_aux=True)(p, b)
        norm = jnp.sqrt(sum(jnp.sum(a**2) for a in jax.tree_util.tree_leaves(g)))
        with jax.numpy_dtype_promotion("standard"):
            direction, state = adam.update(g, state, p)
        return jax.tree_util.tree_map(lambda a, u: a - lr * u, p, direction), state, loss, norm, pen

    sample = fast_jit(TASK.sample, static_argnums=1)
    evaluate = fast_jit(lambda p, b: TASK.loss_and_accuracy(apply(p, model, TASK, b.inputs)[0], b))
    out = {}
    for seed in SEEDS:
        k_init, k_data, k_eval = jax.random.split(jax.random.PRNGKey(seed), 3)
        for lr in LRS:
            params = init_params(model, TASK, k_init)
            state = adam.init(params)
            hist = []
            for i in range(CFG.steps):
                params, state, *row = step(params, state, sample(jax.random.fold_in(k_data, i), CFG.batch_size), lr)
                hist.append([float(x) for x in row])
            eloss, eacc = evaluate(params, sample(k_eval, CFG.eval_batch))
            loss, norm, pen = np.asarray(hist).T
            out[seed, lr] = {"loss": loss, "grad_norm": norm, "penalty": pen, "eval_loss": float(eloss),
                             "eval_acc": float(eacc)}
    return out


def test_every_run_of_the_vmapped_grid_is_the_serial_run():
    res = train_variants(TASK, ModelConfig(**MODEL), CFG, (VARIANT,), LRS, SEEDS, share_program=False)[VARIANT.label]
    assert res.loss.shape == (len(SEEDS), len(LRS), CFG.steps)
    serial = serial_runs(VARIANT)
    for i, seed in enumerate(SEEDS):
        for j, lr in enumerate(LRS):
            ref = serial[seed, lr]
            for name in ("loss", "grad_norm", "penalty"):
                np.testing.assert_allclose(getattr(res, name)[i, j], ref[name], rtol=1e-6, atol=1e-12,
                                           err_msg=f"seed {seed} lr {lr}: {name}")
            np.testing.assert_allclose(res.eval_loss[i, j], ref["eval_loss"], rtol=1e-6)
            assert res.eval_acc[i, j] == ref["eval_acc"]
    # the runs differ between seeds and between learning rates (the comparison is not of a constant)
    assert not np.allclose(res.loss[0, 1], res.loss[1, 1])
    assert not np.allclose(res.loss[0, 0, 1:], res.loss[0, 1, 1:])
    assert np.any(res.penalty > 0)  # the penalty term is exercised
