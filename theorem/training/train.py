"""Training with optax: many runs (seeds × learning rates) vmapped into one compiled scan.

A run is ``steps`` steps of an optimizer (Adam by default, no gradient clipping, no schedule: a
stability measurement should not hide blow-ups behind clipping) on fresh batches drawn from the
task with the run's seed.  The seed fixes the initialization and the data stream; the parameter
shapes do not depend on the kernel, so runs with equal seeds start from *matched* points across
kernels and see the same batches.

Recorded per step: the task loss, the global gradient norm ``‖∇θ L‖₂`` of the total loss, the
CSQ vertex penalty and the batch accuracy; at the end the loss and accuracy on a held-out batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from theorem.training.model import ModelConfig, apply, init_params
from theorem.training.tasks import Task

__all__ = ["TrainConfig", "GridResult", "train_grid", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """``penalty`` is the weight λ of the CSQ vertex penalty in ``loss + λ·P``."""

    steps: int = 300
    batch_size: int = 32
    optimizer: str = "adam"
    penalty: float = 0.0
    eval_batch: int = 256

    def __post_init__(self) -> None:
        if self.steps < 2:
            raise ValueError(f"steps must be ≥ 2, got {self.steps}")
        if self.batch_size < 1 or self.eval_batch < 1:
            raise ValueError(f"batch_size and eval_batch must be ≥ 1, got {self.batch_size}, {self.eval_batch}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: unknown {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if not (self.penalty >= 0 and math.isfinite(self.penalty)):
            raise ValueError(f"penalty must be a finite number ≥ 0, got {self.penalty}")


@dataclass
class GridResult:
    """Histories of a grid of runs, indexed ``[seed, lr, ...]`` (numpy, float64)."""

    seeds: np.ndarray
    lrs: np.ndarray
    loss: np.ndarray  # [S, L, steps] training loss (task part)
    grad_norm: np.ndarray  # [S, L, steps]
    penalty: np.ndarray  # [S, L, steps]
    eval_loss: np.ndarray  # [S, L]
    eval_acc: np.ndarray  # [S, L]
    params: dict | None = None  # final parameters, leaves [S, L, ...] (kept on request)


def _direction(optimizer: str) -> optax.GradientTransformation:
    return optax.scale_by_adam() if optimizer == "adam" else optax.identity()


def make_runner(task: Task, model: ModelConfig, cfg: TrainConfig, keep_params: bool = False):
    """A jitted function ``(seed_keys [R], lrs [R]) → histories`` running R runs in parallel."""
    opt = _direction(cfg.optimizer)

    def loss_fn(params, batch):
        out, aux = apply(params, model, task, batch.inputs)
        loss, acc = task.loss_and_accuracy(out, batch)
        return loss + cfg.penalty * aux["vertex_penalty"], (loss, acc, aux["vertex_penalty"])

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def run(seed_key, lr):
        k_init, k_data, k_eval = jax.random.split(seed_key, 3)
        params = init_params(model, task, k_init)
        state = opt.init(params)

        def step(carry, i):
            params, state = carry
            batch = task.sample(jax.random.fold_in(k_data, i), cfg.batch_size)
            (_, (loss, acc, pen)), grads = grad_fn(params, batch)
            gnorm = optax.global_norm(grads)
            updates, state = opt.update(grads, state, params)
            params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
            return (params, state), (loss, gnorm, pen, acc)

        (params, _), (loss, gnorm, pen, _) = jax.lax.scan(step, (params, state), jnp.arange(cfg.steps))
        eval_batch = task.sample(k_eval, cfg.eval_batch)
        out, _ = apply(params, model, task, eval_batch.inputs)
        eloss, eacc = task.loss_and_accuracy(out, eval_batch)
        result = (loss, gnorm, pen, eloss, eacc)
        return result + ((params,) if keep_params else ())

    return jax.jit(jax.vmap(run))


def train_grid(
    task: Task,
    model: ModelConfig,
    cfg: TrainConfig,
    lrs: Sequence[float],
    seeds: Sequence[int],
    *,
    keep_params: bool = False,
) -> GridResult:
    """Train one run per (seed, learning rate), all vmapped together."""
    lrs = np.asarray(lrs, dtype=np.float64)
    seeds = np.asarray(seeds, dtype=np.int64)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lrs must be a non-empty list of finite learning rates > 0, got {lrs.tolist()}")
    if seeds.ndim != 1 or seeds.size == 0 or np.any(seeds < 0):
        raise ValueError(f"seeds must be a non-empty list of integers ≥ 0, got {seeds.tolist()}")
    s_idx, l_idx = np.meshgrid(np.arange(seeds.size), np.arange(lrs.size), indexing="ij")
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds[s_idx.ravel()]))
    out = make_runner(task, model, cfg, keep_params)(keys, jnp.asarray(lrs[l_idx.ravel()]))
    shape = (seeds.size, lrs.size)
    arr = lambda a: np.asarray(a, dtype=np.float64).reshape(shape + a.shape[1:])  # noqa: E731
    params = None
    if keep_params:
        params = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(shape + a.shape[1:]), out[5])
    return GridResult(seeds, lrs, arr(out[0]), arr(out[1]), arr(out[2]), arr(out[3]), arr(out[4]), params)
