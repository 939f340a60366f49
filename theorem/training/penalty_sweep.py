r"""The CSQ soft penalty in a short training run (claim T6.e): one head per (penalty weight λ, seed).

The task, the head and the held-out measurements are :mod:`theorem.numeric.matching.penalty`; this
module is only the fit: the loss :math:`\mathrm{NLL} + \lambda P` minimized by the one optax loop
(:func:`theorem.training.loop.fit`, Adam), all runs in one compiled program (``vmap`` over
(λ, seed), and the learning rate in :func:`penalty_grid`).  :math:`P` is a parameter
(:class:`~theorem.kernels.penalties.PenaltySpec`): the exact penalty as reconstructed (the kernel's own
:meth:`~theorem.kernels.CSQ.vertex_penalty`, the default) or a linear-time candidate (per-query moments, m
sampled keys per query, drawn afresh at each step from that step's PRNG key), each the mean over the
batch's sequences.

:func:`penalty_grid` also reports whether each run diverged, by the rule of
:mod:`theorem.training.stability` applied to the task loss (the NLL, so that penalties of different scales
are judged alike): a non-finite loss or gradient, or a final training NLL (mean over the last 10 % of
steps) above ``BLOWUP_FACTOR`` times the NLL at step 0; and whether it trained at all: a held-out task loss
below :math:`\log n`, the loss of uniform weights.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels.penalties import PenaltySpec
from theorem.numeric.matching.cases import matching_kernel
from theorem.numeric.matching.penalty import (PENALTY_KERNELS, PenaltyRun, head_qk, held_out_stats, task_batch,
                                              task_losses)
from theorem.training.loop import fit
from theorem.training.stability import BLOWUP_FACTOR, run_stats
from theorem.util.precision import float64

__all__ = ["penalty_sweep", "penalty_grid"]


def _check(lams, seeds, kernel_name, n, d, dk, steps, batch, eval_batches, lrs) -> None:
    if kernel_name not in PENALTY_KERNELS:
        raise ValueError(f"kernel_name: must be csq, csq-uncentered or softmax, got {kernel_name!r}")
    if not lams or not all(math.isfinite(x) and x >= 0 for x in lams):
        raise ValueError(f"lams: need finite penalty weights ≥ 0, got {lams}")
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    if min(d, dk, steps, batch, eval_batches) < 1 or n < 2:
        raise ValueError("n ≥ 2 and d, dk, steps, batch, eval_batches ≥ 1 required")
    if not lrs or not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise ValueError(f"lr: must be a finite number > 0, got {lrs}")


def _runner(kernel_name: str, penalty: PenaltySpec, n: int, d: int, dk: int, steps: int, batch: int,
            task_seed: int, eval_batches: int, record_nll: bool = False):
    """``run_one(λ, lr, seed)`` → (held-out statistics, training losses, gradient norms), traceable; the
    losses are the NLL part of the objective with ``record_nll``, else the objective."""
    kernel = matching_kernel(kernel_name)
    b_matrix = jax.random.normal(jax.random.PRNGKey(task_seed), (d, d))
    eval_keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(task_seed), 1), eval_batches)

    def objective(p, key, lam):
        x, tgt = task_batch(key, batch, n, d, b_matrix)
        nll, pen, *_ = task_losses(kernel, p, x, tgt)
        if penalty.name != "exact" and kernel_name != "softmax":
            q, k = head_qk(p, x)
            keys = jax.random.split(jax.random.fold_in(key, 7), batch)
            pen = jnp.mean(jax.vmap(lambda qb, kb, kb_key: penalty(kernel, qb, kb, kb_key))(q, k, keys))
        return (nll + lam * pen, nll) if record_nll else nll + lam * pen

    def run_one(lam, lr, seed):
        kq, kk, kdata = jax.random.split(jax.random.PRNGKey(seed), 3)
        p0 = {"wq": jax.random.normal(kq, (d, dk)) / math.sqrt(d), "wk": jax.random.normal(kk, (d, dk)) / math.sqrt(d)}
        res = fit(lambda p, key: objective(p, key, lam), p0, steps=steps, learning_rate=lr,
                  data=jax.random.split(kdata, steps), has_aux=record_nll)
        stats = held_out_stats(kernel, res.params, eval_keys, batch=batch, n=n, d=d, b_matrix=b_matrix)
        return stats, res.aux if record_nll else res.losses, res.grad_norms

    return run_one


@float64
def penalty_sweep(
    lams: tuple[float, ...],
    *,
    seeds: tuple[int, ...] = (0,),
    kernel_name: str = "csq",
    n: int = 16,
    d: int = 8,
    dk: int = 8,
    steps: int = 1000,
    batch: int = 32,
    lr: float = 0.03,
    task_seed: int = 0,
    eval_batches: int = 8,
    penalty: PenaltySpec = PenaltySpec(),
) -> list[PenaltyRun]:
    r"""Train one head on the matching task for every (penalty weight, seed); held-out numbers.

    The hidden :math:`B` is drawn from ``task_seed``; :math:`W_Q, W_K` are initialized
    :math:`N(0, 1/d)` from the seed, which also draws the ``steps`` training batches; Adam with
    step ``lr``; the penalty ``penalty`` (the exact one by default).  The held-out numbers use
    ``eval_batches`` fresh batches (their ``penalty`` is the exact one, whichever was trained).  Softmax,
    the reference, has no vertex (its penalty is 0) and should get ``lams=(0,)``.  Returns one
    :class:`PenaltyRun` per (λ, seed), λ-major.
    """
    _check(lams, seeds, kernel_name, n, d, dk, steps, batch, eval_batches, (lr,))
    run_one = _runner(kernel_name, penalty, n, d, dk, steps, batch, task_seed, eval_batches)
    grid = [(float(lam), int(seed)) for lam in lams for seed in seeds]
    lam_arr = jnp.asarray([g[0] for g in grid], dtype=jnp.float64)
    seed_arr = jnp.asarray([g[1] for g in grid], dtype=jnp.uint32)
    start = time.perf_counter()
    stats = np.asarray(jax.jit(jax.vmap(lambda lam, seed: run_one(lam, lr, seed)[0]))(lam_arr, seed_arr))
    seconds = (time.perf_counter() - start) / len(grid)
    return [
        PenaltyRun(lam, seed, *map(float, row[:5]), seconds, tuple(float(v) for v in row[5:]))
        for (lam, seed), row in zip(grid, stats)
    ]


@float64
def penalty_grid(
    penalty: PenaltySpec,
    lams: tuple[float, ...],
    lrs: tuple[float, ...],
    seeds: tuple[int, ...],
    *,
    kernel_name: str = "csq",
    n: int = 16,
    d: int = 8,
    dk: int = 8,
    steps: int = 1000,
    batch: int = 32,
    task_seed: int = 0,
    eval_batches: int = 8,
) -> list[dict]:
    """:func:`penalty_sweep` over (λ, learning rate, seed) with one penalty, in one compiled program; per run
    the held-out numbers of :class:`PenaltyRun` (no percentiles; its ``penalty``, the exact one, as
    ``held_out_penalty``), its training NLL at step 0 and at the end
    (mean of the last 10 % of steps), whether it met a non-finite value, whether it diverged and whether it
    trained (held-out task loss below log n, uniform weights' loss)."""
    _check(lams, seeds, kernel_name, n, d, dk, steps, batch, eval_batches, lrs)
    run_one = _runner(kernel_name, penalty, n, d, dk, steps, batch, task_seed, eval_batches, record_nll=True)
    grid = [(float(lam), float(lr), int(seed)) for lam in lams for lr in lrs for seed in seeds]
    lam_arr, lr_arr = (jnp.asarray([g[i] for g in grid], dtype=jnp.float64) for i in (0, 1))
    seed_arr = jnp.asarray([g[2] for g in grid], dtype=jnp.uint32)
    start = time.perf_counter()
    stats, losses, gnorms = jax.jit(jax.vmap(run_one))(lam_arr, lr_arr, seed_arr)
    seconds = (time.perf_counter() - start) / len(grid)
    stats, losses, gnorms = np.asarray(stats), np.asarray(losses), np.asarray(gnorms)
    rs = run_stats(losses, gnorms, np.zeros(len(grid)))
    with np.errstate(invalid="ignore"):
        diverged = rs["nonfinite"] | ~(rs["final_loss"] <= BLOWUP_FACTOR * rs["initial_loss"])
    fields = ("task_loss", "target_mass", "below_vertex", "a_rate", "held_out_penalty")
    return [
        {"penalty": penalty.name, "label": penalty.label, "kappa": penalty.kappa, "m": penalty.m, "lam": lam,
         "lr": lr, "seed": seed, **{f: float(v) for f, v in zip(fields, stats[i, :5])},
         "initial_loss": float(rs["initial_loss"][i]), "final_loss": float(rs["final_loss"][i]),
         "nonfinite": bool(rs["nonfinite"][i]), "diverged": bool(diverged[i]),
         "trained": bool(stats[i, 0] < math.log(n)), "seconds": seconds}
        for i, (lam, lr, seed) in enumerate(grid)
    ]
