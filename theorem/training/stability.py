"""Stability statistics of a grid of training runs, and the comparison rule.

The statistics of the reading of "stabilizes training" (claim T6), fixed before the sweep was run
(the verdict rule that uses them lives in :mod:`theorem.claims.t6_stability`):

* a run **diverges** when its loss or gradient is ever non-finite (NaN/Inf), or when its final
  training loss (mean over the last 10 % of steps) exceeds ``BLOWUP_FACTOR = 1.5`` times its
  loss at step 0 (it ended worse than it started: a blow-up);
* a run **trains** when it does not diverge and its held-out accuracy reaches
  ``chance + ½(1 − chance)`` (half-way from chance to perfect);
* a learning rate is **trainable** when at least ``QUORUM = 80 %`` of its seeds train; the
  **trainable width** is the number of grid points in the longest contiguous run of trainable
  learning rates times the grid spacing (decades): each grid point stands for its cell;
* kernel ``a`` is **more stable** than kernel ``b`` on a setting when its divergence rate is
  lower by more than the margin ``m`` or its trainable width is larger by at least one grid
  step, and it is not worse on the other count; **less stable** in the mirror case; **as
  stable** when neither difference passes its threshold; **mixed** when one is better and the
  other worse.  ``m = max(1/N, 2·sqrt(2·p̄(1 − p̄)/N))`` for ``N`` runs per kernel and pooled rate
  ``p̄`` — twice the standard error of a difference of two proportions.

Gradient-norm statistics (median, 99th percentile, spike fraction: steps whose norm exceeds
10× the run's median) and the accuracy at the best learning rate (mean ± std over seeds) are
reported beside these; they do not enter the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "BLOWUP_FACTOR",
    "QUORUM",
    "run_stats",
    "summarize",
    "compare",
    "divergence_margin",
]

BLOWUP_FACTOR = 1.5
QUORUM = 0.8
FINAL_WINDOW = 0.1
SPIKE_FACTOR = 10.0


def run_stats(loss: np.ndarray, grad_norm: np.ndarray, eval_acc: np.ndarray) -> dict[str, np.ndarray]:
    """Per-run numbers from histories ``loss, grad_norm [..., steps]`` and ``eval_acc [...]``."""
    loss = np.asarray(loss, dtype=np.float64)
    gn = np.asarray(grad_norm, dtype=np.float64)
    if loss.shape != gn.shape or loss.ndim < 1 or loss.shape[-1] < 2:
        raise ValueError(f"loss and grad_norm must have equal shapes [..., steps ≥ 2], got {loss.shape}, {gn.shape}")
    steps = loss.shape[-1]
    window = max(1, int(round(FINAL_WINDOW * steps)))
    nonfinite = ~np.all(np.isfinite(loss), axis=-1) | ~np.all(np.isfinite(gn), axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):
        final = np.mean(loss[..., -window:], axis=-1)
        gn_f = np.where(np.isfinite(gn), gn, np.nan)
        med = np.nanmedian(gn_f, axis=-1) if np.any(np.isfinite(gn_f)) else np.full(loss.shape[:-1], np.nan)
        spikes = np.nanmean(gn_f > SPIKE_FACTOR * med[..., None], axis=-1)
        p99 = np.nanpercentile(gn_f, 99, axis=-1)
        gmax = np.nanmax(gn_f, axis=-1)
    return {
        "initial_loss": loss[..., 0],
        "final_loss": np.where(np.isfinite(final), final, np.inf),
        "nonfinite": nonfinite,
        "eval_acc": np.where(np.isfinite(eval_acc), eval_acc, 0.0),
        "grad_init": gn[..., 0],
        "grad_median": med,
        "grad_p99": p99,
        "grad_max": gmax,
        "spike_fraction": spikes,
    }


def _longest_true_run(flags: np.ndarray) -> tuple[int, int | None]:
    """Length and start index of the longest run of True."""
    best, best_start, cur, start = 0, None, 0, 0
    for i, f in enumerate(flags):
        if f:
            if cur == 0:
                start = i
            cur += 1
            if cur > best:
                best, best_start = cur, start
        else:
            cur = 0
    return best, best_start


def summarize(stats: dict[str, Any], lrs, chance: float) -> dict[str, Any]:
    """Divergence rate, trainable width, gradient and accuracy statistics of one kernel.

    ``stats`` holds per-run arrays indexed ``[seed, lr]`` as :func:`run_stats` returns them.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.ndim != 1 or lrs.size < 1 or np.any(lrs <= 0):
        raise ValueError(f"lrs must be a non-empty list of positive learning rates, got {lrs}")
    if not 0.0 <= chance < 1.0:
        raise ValueError(f"chance must be in [0, 1), got {chance}")
    get = lambda k: np.asarray(stats[k], dtype=np.float64)  # noqa: E731
    nonfinite = np.asarray(stats["nonfinite"], dtype=bool)
    final, init, acc = get("final_loss"), get("initial_loss"), get("eval_acc")
    if final.shape != (final.shape[0], lrs.size):
        raise ValueError(f"per-run arrays must be [seeds, {lrs.size}], got {final.shape}")
    with np.errstate(invalid="ignore"):
        blowup = ~nonfinite & ~(final <= BLOWUP_FACTOR * init)
    diverged = nonfinite | blowup
    threshold = chance + 0.5 * (1.0 - chance)
    trains = ~diverged & (acc >= threshold)
    per_lr_train = trains.mean(axis=0)
    trainable = per_lr_train >= QUORUM
    spacing = float(np.median(np.diff(np.log10(lrs)))) if lrs.size > 1 else 1.0
    length, start = _longest_true_run(trainable)
    acc_mean = acc.mean(axis=0)
    best = int(np.argmax(acc_mean))
    finite_runs = ~nonfinite
    pick = lambda k: get(k)[finite_runs]  # noqa: E731
    gstat = lambda k, f: float(f(pick(k))) if finite_runs.any() else float("nan")  # noqa: E731
    return {
        "runs": int(diverged.size),
        "seeds": int(diverged.shape[0]),
        "lrs": lrs.tolist(),
        "diverged_runs": int(diverged.sum()),
        "diverged_by_lr_count": diverged.sum(axis=0).astype(int).tolist(),
        "train_count_by_lr": trains.sum(axis=0).astype(int).tolist(),
        "divergence_rate": float(diverged.mean()),
        "nonfinite_rate": float(nonfinite.mean()),
        "blowup_rate": float(blowup.mean()),
        "divergence_by_lr": diverged.mean(axis=0).tolist(),
        "train_fraction_by_lr": per_lr_train.tolist(),
        "trainable": trainable.tolist(),
        "trainable_width_decades": length * spacing,
        "trainable_lr_range": None if start is None else [float(lrs[start]), float(lrs[start + length - 1])],
        "grid_spacing_decades": spacing,
        "accuracy_threshold": threshold,
        "best_lr": float(lrs[best]),
        "best_accuracy_mean": float(acc_mean[best]),
        "best_accuracy_std": float(acc[:, best].std(ddof=1)) if acc.shape[0] > 1 else 0.0,
        "accuracy_mean_by_lr": acc_mean.tolist(),
        "accuracy_std_by_lr": (acc.std(axis=0, ddof=1) if acc.shape[0] > 1 else np.zeros(lrs.size)).tolist(),
        "grad_init_median": gstat("grad_init", np.median),
        "grad_median": gstat("grad_median", np.median),
        "grad_p99_median": gstat("grad_p99", np.median),
        "grad_max": gstat("grad_max", np.max),
        "spike_fraction_mean": gstat("spike_fraction", np.mean),
    }


def divergence_margin(rate_a: float, rate_b: float, runs: int) -> float:
    """``max(1/N, 2·sqrt(2·p̄(1 − p̄)/N))``: two standard errors of a difference of proportions."""
    if runs < 1:
        raise ValueError(f"runs must be ≥ 1, got {runs}")
    pooled = 0.5 * (rate_a + rate_b)
    return max(1.0 / runs, 2.0 * math.sqrt(2.0 * pooled * (1.0 - pooled) / runs))


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Is kernel ``a`` more / as / less stable than ``b`` (summaries from :func:`summarize`)?"""
    runs = min(a["runs"], b["runs"])
    margin = divergence_margin(a["divergence_rate"], b["divergence_rate"], runs)
    step = max(a["grid_spacing_decades"], b["grid_spacing_decades"])
    d_rate = a["divergence_rate"] - b["divergence_rate"]
    d_width = a["trainable_width_decades"] - b["trainable_width_decades"]
    better = d_rate < -margin or d_width >= step - 1e-9
    worse = d_rate > margin or d_width <= -step + 1e-9
    verdict = "mixed" if better and worse else "more" if better else "less" if worse else "same"
    return {
        "relation": verdict,
        "divergence_rate_difference": d_rate,
        "margin": margin,
        "width_difference_decades": d_width,
        "grid_step_decades": step,
    }
