"""``matching_causal``: T4.e's controlled experiment on MQAR (issue 13 §5).

Same model (one causal attention layer, d_model = 32, d_k = 16, shift embedding, RMS norm), same
parameter count (the shapes do not depend on the kernel), same seeds, initial points and data
streams across kernels (:func:`theorem.training.train.train_variants`); only the kernel changes:

* ``linear`` — elu+1 features (Katharopoulos et al. 2020): no dot-product monotonicity, no contrast;
* ``rebased`` — ReBased-style squared features, T = (s + 1)² (CSQ without centering, shift 1): an exact
  finite feature map, monotone in the score above the vertex s = −1;
* ``csq`` — centered CSQ, shift 1;
* ``softmax``.

(Hedgehog's learned exp features need feature parameters the harness does not have; requested from the
kernels layer.)  Held-out accuracy per (kernel, lr, seed); beside it, each kernel's (a)/(b) violation
rates on realistic inputs (layer-norm-scale queries, Gaussian keys; :func:`theorem.numeric.matching.
realistic_violation_rates`) — kernel-level rates, not measured inside the trained models.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from theorem.numeric.matching import realistic_violation_rates
from theorem.training.model import ModelConfig
from theorem.training.tasks import MQAR
from theorem.training.train import TrainConfig, Variant, train_variants

NAME = "matching_causal"
DESCRIPTION = "T4.e: MQAR accuracy of elu+1, ReBased-style, CSQ and softmax attention at equal parameters and seeds"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "VARIANTS", "RATE_KERNEL", "run"]

VARIANTS: tuple[Variant, ...] = (
    Variant("linear", "linear"),
    Variant("rebased", "csq", (("shift", 1.0), ("center", False))),
    Variant("csq", "csq", (("shift", 1.0), ("center", True))),
    Variant("softmax", "softmax"),
)
#: the label of each variant in theorem.kernels.KERNELS, for the kernel-level violation rates
RATE_KERNEL = {"linear": "linear", "rebased": "csq-uncentered", "csq": "csq", "softmax": "softmax"}

QUICK: dict[str, Any] = {"seq_len": 32, "num_pairs": 4, "vocab_size": 32, "steps": 150, "lrs": [3e-3],
                         "seeds": [0, 1, 2], "rate_trials": 10}
FULL: dict[str, Any] = {"seq_len": 64, "num_pairs": 8, "vocab_size": 64, "steps": 2000, "lrs": [1e-3, 3e-3, 1e-2],
                        "seeds": list(range(10)), "rate_trials": 100}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    task = MQAR(seq_len=settings["seq_len"], num_pairs=settings["num_pairs"], vocab_size=settings["vocab_size"])
    model = ModelConfig(d_model=32, d_key=16, n_layers=1)
    cfg = TrainConfig(steps=settings["steps"])
    grids = train_variants(task, model, cfg, VARIANTS, settings["lrs"], settings["seeds"], share_program=False)
    rows = []
    for label, grid in grids.items():
        for si, seed in enumerate(grid.seeds):
            for li, lr in enumerate(grid.lrs):
                rows.append({"kernel": label, "seed": int(seed), "lr": float(lr),
                             "eval_acc": float(grid.eval_acc[si, li]), "eval_loss": float(grid.eval_loss[si, li]),
                             "final_loss": float(grid.loss[si, li, -1])})
        log(f"{label}: mean held-out accuracy {np.mean(grid.eval_acc):.3f}")
    rates = {}
    for label, kname in RATE_KERNEL.items():
        r = realistic_violation_rates(kname, trials=settings["rate_trials"])
        rates[label] = {"a_rate": float(r.a_rate), "a_se": float(r.a_se), "b_rate": float(r.b_rate),
                        "b_se": float(r.b_se)}
    return {"rows": rows, "rates": rates, "chance": 1.0 / (settings["vocab_size"] // 2),
            "model": {"d_model": 32, "d_key": 16, "n_layers": 1}}
