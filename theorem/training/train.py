"""Training with optax: many runs (seeds × learning rates) vmapped into one compiled scan.

A run is :func:`theorem.training.loop.fit`: ``steps`` steps of an optimizer (Adam by default, no gradient clipping, no schedule: a
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
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import Kernel, get_kernel
from theorem.training._jit import fast_jit
from theorem.training.loop import OPTIMIZERS, fit
from theorem.training.model import ModelConfig, apply, init_params
from theorem.training.tasks import Task
from theorem.util.precision import float64

__all__ = ["TrainConfig", "GridResult", "Variant", "STANDARD_VARIANTS", "train_grid", "train_variants", "OPTIMIZERS"]


@dataclass(frozen=True)
class TrainConfig:
    """``penalty`` is the weight λ of the CSQ vertex penalty in ``loss + λ·P``."""

    steps: int = 300
    batch_size: int = 32
    optimizer: str = "adam"
    penalty: float = 0.0
    eval_batch: int = 256
    fast_compile: bool = False  # XLA backend optimization level 0: compiles ~5x faster, runs ~2.5x slower

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


@dataclass(frozen=True)
class Variant:
    """A kernel to train, with the weight λ of the CSQ vertex penalty (0: off)."""

    label: str
    kernel: str
    kernel_params: tuple[tuple[str, Any], ...] = ()
    penalty: float = 0.0

    def __post_init__(self) -> None:
        if not (self.penalty >= 0 and math.isfinite(self.penalty)):
            raise ValueError(f"penalty must be a finite number ≥ 0, got {self.penalty}")
        get_kernel(self.kernel, **dict(self.kernel_params))

    @property
    def kernel_obj(self) -> Kernel:
        return get_kernel(self.kernel, **dict(self.kernel_params))


# λ = 1 for the penalized CSQ: the penalty is O(1) exactly when the centered scores sit O(1) below
# the vertex, the same scale as the task losses (cross-entropy ≈ log V at the start).
PENALTY_WEIGHT = 1.0
STANDARD_VARIANTS: tuple[Variant, ...] = (
    Variant("softmax", "softmax"),
    Variant("linear", "linear"),
    Variant("poly2", "poly2"),
    Variant("csq", "csq", (("shift", 1.0), ("center", True))),
    Variant("csq+penalty", "csq", (("shift", 1.0), ("center", True)), PENALTY_WEIGHT),
)


def sample_stream(task: Task, seeds: np.ndarray, steps: int, batch: int, eval_batch: int):
    """The data of every seed: training batches ``[steps, S, batch, …]`` and held-out ``[S, eval_batch, …]``.

    Step ``i`` of seed ``s`` uses the key ``fold_in(split(PRNGKey(s), 3)[1], i)``; the held-out batch
    uses ``split(PRNGKey(s), 3)[2]``.  Sampling is compiled on its own, not inside the training
    program (it would double that program's compile time).
    """

    def one_seed(seed):
        _, k_data, k_eval = jax.random.split(jax.random.PRNGKey(seed), 3)
        train = jax.vmap(lambda i: task.sample(jax.random.fold_in(k_data, i), batch))(jnp.arange(steps))
        return train, task.sample(k_eval, eval_batch)

    train, held_out = fast_jit(jax.vmap(one_seed))(jnp.asarray(seeds))
    train = jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), train)
    return train, held_out


def make_runner(
    task: Task,
    model: ModelConfig,
    cfg: TrainConfig,
    keep_params: bool = False,
    kernels: Sequence[Kernel] | None = None,
):
    """A jitted ``(seed_keys, seed_index, lrs, kernel_index, λ, train, held_out) → histories``.

    The first five arguments have one entry per run (R runs); ``train`` and ``held_out`` come
    from :func:`sample_stream` and are shared: run ``r`` reads the data of seed ``seed_index[r]``.
    With ``kernels`` the runs choose their kernel by index (one program for all of them);
    without, every run uses ``model.kernel``.
    """
    kernels = None if kernels is None else tuple(kernels)

    def loss_fn(params, batch, index, lam):
        out, aux = apply(params, model, task, batch.inputs, kernels=kernels, index=index)
        loss, acc = task.loss_and_accuracy(out, batch)
        return loss + lam * aux["vertex_penalty"], (loss, acc, aux["vertex_penalty"])

    def evaluate(params, batch, index):
        out, _ = apply(params, model, task, batch.inputs, kernels=kernels, index=index)
        return task.loss_and_accuracy(out, batch)

    def run_one(seed_key, seed_index, lr, index, lam, train, held_out):
        """One run: the one loop over the shared stream, reading the data of seed ``seed_index``."""
        params = init_params(model, task, jax.random.split(seed_key, 3)[0])
        pick = lambda tree: jax.tree_util.tree_map(lambda a: a[seed_index], tree)  # noqa: E731
        res = fit(lambda p, batch_t: loss_fn(p, pick(batch_t), index, lam), params, steps=cfg.steps,
                  learning_rate=lr, optimizer=cfg.optimizer, data=train, has_aux=True)
        loss, _, pen = res.aux
        eloss, eacc = evaluate(res.params, pick(held_out), index)
        return (loss, res.grad_norms, pen, eloss, eacc) + ((res.params,) if keep_params else ())

    run_all = jax.vmap(run_one, in_axes=(0, 0, 0, 0, 0, None, None))
    options = {"xla_backend_optimization_level": 0} if cfg.fast_compile else None
    return jax.jit(run_all, compiler_options=options)


def _check_grid(lrs, seeds) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=np.float64)
    seeds = np.asarray(seeds)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lrs must be a non-empty list of finite learning rates > 0, got {lrs.tolist()}")
    if seeds.ndim != 1 or seeds.size == 0 or seeds.dtype.kind not in "iu" or np.any(seeds < 0):
        raise ValueError(f"seeds must be a non-empty list of integers ≥ 0, got {seeds.tolist()}")
    return lrs, seeds.astype(np.int64)


def _unpack(out, shape, seeds, lrs, keep_params) -> list[GridResult]:
    """Split flat run outputs of shape ``shape + (…)`` into one GridResult per leading index."""
    arr = lambda a: np.asarray(a, dtype=np.float64).reshape(shape + a.shape[1:])  # noqa: E731
    loss, gnorm, pen, eloss, eacc = (arr(a) for a in out[:5])
    params = None
    if keep_params:
        params = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(shape + a.shape[1:]), out[5])
    results = []
    for v in range(shape[0]):
        pv = None if params is None else jax.tree_util.tree_map(lambda a: a[v], params)
        results.append(GridResult(seeds, lrs, loss[v], gnorm[v], pen[v], eloss[v], eacc[v], pv))
    return results


@float64
def train_grid(
    task: Task,
    model: ModelConfig,
    cfg: TrainConfig,
    lrs: Sequence[float],
    seeds: Sequence[int],
    *,
    keep_params: bool = False,
) -> GridResult:
    """Train ``model`` (its own kernel, penalty ``cfg.penalty``): one run per (seed, lr)."""
    lrs, seeds = _check_grid(lrs, seeds)
    s_idx, l_idx = np.meshgrid(np.arange(seeds.size), np.arange(lrs.size), indexing="ij")
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds[s_idx.ravel()]))
    r = s_idx.size
    train, held_out = sample_stream(task, seeds, cfg.steps, cfg.batch_size, cfg.eval_batch)
    out = make_runner(task, model, cfg, keep_params)(
        keys, jnp.asarray(s_idx.ravel()), jnp.asarray(lrs[l_idx.ravel()]), jnp.zeros(r, jnp.int32),
        jnp.full(r, cfg.penalty), train, held_out,
    )
    return _unpack(out, (1, seeds.size, lrs.size), seeds, lrs, keep_params)[0]


@float64
def train_variants(
    task: Task,
    model: ModelConfig,
    cfg: TrainConfig,
    variants: Sequence[Variant],
    lrs: Sequence[float],
    seeds: Sequence[int],
    *,
    keep_params: bool = False,
    share_program: bool = True,
) -> dict[str, GridResult]:
    """Train every variant over the (seed, lr) grid, vmapped.

    ``share_program=True``: one compiled program for all variants (each run picks its kernel by
    index; every kernel is evaluated, so run time grows with the number of distinct kernels);
    ``False``: one program per distinct kernel (more compile time, less run time).

    ``model.kernel`` is ignored; each run uses its variant's kernel and penalty weight (and
    ``cfg.penalty`` is ignored).  Equal seeds give equal initializations and data streams
    across variants.
    """
    lrs, seeds = _check_grid(lrs, seeds)
    variants = tuple(variants)
    if not variants:
        raise ValueError("variants must not be empty")
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ValueError(f"variants: labels must be distinct, got {labels}")
    # distinct kernels (by their parameters) each get one branch
    branches: list[tuple] = []
    index_of = []
    for v in variants:
        key = (v.kernel, tuple(sorted(v.kernel_params)))
        if key not in branches:
            branches.append(key)
        index_of.append(branches.index(key))
    kernels = [get_kernel(name, **dict(params)) for name, params in branches]
    v_idx, s_idx, l_idx = np.meshgrid(
        np.arange(len(variants)), np.arange(seeds.size), np.arange(lrs.size), indexing="ij"
    )
    v_idx, s_idx, l_idx = v_idx.ravel(), s_idx.ravel(), l_idx.ravel()
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds[s_idx]))
    train, held_out = sample_stream(task, seeds, cfg.steps, cfg.batch_size, cfg.eval_batch)
    branch = np.asarray(index_of)[v_idx]
    lam = np.asarray([v.penalty for v in variants])[v_idx]
    lr = lrs[l_idx]
    if share_program:
        out = make_runner(task, model, cfg, keep_params, kernels)(
            keys, jnp.asarray(s_idx), jnp.asarray(lr), jnp.asarray(branch, dtype=jnp.int32), jnp.asarray(lam),
            train, held_out,
        )
    else:  # one program per distinct kernel: more compiling, no wasted branches at run time
        pieces = []
        for b, kernel in enumerate(kernels):
            sel = np.flatnonzero(branch == b)
            part = make_runner(task, model, cfg, keep_params, [kernel])(
                keys[sel], jnp.asarray(s_idx[sel]), jnp.asarray(lr[sel]), jnp.zeros(sel.size, jnp.int32),
                jnp.asarray(lam[sel]), train, held_out,
            )
            pieces.append((sel, part))
        order = np.argsort(np.concatenate([sel for sel, _ in pieces]))
        out = jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p) for p in parts])[order], *[part for _, part in pieces]
        )
    results = _unpack(out, (len(variants), seeds.size, lrs.size), seeds, lrs, keep_params)
    return dict(zip(labels, results))
