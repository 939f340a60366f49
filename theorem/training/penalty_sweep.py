r"""The CSQ soft penalty in a short training run (claim T6.e): one head per (penalty weight λ, seed).

The task, the head and the held-out measurements are :mod:`theorem.numeric.matching.penalty`; this
module is only the fit: the loss :math:`\mathrm{NLL} + \lambda P(S)` (:math:`P` the kernel's own
:meth:`~theorem.kernels.CSQ.vertex_penalty`), minimized by the one optax loop
(:func:`theorem.training.loop.fit`, Adam), all runs in one compiled program (``vmap`` over
(λ, seed)).
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from theorem.numeric.matching.cases import matching_kernel
from theorem.numeric.matching.penalty import PENALTY_KERNELS, PenaltyRun, held_out_stats, task_batch, task_losses
from theorem.training.loop import fit
from theorem.util.precision import float64

__all__ = ["penalty_sweep"]


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
) -> list[PenaltyRun]:
    r"""Train one head on the matching task for every (penalty weight, seed); held-out numbers.

    The hidden :math:`B` is drawn from ``task_seed``; :math:`W_Q, W_K` are initialized
    :math:`N(0, 1/d)` from the seed, which also draws the ``steps`` training batches; Adam with
    step ``lr``.  The held-out numbers use ``eval_batches`` fresh batches.  Softmax, the reference,
    has no vertex (its penalty is 0) and should get ``lams=(0,)``.  Returns one :class:`PenaltyRun`
    per (λ, seed), λ-major.
    """
    if kernel_name not in PENALTY_KERNELS:
        raise ValueError(f"kernel_name: must be csq, csq-uncentered or softmax, got {kernel_name!r}")
    if not lams or not all(math.isfinite(x) and x >= 0 for x in lams):
        raise ValueError(f"lams: need finite penalty weights ≥ 0, got {lams}")
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    if min(d, dk, steps, batch, eval_batches) < 1 or n < 2:
        raise ValueError("n ≥ 2 and d, dk, steps, batch, eval_batches ≥ 1 required")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: must be a finite number > 0, got {lr}")
    kernel = matching_kernel(kernel_name)
    b_matrix = jax.random.normal(jax.random.PRNGKey(task_seed), (d, d))
    eval_keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(task_seed), 1), eval_batches)

    def train_one(lam, seed):
        kq, kk, kdata = jax.random.split(jax.random.PRNGKey(seed), 3)
        p0 = {"wq": jax.random.normal(kq, (d, dk)) / math.sqrt(d), "wk": jax.random.normal(kk, (d, dk)) / math.sqrt(d)}

        def objective(p, key):
            nll, pen, *_ = task_losses(kernel, p, *task_batch(key, batch, n, d, b_matrix))
            return nll + lam * pen

        return fit(objective, p0, steps=steps, learning_rate=lr, data=jax.random.split(kdata, steps)).params

    def run_one(lam, seed):
        return held_out_stats(kernel, train_one(lam, seed), eval_keys, batch=batch, n=n, d=d, b_matrix=b_matrix)

    grid = [(float(lam), int(seed)) for lam in lams for seed in seeds]
    lam_arr = jnp.asarray([g[0] for g in grid], dtype=jnp.float64)
    seed_arr = jnp.asarray([g[1] for g in grid], dtype=jnp.uint32)
    start = time.perf_counter()
    stats = np.asarray(jax.jit(jax.vmap(run_one))(lam_arr, seed_arr))
    seconds = (time.perf_counter() - start) / len(grid)
    return [
        PenaltyRun(lam, seed, *map(float, row[:5]), seconds, tuple(float(v) for v in row[5:]))
        for (lam, seed), row in zip(grid, stats)
    ]
