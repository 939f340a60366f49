"""Stability summaries with intervals, significant comparisons and the design's power (T6).

Built on :mod:`.statistics` and the summaries of :func:`.stability.summarize`:

* :func:`kernel_table` — one kernel's divergence count and rate with its Wilson interval, per learning
  rate too, and its trainable width with the Wilson bracket of :func:`.statistics.width_interval`;
* :func:`significant_comparison` — kernel ``a`` against ``b``: the difference of divergence rates
  ``p_a − p_b`` with Newcombe's interval; ``a`` is **more** stable when that interval lies below 0
  or ``a``'s width bracket lies above ``b``'s, **less** in the mirror case, **mixed** when both, and
  **undetermined** when neither interval separates them;
* :func:`design_power` — what the design could detect: the smallest reduction and the smallest
  increase of the baseline divergence rate the pooled z-test detects at α with the given power
  (``None`` when no rate in [0, 1] is far enough), the power against a reduction to 0, and the seeds
  per learning rate needed to certify any learning rate trainable at the quorum.

Nothing here is a verdict; :mod:`theorem.claims.t6_stability` turns these relations into one.
"""

from __future__ import annotations

from typing import Any

from theorem.training.stability import QUORUM
from theorem.training.statistics import (
    minimum_detectable_difference,
    newcombe_difference,
    power_two_proportions,
    seeds_to_certify,
    width_interval,
    wilson_interval,
)

__all__ = ["ALPHA", "POWER", "CONFIDENCE", "kernel_table", "significant_comparison", "design_power",
           "setting_table"]

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95


def kernel_table(summary: dict[str, Any], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Counts, rates and intervals of one kernel's summary."""
    runs, k, seeds = summary["runs"], summary["diverged_runs"], summary["seeds"]
    lo, hi = wilson_interval(k, runs, confidence)
    by_lr = []
    for lr, kd, kt in zip(summary["lrs"], summary["diverged_by_lr_count"], summary["train_count_by_lr"]):
        dl, dh = wilson_interval(int(kd), seeds, confidence)
        tl, th = wilson_interval(int(kt), seeds, confidence)
        by_lr.append({"lr": lr, "diverged": int(kd), "trained": int(kt), "seeds": seeds,
                      "divergence_interval": [dl, dh], "train_interval": [tl, th]})
    width = width_interval(summary["train_count_by_lr"], seeds, summary["grid_spacing_decades"], QUORUM, confidence)
    return {"runs": runs, "diverged": k, "rate": k / runs, "interval": [lo, hi], "by_lr": by_lr, "width": width,
            "best_accuracy": [summary["best_accuracy_mean"], summary["best_accuracy_std"]]}


def significant_comparison(a: dict[str, Any], b: dict[str, Any], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """``a`` vs ``b`` (tables of :func:`kernel_table`): difference of rates, widths, relation."""
    diff = newcombe_difference(a["diverged"], a["runs"], b["diverged"], b["runs"], confidence)
    wa, wb = a["width"], b["width"]
    better = diff["high"] < 0 or wa["low"] > wb["high"]
    worse = diff["low"] > 0 or wa["high"] < wb["low"]
    relation = "mixed" if better and worse else "more" if better else "less" if worse else "undetermined"
    return {"relation": relation, "rate_difference": diff, "width_a": wa, "width_b": wb}


def design_power(baseline: dict[str, Any], runs: int, alpha: float = ALPHA, power: float = POWER) -> dict[str, Any]:
    """The effects this design (``runs`` per kernel) detects against ``baseline``'s divergence rate."""
    p0 = baseline["rate"]
    down = minimum_detectable_difference(p0, runs, baseline["runs"], -1, alpha, power)
    up = minimum_detectable_difference(p0, runs, baseline["runs"], +1, alpha, power)
    seeds = baseline["by_lr"][0]["seeds"] if baseline["by_lr"] else 0
    return {"baseline_rate": p0, "runs": runs, "alpha": alpha, "power": power,
            "mde_reduction": down["delta"], "mde_increase": up["delta"],
            "power_against_zero": power_two_proportions(0.0, p0, runs, baseline["runs"], alpha),
            "seeds_per_lr": seeds, "seeds_to_certify_width": seeds_to_certify(QUORUM, 1 - alpha)}


def setting_table(name: str, summaries: dict[str, dict[str, Any]], baseline: str, reference: str,
                  compared: tuple[str, ...]) -> dict[str, Any]:
    """Every kernel's table, each compared kernel against ``baseline`` and ``reference``, and the power."""
    tables = {k: kernel_table(v) for k, v in summaries.items()}
    comparisons = {}
    for label in compared:
        if label in tables:
            comparisons[label] = {"vs_" + baseline: significant_comparison(tables[label], tables[baseline]),
                                  "vs_" + reference: significant_comparison(tables[label], tables[reference])}
    runs = min(t["runs"] for t in tables.values())
    return {"setting": name, "tables": tables, "comparisons": comparisons,
            "power": design_power(tables[baseline], runs)}
