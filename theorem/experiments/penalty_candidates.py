"""``penalty_candidates``: the exact CSQ soft penalty against its linear-time candidates (T7.b, issue 13 §2).

Two parts, both recorded:

* **cost** — for each penalty, the operations of ``jax.grad`` (forward + backward) and the arrays of its
  traced program at each n, beside the attention's own linear-form gradient
  (:func:`theorem.numeric.penalty_cost.cost_table`; counts, no clock);
* **training** — the T6.e matching task (:func:`theorem.training.penalty_sweep.penalty_grid`: one head,
  Adam) trained with each penalty over (λ, learning rate, seed), plus the unpenalized runs (λ = 0, once,
  in the first penalty's program, labelled ``none``) and, optionally, softmax: per run the held-out (a) reversal rate, task loss, target mass, keys below the vertex,
  and whether it diverged or trained.

Settings: QUICK (tiny, for CI: one λ, one learning rate, one seed, 20 steps, n = 8;
about a minute, nearly all of it compiling one program per penalty), MEDIUM (the committed
record: 4 penalties × 3 λ × 2 learning rates × 4 seeds, 1000 steps, n = 16 — FULL takes over an hour on the
shared 2-core machine), FULL (7 penalties × 5 λ × 4 learning rates × 10 seeds).  :func:`run_medium` writes
the MEDIUM record with its profile named ``medium``.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.experiments.command import main as experiments_main
from theorem.kernels.penalties import PenaltySpec
from theorem.numeric.penalty_cost import cost_table
from theorem.training.penalty_sweep import penalty_grid

NAME = "penalty_candidates"
DESCRIPTION = "CSQ soft penalty, exact vs linear-time candidates: traced cost in n, and the T6.e measures"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "MEDIUM", "FULL", "run", "run_medium", "spec_of"]

_TASK = {"steps": 1000, "n": 16, "batch": 32, "eval_batches": 8}
QUICK: dict[str, Any] = {
    "penalties": [{"name": "exact"}, {"name": "moments", "kappa": 2.0}, {"name": "sampled", "m": 2}],
    "lams": [10.0], "lrs": [0.03], "seeds": [0], "steps": 20, "n": 8, "batch": 8, "eval_batches": 1,
    "cost_ns": [64, 128], "softmax_reference": False,
}
MEDIUM: dict[str, Any] = {
    "penalties": [{"name": "exact"}, {"name": "moments", "kappa": 1.0}, {"name": "moments", "kappa": 2.0},
                  {"name": "sampled", "m": 4}],
    "lams": [1.0, 10.0, 100.0], "lrs": [0.03, 0.3], "seeds": [0, 1, 2, 3], **_TASK,
    "cost_ns": [64, 128, 256, 512, 1024, 2048], "softmax_reference": True,
}
FULL: dict[str, Any] = {
    "penalties": [{"name": "exact"}, *({"name": "moments", "kappa": k} for k in (1.0, 2.0, 3.0)),
                  *({"name": "sampled", "m": m} for m in (2, 4, 8))],
    "lams": [1.0, 3.0, 10.0, 30.0, 100.0], "lrs": [0.01, 0.03, 0.1, 0.3], "seeds": list(range(10)), **_TASK,
    "cost_ns": [64, 128, 256, 512, 1024, 2048, 4096], "softmax_reference": True,
}


def spec_of(entry: dict[str, Any]) -> PenaltySpec:
    """The :class:`PenaltySpec` a settings entry names."""
    return PenaltySpec(entry["name"], kappa=float(entry.get("kappa", 1.0)), m=int(entry.get("m", 4)))


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    task = {k: settings[k] for k in ("steps", "n", "batch", "eval_batches")}
    lrs, seeds = tuple(settings["lrs"]), tuple(settings["seeds"])
    cost = cost_table(tuple(settings["cost_ns"]), specs=tuple(spec_of(e) for e in settings["penalties"]))
    log("cost: " + ", ".join(f"{p['label']} ops ∝ n^{p['ops_exponent']:.2f}" for p in cost["penalties"]))
    runs: list[dict[str, Any]] = []
    for i, entry in enumerate(settings["penalties"]):
        spec = spec_of(entry)
        lams = (0.0, *settings["lams"]) if i == 0 else tuple(settings["lams"])  # λ = 0 once: the unpenalized runs
        rows = [r | {"kernel": "csq"} | ({"label": "none", "penalty": "none"} if r["lam"] == 0 else {})
                for r in penalty_grid(spec, lams, lrs, seeds, **task)]
        runs += rows
        log(f"{spec.label}: {len(rows)} runs, {sum(r['diverged'] for r in rows)} diverged")
    if settings["softmax_reference"]:
        ref = penalty_grid(PenaltySpec("exact"), (0.0,), lrs, seeds, kernel_name="softmax", **task)
        runs += [r | {"kernel": "softmax", "label": "softmax", "penalty": "none"} for r in ref]
        log(f"softmax: {len(ref)} runs")
    return {"cost": cost, "runs": runs, "reference_lr": 0.03 if 0.03 in lrs else lrs[0]}


def run_medium() -> int:
    """Run MEDIUM and write the record (profile ``medium``): ``python -m theorem.experiments penalty_candidates --profile medium``."""
    return experiments_main([NAME, "--profile", "medium"])
