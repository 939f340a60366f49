"""``matching_causal``: T4.e's controlled experiment on MQAR (issue 13 §5).

Same model (one causal attention layer, d_model = 32, d_k = 16, shift embedding, RMS norm), same seeds,
initial points and data streams across kernels (:func:`theorem.training.train.train_variants`,
:func:`~theorem.training.train.train_grid`); only the kernel changes:

* ``linear`` — elu+1 features (Katharopoulos et al. 2020): no dot-product monotonicity, no contrast;
* ``rebased`` — ReBased-style squared features, T = (s + 1)² (CSQ without centering, shift 1): an exact
  finite feature map, monotone in the score above the vertex s = −1;
* ``csq`` — centered CSQ, shift 1;
* ``hedgehog`` — Hedgehog-style exp features (Zhang et al. 2024) with a **learned** feature matrix W per
  head (:class:`theorem.kernels.HedgehogExp`: φ_W(x) = [softmax(xW), softmax(−xW)], T = φ_W(q)·φ_W(k),
  normalised as a linear attention; W starts at the identity and is trained with the other parameters);
  it has d_k² = 256 parameters more than the others (the record gives every arm's count);
* ``softmax``.

Per (kernel, lr, seed): held-out accuracy, and — measured **inside the trained model**, on its own queries
and keys of a probe batch (the first layer's ``h W_Q``, ``h W_K``, :func:`theorem.training.model.queries_keys`),
at the scored (query) positions over the key pairs each sees (causal) — the (a) dot-product-monotonicity and
(b) Euclidean-matching violation rates (:func:`theorem.numeric.matching.pair_violation_rates`), the mean
attention entropy (nats; low = "spiky") and the mean attention mass on the position that holds the answer
(the value after the queried key).  Beside them, the kernel-level (a)/(b) rates on realistic inputs of the
four labelled kernels (:func:`theorem.numeric.matching.realistic_violation_rates`; context only).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from theorem.numeric.matching import pair_violation_rates, realistic_violation_rates
from theorem.training.model import ModelConfig, init_params, layer_kernel, num_params, queries_keys
from theorem.training.tasks import MQAR
from theorem.training.train import GridResult, TrainConfig, Variant, train_grid, train_variants
from theorem.util.precision import float64

NAME = "matching_causal"
DESCRIPTION = ("T4.e: MQAR accuracy of elu+1, ReBased-style, CSQ, learned Hedgehog exp features and softmax at "
               "equal seeds, with in-model monotonicity and matching rates")
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "VARIANTS", "LEARNED", "RATE_KERNEL", "ARMS", "run",
           "in_model_measures"]

VARIANTS: tuple[Variant, ...] = (
    Variant("linear", "linear"),
    Variant("rebased", "csq", (("shift", 1.0), ("center", False))),
    Variant("csq", "csq", (("shift", 1.0), ("center", True))),
    Variant("softmax", "softmax"),
)
#: arms whose kernel has feature parameters of its own: trained through ``ModelConfig.kernel``
LEARNED: dict[str, str] = {"hedgehog": "hedgehog"}
ARMS: tuple[str, ...] = ("linear", "rebased", "csq", "hedgehog", "softmax")
#: the label of each variant in theorem.kernels.KERNELS, for the kernel-level violation rates
RATE_KERNEL = {"linear": "linear", "rebased": "csq-uncentered", "csq": "csq", "softmax": "softmax"}
MODEL = {"d_model": 32, "d_key": 16, "n_layers": 1}

QUICK: dict[str, Any] = {"seq_len": 32, "num_pairs": 4, "vocab_size": 32, "steps": 150, "lrs": [3e-3],
                         "seeds": [0, 1, 2], "rate_trials": 10, "probe_batch": 8}
#: sized for a shared 2-core machine (≈ 20–40 min): 8 pairs in a sequence of 32 (every slot after the pairs
#: is a query or filler), one learning rate (the quick profile's), 8 seeds
FULL: dict[str, Any] = {"seq_len": 32, "num_pairs": 8, "vocab_size": 32, "steps": 800, "lrs": [3e-3],
                        "seeds": list(range(8)), "rate_trials": 100, "probe_batch": 16}


def _answer_positions(x, n_pairs: int):
    """``match[i, j]``: position ``j < 2P`` holds the value of the key queried at ``i`` (its previous token
    is ``x_i``; keys and values come from disjoint halves of the vocabulary)."""
    prev = jnp.concatenate([jnp.zeros((1,), x.dtype), x[:-1]])
    in_pairs = jnp.arange(x.shape[0]) < 2 * n_pairs
    return (prev[None, :] == x[:, None]) & in_pairs[None, :]


@float64
def in_model_measures(cfg: ModelConfig, task: MQAR, params: dict, batch) -> dict[str, np.ndarray]:
    """For runs stacked on the leading axis of ``params``: the first layer's (a), (b) violation rates, mean
    attention entropy and mean mass on the answer position, averaged over the scored positions of ``batch``."""

    def one_run(p):
        q, k = queries_keys(p, cfg, task, batch.inputs)[0]
        kern = layer_kernel(cfg, p["layers"][0])

        def one_seq(qs, ks, x, rows):
            a, b = pair_violation_rates(kern, qs, ks, causal=True, rows=rows)
            w = kern.weights(qs, ks, causal=True)
            ent = -jnp.sum(jnp.where(w > 0, w * jnp.log(jnp.where(w > 0, w, 1.0)), 0.0), axis=-1)
            mass = jnp.sum(jnp.where(_answer_positions(x, task.num_pairs), w, 0.0), axis=-1)
            m = rows.astype(w.dtype)
            return a, b, jnp.sum(ent * m) / jnp.sum(m), jnp.sum(mass * m) / jnp.sum(m)

        out = jax.vmap(one_seq)(q, k, batch.inputs, batch.info)
        return tuple(jnp.mean(o) for o in out)

    a, b, ent, mass = jax.lax.map(jax.jit(one_run), params)
    return {"a_rate": np.asarray(a), "b_rate": np.asarray(b), "entropy": np.asarray(ent), "answer_mass": np.asarray(mass)}


def _rows(label: str, grid: GridResult, cfg: ModelConfig, task: MQAR, probe_key, probe_batch: int) -> list[dict]:
    s, l = grid.eval_acc.shape
    flat = jax.tree_util.tree_map(lambda a: jnp.asarray(a).reshape((s * l,) + a.shape[2:]), grid.params)
    batch = task.sample(probe_key, probe_batch)
    meas = in_model_measures(cfg, task, flat, batch)
    rows = []
    for si, seed in enumerate(grid.seeds):
        for li, lr in enumerate(grid.lrs):
            r = si * l + li
            rows.append({"kernel": label, "seed": int(seed), "lr": float(lr),
                         "eval_acc": float(grid.eval_acc[si, li]), "eval_loss": float(grid.eval_loss[si, li]),
                         "final_loss": float(grid.loss[si, li, -1]),
                         **{name: float(v[r]) for name, v in meas.items()}})
    return rows


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    task = MQAR(seq_len=settings["seq_len"], num_pairs=settings["num_pairs"], vocab_size=settings["vocab_size"])
    cfg = TrainConfig(steps=settings["steps"])
    base = ModelConfig(**MODEL)
    configs = {v.label: ModelConfig(kernel=v.kernel, kernel_params=v.kernel_params, **MODEL) for v in VARIANTS}
    configs.update({label: ModelConfig(kernel=name, **MODEL) for label, name in LEARNED.items()})
    grids: dict[str, GridResult] = train_variants(task, base, cfg, VARIANTS, settings["lrs"], settings["seeds"],
                                                  share_program=False, keep_params=True)
    for label in LEARNED:
        grids[label] = train_grid(task, configs[label], cfg, settings["lrs"], settings["seeds"], keep_params=True)
    probe_key = jax.random.PRNGKey(2**31 - 1)  # a probe batch no training stream uses
    rows = []
    for label in ARMS:
        rows += _rows(label, grids[label], configs[label], task, probe_key, settings["probe_batch"])
        mine = [r for r in rows if r["kernel"] == label]
        log(f"{label}: mean held-out accuracy {np.mean([r['eval_acc'] for r in mine]):.3f}, in-model (a) rate "
            f"{np.mean([r['a_rate'] for r in mine]):.3f}")
    kernel_rates = {}
    for label, kname in RATE_KERNEL.items():
        r = realistic_violation_rates(kname, trials=settings["rate_trials"])
        kernel_rates[label] = {"a_rate": float(r.a_rate), "a_se": float(r.a_se), "b_rate": float(r.b_rate),
                               "b_se": float(r.b_se)}
    counts = {label: num_params(init_params(configs[label], task, jax.random.PRNGKey(0))) for label in ARMS}
    return {"rows": rows, "kernel_rates": kernel_rates, "chance": task.chance_accuracy, "num_params": counts,
            "arms": list(ARMS), "model": dict(MODEL)}

