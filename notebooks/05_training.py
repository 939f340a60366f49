# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Training: does CSQ train like softmax, and is it the same landscape? (T5, T6 stability, T8)
#
# This notebook plots what `theorem.training` computes. The heavy numbers — the stability sweep
# (kernels × 10 seeds × a 0.25-decade learning-rate grid; the record names its profile, settings and kernels) and the full
# hypothesis-6.2 probe — are experiment records with provenance, made by
#
# ```
# python -c "from theorem.experiments.stability import run_medium; run_medium()"  # → records/stability.json (profile medium)
# python -m theorem.experiments depth          # → theorem/data/records/depth.json
# ```
#
# (or `make data`) and loaded here; everything else runs live (a few seconds each).
#
# **The reading of "stabilizes training"** (fixed before the sweep was run; definitions in
# `theorem/training/stability.py`, the rule in `theorem/claims/t6_stability.py`): a run *diverges* when its loss or gradient becomes NaN/Inf
# or its final loss exceeds 1.5× its initial loss; it *trains* when it does not diverge and its
# held-out accuracy is at least half-way from chance to 1; a learning rate is *trainable* when
# ≥ 80 % of seeds train there, and the *trainable width* is the length of the longest run of
# trainable grid points (in decades). CSQ stabilizes training if, trained with its soft
# penalty, it diverges less often or trains over a wider range than poly2 — no centering, no
# shift — and is not less stable than softmax, on every setting. A difference counts only when
# its 95 % interval separates the kernels (Newcombe's interval for a difference of divergence
# rates, Wilson brackets for the widths); when none does, the verdict is open and states the
# smallest effect the design could have detected (α = 0.05, power 0.8;
# `theorem/training/statistics.py`, `theorem/training/stability_power.py`).

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from theorem.claims.ledger import Evidence
from theorem.claims.t5_landscape import PANEL_A, _dims
from theorem.claims.t6_stability import judge
from theorem.claims.t8_algebra import growth, rule_dimension
from theorem.claims.t8_depth import classify_pattern, describe_controls
from theorem.experiments.records import require_record
from theorem.kernels import get_kernel
from theorem.training.function_class import nonmonotone_gaps, row_weights
from theorem.training.gradient_scale import gradient_scaling
from theorem.training.landscape import compare_landscapes
from theorem.training.statistics import wilson_interval
from theorem.training.sweep import recompute_summaries

jax.config.update("jax_enable_x64", True)  # this notebook's own computations in float64
COLORS = {"softmax": "C0", "linear": "C7", "poly2": "C3", "csq": "C2", "csq+penalty": "C1"}

stability = require_record("stability")
sweep = recompute_summaries(stability["result"])
print("record 'stability', profile", stability["profile"], {k: stability["provenance"][k]
                                                            for k in ("command", "git_commit", "date", "seconds")})
print("settings:", "; ".join(f"{s['name']} ({s['task']}): {', '.join(s['kernels'])} × {len(s['seeds'])} seeds × "
                             f"{len(s['lrs'])} learning rates" for s in sweep["settings"]))

# %% [markdown]
# ## T6 · the stability sweep
#
# Per setting: the fraction of seeds that diverged at each learning rate, with its 95 % Wilson
# interval (it stays inside [0, 1]), and the held-out accuracy (mean over seeds; bars: the lowest
# and highest seed). Dotted: the accuracy a run must reach to count as trained.

# %%
settings = sweep["settings"]
fig, axes = plt.subplots(2, len(settings), figsize=(4.2 * len(settings), 6.5), sharex="col", squeeze=False)
for col, rec in enumerate(settings):
    lrs = np.asarray(rec["lrs"])
    for j, (label, k) in enumerate(rec["kernels"].items()):
        s = k["summary"]
        x = lrs * 10 ** (0.03 * (j - 2))  # a small offset per kernel so the bars do not overlap
        frac = np.asarray(s["diverged_by_lr_count"]) / s["seeds"]
        ci = np.asarray([wilson_interval(int(c), s["seeds"]) for c in s["diverged_by_lr_count"]])
        err = np.clip([frac - ci[:, 0], ci[:, 1] - frac], 0.0, None)  # 0 at a bound reached (round-off aside)
        axes[0, col].errorbar(x, frac, yerr=err, fmt="o-", color=COLORS[label],
                              label=label, ms=3, capsize=1.5, lw=1, elinewidth=0.6, alpha=0.8)
        acc = np.asarray(k["runs"]["eval_acc"], dtype=float)  # [seed, lr]
        mean = acc.mean(axis=0)
        axes[1, col].errorbar(x, mean, yerr=[mean - acc.min(axis=0), acc.max(axis=0) - mean], fmt="o-",
                              color=COLORS[label], ms=3, capsize=1.5, lw=1, elinewidth=0.6, alpha=0.8)
    axes[0, col].set_title(f"{rec['name']}\n{rec['note']}", fontsize=8)
    axes[1, col].axhline(rec["kernels"]["softmax"]["summary"]["accuracy_threshold"], color="k", lw=0.5, ls=":")
    for r in (0, 1):
        axes[r, col].set_xscale("log")
        axes[r, col].set_ylim(-0.03, 1.03)
    axes[1, col].set_xlabel("learning rate")
axes[0, 0].set_ylabel("seeds diverged\n(fraction, 95 % Wilson)")
axes[1, 0].set_ylabel("held-out accuracy\n(mean, min–max of seeds)")
axes[0, 0].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# The summary numbers the rule uses, per setting and kernel.

# %%
for rec in settings:
    print(f"{rec['name']}: {rec['task']}, {rec['note']}, {len(rec['seeds'])} seeds × {len(rec['lrs'])} learning rates, "
          f"{rec['train']['steps']} steps")
    print(f"  {'kernel':12s} {'diverged':>9s} {'width':>6s} {'best acc':>14s} {'best lr':>8s} "
          f"{'grad med':>9s} {'grad p99':>9s} {'spikes':>7s}")
    for label, k in rec["kernels"].items():
        s = k["summary"]
        print(f"  {label:12s} {s['divergence_rate']:9.2f} {s['trainable_width_decades']:6.1f} "
              f"{s['best_accuracy_mean']:7.3f}±{s['best_accuracy_std']:.3f} {s['best_lr']:8.3g} "
              f"{s['grad_median']:9.3g} {s['grad_p99_median']:9.3g} {s['spike_fraction_mean']:7.3f}")

# %% [markdown]
# The rule on the recorded sweep: every kernel's divergence count with its Wilson interval (softmax
# first), the differences CSQ − poly2 and CSQ − softmax with Newcombe's interval, the width brackets,
# and the smallest effect the design could detect.

# %%
verdict = judge([{"name": r["name"], "summaries": {k: v["summary"] for k, v in r["kernels"].items()}}
                 for r in settings])
for row in verdict["rows"]:
    order = [k for k in ("softmax", "poly2", "csq", "csq+penalty", "linear") if k in row["tables"]]  # softmax first
    print(row["setting"])
    print(f"  {'kernel':12s} {'diverged':>9s} {'95% CI':>16s} {'width (dec)':>12s} {'bracket':>12s}")
    for label in order:
        t = row["tables"][label]
        w = t["width"]
        print(f"  {label:12s} {t['diverged']:>4d}/{t['runs']:<4d} [{t['interval'][0]:.3f}, {t['interval'][1]:.3f}]"
              f" {w['width']:12.2f} [{w['low']:.2f}, {w['high']:.2f}]")
    for label, comp in row["comparisons"].items():
        for vs, c in comp.items():
            d = c["rate_difference"]
            print(f"  {label} − {vs[3:]}: {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] → {c['relation']}")
    pw = row["power"]
    print(f"  power: smallest detectable reduction of poly2's rate {pw['mde_reduction']} (power against 0: "
          f"{pw['power_against_zero']:.2f}), increase {pw['mde_increase']}; seeds per lr {pw['seeds_per_lr']} "
          f"(≥ {pw['seeds_to_certify_width']} needed to certify a width)")
print("\nverdict of the rule on the recorded sweep:", verdict["verdict"])
if verdict.get("corrected"):
    print("corrected:", verdict["corrected"])

# %% [markdown]
# Training curves (mean over seeds of the loss, log scale) at three learning rates of the first
# setting; diverged runs leave the plot.

# %%
rec = settings[0]
lrs = np.asarray(rec["lrs"])
picks = [1, len(lrs) // 2, len(lrs) - 2]
fig, axes = plt.subplots(1, len(picks), figsize=(12, 3.2), sharey=True)
for ax, li in zip(axes, picks):
    for label, k in rec["kernels"].items():
        curves = np.asarray(k["curves"]["loss"], dtype=object)[:, li].astype(float)
        with np.errstate(invalid="ignore"):
            ax.plot(np.nanmean(np.where(np.isfinite(curves), curves, np.nan), axis=0), color=COLORS[label], label=label)
    ax.set_yscale("log")
    ax.set_title(f"{rec['name']}, lr = {lrs[li]:.3g}", fontsize=9)
    ax.set_xlabel(f"training progress (1/{len(curves[0])} of the run)")
axes[0].set_ylabel("training loss")
axes[0].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## T6 · the mechanism: poly2's gradient singularity, and CSQ's shift
#
# Scaling `W_Q, W_K` by α scales the scores by α². poly2's weights are homogeneous of degree 0
# in the scores, so its query–key gradient is exactly `g(1)/α`; with a shift `c > 0` (and for
# softmax) the weights are smooth at `S = 0` and the gradient is `α·C + O(α³)`, with `C` from the
# Jacobian at `S = 0`. Measured (markers) beside the closed forms (lines):

# %%
alphas = np.logspace(-4, 0, 9)
fig, ax = plt.subplots(figsize=(5.5, 4))
for (name, params), color in zip(
    [("softmax", {}), ("poly2", {}), ("csq", {"shift": 1.0}), ("csq", {"shift": 1.0, "center": False}),
     ("csq", {"shift": 0.0})], ["C0", "C3", "C2", "C8", "C5"]):
    r = gradient_scaling(name, params, alphas)
    ax.loglog(alphas, r["measured"], "o", color=color, ms=4, label=r["kernel"])
    ax.loglog(alphas, r["predicted"], "-", color=color, lw=0.8)
    small = [e for a, e in zip(alphas, r["relative_error"]) if a <= 1e-2]
    print(f"{r['kernel']:28s} max relative error vs closed form at α ≤ 1e-2: {max(small):.1e}")
ax.set_xlabel("α (scores scale as α²)")
ax.set_ylabel("‖∂ℓ/∂W_Q‖")
ax.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## T5.a · the same dimension?
#
# The pulled-back gradient space of the weights map (θ = M), measured (dense Jacobian rank)
# beside its closed form, on generic tokens and on tokens with a constant column:

# %%
for label, make in PANEL_A + (("minimal X = (1, −1)ᵀ", lambda: np.array([[1.0], [-1.0]])),):
    dims = _dims(make())
    print(f"{label:24s} " + "  ".join(f"{k}: {v['measured']} (closed form {v['predicted']})" for k, v in dims.items()))

# %% [markdown]
# ## T5.b · the same function class?
#
# Left: on collinear keys `t = −2…2` CSQ (c = 1, m = 1) produces the non-monotone row
# `(1, 0, 1, 4, 9)/15`; softmax rows are monotone in the score for every `m`, so no softmax row
# comes closer than 1/15 in L1 (measured best shown); poly2 rows are `∝ t²` whatever `m` is.
# Right: with a key and its antipode (`x₁ = −x₀`), poly2 gives both the same weight for every
# `M`; softmax approaches the one-hot row as `‖M‖` grows; CSQ reaches it exactly.

# %%
nm = nonmonotone_gaps(grid=4001)
t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
target_row = np.array([1, 0, 1, 4, 9]) / 15
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(t, target_row, "ks-", label="target: CSQ at m = 1", ms=6)
for key, name, color in (("softmax", "softmax", "C0"), ("poly2", "poly2", "C3")):
    m = nm[key]["argmin_m"]
    row = np.asarray(row_weights(get_kernel(name), jnp.asarray(t[:, None]), jnp.full((1, 1), m), 3))
    axes[0].plot(t, row, "o-", color=color, label=f"best {name} (L1 gap {nm[key]['gap']:.3f})")
axes[0].set_xlabel("key t_j")
axes[0].set_ylabel("weight")
axes[0].legend(fontsize=7)
x2 = np.array([[1.0], [-1.0]])
ms = np.linspace(0, 6, 200)
for name, params, color in (("softmax", {}, "C0"), ("poly2", {}, "C3"), ("csq", {"shift": 1.0}, "C2")):
    kern = get_kernel(name, **params)
    w = [float(row_weights(kern, jnp.asarray(x2), jnp.full((1, 1), m), 0)[0]) for m in ms]
    axes[1].plot(ms, w, color=color, label=kern.describe())
axes[1].set_xlabel("m (M = m, X = (1, −1)ᵀ)")
axes[1].set_ylabel("weight on key x₀ from query x₀")
axes[1].legend(fontsize=7)
fig.tight_layout()
print({k: v for k, v in nm.items() if k in ("softmax", "poly2", "csq(shift=1, center=True)", "predicted")})

# %% [markdown]
# ## T5.c · the same landscape?
#
# One head, θ = M (3×3), a softmax teacher. At the same point `M₀` for every kernel: the
# Hessian spectra, the loss along the ray `αM₀` (poly2: exactly flat — its loss is homogeneous
# of degree 0) and along random directions. poly2 obeys the Euler identity `H·M = −∇L`, so every
# one of its critical points is degenerate; softmax's zero-residual minimum is not
# (`λ_min(H) = σ_min(J)²/n`, Gauss–Newton).

# %%
land = compare_landscapes(n=6, d=3, seed=0)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
for i, (k, v) in enumerate(land["kernels"].items()):
    color = ["C0", "C3", "C2"][i]
    eig = np.asarray(v["at_matched_point"]["eigenvalues"])
    axes[0].plot(np.arange(eig.size) + 0.1 * i, eig, "o", color=color, label=k)
    axes[1].plot(v["at_matched_point"]["ray_scales"], v["at_matched_point"]["ray"], color=color, label=k)
    for j, sl in enumerate(v["at_matched_point"]["slices"]):
        axes[2].plot(land["ts"], sl, color=color, alpha=0.8, label=k if j == 0 else None)
axes[0].set_yscale("symlog", linthresh=1e-3)
axes[0].set_title("Hessian eigenvalues at M₀", fontsize=9)
axes[0].set_xlabel("eigenvalue index (ascending)")
axes[0].set_ylabel("eigenvalue of ∇²L (symlog)")
axes[1].set_title("loss along the ray α·M₀", fontsize=9)
axes[1].set_xlabel("α")
axes[1].set_ylabel("loss L(α·M₀)")
axes[2].set_title("loss along 3 random directions through M₀", fontsize=9)
axes[2].set_xlabel("t (step t·‖M₀‖)")
axes[2].set_ylabel("loss L(M₀ + t·‖M₀‖·u)")
for ax in axes:
    ax.legend(fontsize=7)
fig.tight_layout()
for k, v in land["kernels"].items():
    a, b = v["at_matched_point"], v["at_minimum"]
    print(f"{k:28s} at M₀: Euler residual {a['euler_residual']:.1e}, ray variation {a['ray_variation']:.1e}; "
          f"at its minimum: L = {b['loss']:.2e}, λ_min = {b['eigenvalues'][0]:.2e}, ‖HM‖/(‖H‖‖M‖) = {b['null_ratio']:.1e}")
print("Gauss–Newton λ_min for softmax:", land["kernels"]["softmax"]["gauss_newton_lambda_min"])

# %% [markdown]
# ## T8 · hypothesis 6.2: stacked quadratic attention vs degree-2^L attention
#
# Held-out residual (fraction of target energy not explained) of `L` stacked poly2 layers fitted
# by Adam to degree-`p` polynomial attention, **every restart** shown (dots) beside the best (line).
# One layer realises `p = 2` exactly at every width ≥ 2d (the construction is checked in
# `checks/test_t8_depth.py`; further layers with `W_V = 0` keep it), so every `p = 2` cell is a
# control of the optimizer: the table below lists each control at each depth and width with how
# many restarts fit it.  A failed control makes the pattern `optimizer-unreliable`.

# %%
depth = require_record("depth")
probe = depth["result"]
pattern = classify_pattern(probe)  # the ledger's rule applied to the recorded table
print("record 'depth':", {k: depth["provenance"][k] for k in ("command", "git_commit", "date", "seconds")})
table = np.asarray(probe["residual"], dtype=float)
restarts = np.asarray(probe["residual_restarts"], dtype=float) if "residual_restarts" in probe else None
fig, axes = plt.subplots(1, len(probe["widths"]), figsize=(5 * len(probe["widths"]), 3.6), squeeze=False)
for k, w in enumerate(probe["widths"]):
    ax = axes[0, k]
    for i, p in enumerate(probe["degrees"]):
        ax.semilogy(probe["depths"], np.maximum(table[i, :, k], 1e-18), "o-", color=f"C{i}", label=f"p = {p} (best)")
        if restarts is not None:
            for j, L in enumerate(probe["depths"]):
                ax.semilogy(np.full(restarts.shape[3], L + 0.06 * (i - 1)), np.maximum(restarts[i, j, k], 1e-18),
                            ".", color=f"C{i}", alpha=0.5)
    ax.set_xticks(probe["depths"])
    ax.set_xlabel("depth L")
    ax.set_title(f"width {w} (n = {probe['n']}, d = {probe['d']})", fontsize=9)
axes[0, 0].set_ylabel("held-out residual (dots: each restart)")
axes[0, 0].legend(fontsize=7)
fig.tight_layout()
print(f"pattern: {pattern['pattern']}")
print(f"{'control (p = 2)':16s} {'best residual':>14s} {'restarts fit':>13s}  fitted (≤ {pattern['realizable_threshold']:g})")
for c in pattern["controls"]:
    print(f"L = {c['depth']}, w = {c['width']:<6d} {c['residual']:14.2e} "
          f"{(str(c['restarts_fitted']) + '/' + str(c['restarts'])) if 'restarts' in c else '—':>13s}  {c['fitted']}")
for c in pattern["checks"]:
    print(f"  p = {c['degree']}: depth {c['depth']} → {c['residual_at_log2p']:.2e}, depth {c['depth'] - 1} → "
          f"{c['residual_at_one_less']:.2e}")
print(describe_controls(pattern))

# %% [markdown]
# ## T8 · the exact-algebra probe: function-space dimensions as L grows
#
# The dimension of a family's function space is the generic rank of the Jacobian of its outputs (on
# many token matrices) with respect to its parameters: float64 rank (tolerance, gap) at dyadic
# points, and the exact rank over Q at one dyadic point (python-flint) — a certified lower bound.
# Degree-`p` attention: `2d² − 1` for every `p` (upper bound proved in
# `theorem/symbolic/function_dimension.py`); one quadratic layer `3d² − 1`; beyond one layer the
# counts are measured only.  A dimension is a necessary condition for containment only (reading
# T8.dimension).

# %%
fdim = require_record("function_dimension")
rows = fdim["result"]["rows"]
print("record 'function_dimension':", {k: fdim["provenance"][k] for k in ("command", "git_commit", "date", "seconds")})
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, d in zip(axes, sorted({r["d"] for r in rows})):
    for i, g in enumerate(x for x in growth(rows) if x["d"] == d):
        Ls = sorted(g["dims"])
        ax.plot(Ls, [g["dims"][L] for L in Ls], "o-", color=f"C{i + 3}", label=f"stack, w = {g['width']} (float64)")
        ex = [(r["depth"], r["exact"]["exact_rank"]) for r in rows
              if r["family"] == "stack" and r["d"] == d and r["width"] == g["width"] and r["exact"]]
        if ex:
            ax.plot(*zip(*ex), "kx", ms=8)
    polys = [r for r in rows if r["family"] == "poly" and r["d"] == d]
    ax.axhline(polys[0]["closed_form"], color="C0", ls="--", lw=1,
               label=f"degree-p attention, p ∈ {[r['p'] for r in polys]}: {[r['float_rank'] for r in polys]} "
               f"(2d² − 1 = {polys[0]['closed_form']})")
    ax.set_xticks(sorted({r["depth"] for r in rows if r["family"] == "stack"}))
    ax.set_xlabel("depth L")
    ax.set_title(f"d = {d}, n = {fdim['result']['n']} (×: exact rank over Q)", fontsize=9)
    ax.set_yscale("log")
    ax.legend(fontsize=7)
axes[0].set_ylabel("function-space dimension")
fig.tight_layout()
for g in growth(rows):
    print(f"d = {g['d']}, w = {g['width']}: dims {g['dims']}, increments {g['increments']}, "
          f"2w² − 1 = {g['full_stream_increment']}")
out = rule_dimension([Evidence("record", "recorded", None, fdim["result"], key="record.function_dimension")])
print(out.verdict.value, "—", out.because)
