# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # T4, T6, R4 — matching, monotonicity, contrast, and the low-rank bottleneck
#
# The paper says softmax creates a "Euclidean matching" structure that linear attention destroys
# (T4), and that CSQ keeps it (T6); the discussion adds that a small head dimension cannot resolve
# fine-grained patterns (R4).  "Euclidean matching" is never defined, so the checker tests precise
# readings, each a property of a kernel at one fixed query:
#
# * **(a) dot-product monotonicity**: a key with a larger q·k never gets less weight;
# * **(b) Euclidean matching**: a nearer key (smaller ‖q − k‖) never gets less weight;
# * **(c)** the identity softmax(q·k) = softmax(−‖q−k‖²/2 + ‖k‖²/2), and its absence for the polynomial kernels;
# * **(d) contrast**: the smallest score gap giving the best of n keys half of the mass;
# * **(e)** what each part of CSQ (centering, shift c, soft penalty) contributes.
#
# Everything below is computed by the `theorem` library; the notebook only calls it and plots.
# The heavy sweeps are experiment records (`theorem/data/records/matching_*.json`, with their
# provenance); regenerate one with `python -m theorem.experiments matching_rates` (or `make data`).

# %%
import jax
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from IPython.display import Markdown, Math, display

from theorem.claims.t4_matching import property_outcome
from theorem.claims.t4e_causal import MIN_GAP, causal_summary
from theorem.experiments.records import require_record
from theorem.kernels import KERNELS
from theorem.numeric import bottleneck as bn
from theorem.numeric import matching as nm
from theorem.symbolic import matching as sm
from theorem.util.precision import x64


def record_rows(name):
    """The rows of record ``name`` and a one-line note of where they come from."""
    rec = require_record(name)
    prov = rec["provenance"]
    display(Markdown(f"*record `{name}`: {rec['profile']} profile, {prov['date']}, commit `{str(prov['git_commit'])[:10]}`"
                     + (f", converted from `{prov['converted_from']}`" if prov.get("converted_from") else "") + "*"))
    return rec["result"]["rows"]


# %% [markdown]
# ## 1. The identity (c), derived now
#
# For every d (indexed sums) the dot product is the RBF score plus a key-norm term plus a term in
# the query alone, which softmax's shift invariance removes:

# %%
ident = sm.softmax_rbf_identity()
display(Math(ident.statement_latex))
display(Markdown(f"holds: `{ident.holds}` — {ident.detail}"))
rows = []
for name in sm.FACTORIZATION_KERNELS:
    f = sm.factorization(name)
    rows.append(f"| {name} | `{f.weight}` | `{f.mixed_partial}` | {f.factors if f.splits else 'no'} |")
display(Markdown("| kernel | weight f(t) | ∂r∂ρ log f | RBF × key-norm factorization |\n|---|---|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# Softmax's weight is an RBF weight times a per-key factor exp(‖k‖²/(2√d_k)); the polynomial
# kernels have a nonzero mixed partial, so no such identity exists for them.

# %% [markdown]
# ## 2. Weight against distance, per kernel
#
# One query q (d_k = 2), 300 Gaussian keys (colour: key norm), weight (relative to the largest)
# against ‖q − k‖.  A kernel with Euclidean matching draws a decreasing curve; the key-norm term of
# softmax spreads the cloud.  Black: 200 keys on a circle (equal norms, a separate key set), where
# the score kernels that increase with the score draw a decreasing curve again, and the quadratic
# ones turn back up past their vertex.

# %%
rng = np.random.default_rng(3)
q = np.array([1.2, 0.4])
keys = rng.standard_normal((300, 2)) * 1.3
theta = np.linspace(0, 2 * np.pi, 200, endpoint=False)
circle = 1.3 * np.stack([np.cos(theta), np.sin(theta)], axis=1)
names = list(KERNELS)
fig, axes = plt.subplots(2, 4, figsize=(15, 6.5))
for ax, name in zip(axes.flat, names):
    kern = KERNELS[name]
    w = nm.query_weights(kern, q, keys)
    sc = ax.scatter(np.linalg.norm(keys - q, axis=1), w / w.max(), c=np.linalg.norm(keys, axis=1), s=8, cmap="viridis",
                    label="Gaussian keys")
    wc = nm.query_weights(kern, q, circle)
    ax.plot(np.linalg.norm(circle - q, axis=1), wc / wc.max(), "k.", ms=2, label="keys on a circle")
    ax.set_title(name)
    ax.set_xlabel("‖q − k‖")
    ax.set_yscale("log")
axes[0, 0].legend(fontsize=8)
axes.flat[-1].axis("off")
fig.colorbar(sc, ax=axes.flat[-1], label="‖k‖")
axes[0, 0].set_ylabel("weight / largest weight")
axes[1, 0].set_ylabel("weight / largest weight")
fig.tight_layout()

# %% [markdown]
# ## 3. Kernel × reading: verdicts and minimal counterexamples
#
# Each row is one of the ledger's readings: the recorded searches of the full profile (Hypothesis with
# `target()` steering toward reversals, then again under the conditions the derivations name), judged
# by the ledger's own rule.

# %%
lines = ["| reading | verdict | minimal counterexample (q; keys → weights) |", "|---|---|---|"]
for p in record_rows("matching_properties"):
    outcome = property_outcome(p["kernel"], p["reading"], p["unconditional"], p["conditional"])
    c = outcome.counterexample
    cex = "—" if not c else f"q = {c['q']}; keys = {c['keys']} → {np.round(c['weights'], 3).tolist()}"
    lines.append(f"| {p['id']} | **{outcome.verdict.value}** | {cex} |")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## 4. Contrast: the half-mass gap against n
#
# Best key at score L + Δ, n − 1 distractors at L.  Lines: the closed forms SymPy derived
# (`theorem.symbolic.matching.contrast_gap`); markers: the gap measured by bisection on each
# kernel's weights.  Softmax needs log(n − 1) at every level; CSQ ~ c√n; poly2 ~ |L|√n; elu+1
# needs (n − 2)(1 + L) for L ≥ 0 but only log(n − 1) deep in its exponential branch.

# %%
contrast = record_rows("matching_contrast")
fig, ax = plt.subplots(figsize=(8, 5.5))
grid = np.unique(np.round(np.geomspace(3, 1000, 60)).astype(int))
for i, (name, levels) in enumerate(nm.CONTRAST_LEVELS.items()):
    for j, level in enumerate(levels):
        closed = [sm.contrast_gap_value(name, int(n), level) for n in grid]
        pts = [r for r in contrast if r["kernel"] == name and r["level"] == level]
        label = f"{name}, L = {level:g}"
        line, = ax.plot(grid, closed, ls="-" if j == 0 else "--", lw=1, label=label)
        ax.plot([r["n"] for r in pts], [r["measured"] for r in pts], "o", color=line.get_color(), ms=4)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("n (keys)")
ax.set_ylabel("half-mass gap Δ*")
ax.legend(fontsize=8, ncol=2)
ax.set_title("contrast: closed form (lines) vs measured (markers)")
worst = max(r["rel_error"] for r in contrast)
display(Markdown(f"Largest relative difference, measured vs closed form: **{worst:.1e}**"))
for name in ("softmax", "poly2", "csq", "csq-uncentered", "linear"):
    display(Markdown(f"**{name}**: $\\Delta^* = {sp.latex(sm.contrast_gap(name).expr)}$ — {sm.contrast_gap(name).asymptotic}"))

# %% [markdown]
# ## 5. CSQ: where (a) and (b) fail, and what the penalty does
#
# For a quadratic kernel two keys with s_i > s_j are reversed exactly when t_i + t_j < 0
# (t = s̃ + c): below the anti-diagonal in the (t_i, t_j) plane.  Realistic inputs (layer-norm
# scale queries, Gaussian keys, n = 32, d_k = 16), one draw, CSQ with c = 1:

# %%
with x64():
    qs, ks = (np.asarray(a) for a in nm.draw_inputs(jax.random.PRNGKey(0), 32, 16, 0.0, "layernorm"))
kern = KERNELS["csq"]
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
ti, tj, rev = [], [], []
for row in range(8):
    case = nm.MatchingCase(np.asarray(qs[row]), np.asarray(ks))
    t = nm.kernel_offsets(kern, case)
    w = nm.query_weights(kern, case.q, case.keys)
    for a in range(32):
        for b in range(32):
            if case.scores[a] > case.scores[b]:
                ti.append(t[a]); tj.append(t[b]); rev.append(w[a] < w[b])
ti, tj, rev = map(np.asarray, (ti, tj, rev))
axes[0].scatter(ti[~rev], tj[~rev], s=3, c="tab:blue", label="order kept")
axes[0].scatter(ti[rev], tj[rev], s=3, c="tab:red", label="reversed (a)")
lim = np.array([-2, 3.5])
axes[0].plot(lim, -lim, "k--", lw=1, label="t_i + t_j = 0")
axes[0].set_xlabel("t_i (higher score)")
axes[0].set_ylabel("t_j (lower score)")
axes[0].legend()
axes[0].set_title(f"CSQ, penalty off: {rev.mean():.1%} of pairs reversed")

rates = record_rows("matching_rates")
short = {"csq-uncentered": "csq\nuncentered", "csq-noshift": "csq\nno shift"}
labels = [f"{short.get(r['kernel'], r['kernel'])}\nτ={r['key_mean']:g}" for r in rates]
x = np.arange(len(rates))
axes[1].bar(x - 0.2, [r["a_rate"] for r in rates], 0.4, yerr=[4 * r["a_se"] for r in rates], label="(a) measured")
axes[1].plot(x - 0.2, [r["a_predicted"] for r in rates], "k_", ms=18, mew=2, label="(a) closed form")
axes[1].bar(x + 0.2, [r["b_rate"] for r in rates], 0.4, yerr=[4 * r["b_se"] for r in rates], label="(b) measured")
axes[1].plot(x + 0.2, [r.get("b_predicted", r.get("b_upper_bound")) for r in rates], "r_", ms=18, mew=2,
             label="(b) closed form (softmax) / bound")
axes[1].set_xticks(x, labels, fontsize=8)
axes[1].set_ylabel("fraction of key pairs reversed")
axes[1].legend(fontsize=8)
axes[1].set_title("penalty off: violation rates (error bars: 4 s.e.)")
fig.tight_layout()

# %% [markdown]
# Centering cancels a shared key mean (τ): the centered rate stays at Φ(−2c/√(2 − 4/n)) while the
# uncentered one grows as Φ(−2c/√(2 + 4τ²)); without shift half of all pairs are reversed.
#
# **The soft penalty.** One CSQ head (d = d_k = 8, n = 16) trained on a matching task (attend to
# argmax_j x_iᵀBx_j), with penalty weight λ; five seeds each; softmax as reference.

# %%
pen = record_rows("matching_penalty")
csq_runs = [r for r in pen if r["kernel"] == "csq"]
soft_runs = [r for r in pen if r["kernel"] == "softmax"]
lams = sorted({r["lam"] for r in csq_runs})
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
pct = np.arange(1, 100)
for lam in (0.0, 100.0):
    r = next(r for r in csq_runs if r["lam"] == lam and r["seed"] == 0)
    axes[0].plot(r["t_quantiles"], pct / 100, label=f"λ = {lam:g}")
axes[0].axvline(0, color="k", ls="--", lw=1)
axes[0].set_xlabel("t = s̃ + c (held out)")
axes[0].set_ylabel("CDF")
axes[0].legend()
axes[0].set_title("keys below the vertex (t < 0)")
med = lambda key, lam: np.median([r[key] for r in csq_runs if r["lam"] == lam])  # noqa: E731
xl = [max(l, 0.1) for l in lams]
axes[1].plot(xl, [med("a_rate", l) for l in lams], "o-", label="(a) pairs reversed")
axes[1].plot(xl, [med("below_vertex", l) for l in lams], "s-", label="keys below vertex")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel("λ (0 drawn at 0.1)")
axes[1].legend()
axes[1].set_title("violations (median of 5 seeds)")
for i, s in enumerate(sorted({r["seed"] for r in csq_runs})):
    axes[2].plot(xl, [next(r["task_loss"] for r in csq_runs if r["lam"] == l and r["seed"] == s) for l in lams],
                 "o-", color="tab:blue", alpha=0.5, label="CSQ, one line per seed" if i == 0 else None)
axes[2].axhline(np.median([r["task_loss"] for r in soft_runs]), color="tab:green", label="softmax (median)")
axes[2].axhline(np.log(16), color="gray", ls=":", label="chance, log 16")
axes[2].set_xscale("log")
axes[2].set_xlabel("λ (0 drawn at 0.1)")
axes[2].set_ylabel("held-out task loss")
axes[2].legend()
axes[2].set_title("task loss per seed")
fig.tight_layout()

# %% [markdown]
# ## 6. R4: the low-rank bottleneck
#
# Free queries and keys Q, K ∈ ℝ^{n×d_k}, score range |S| ≤ 8, fitted by Adam to a permutation, a
# banded (|i − j| ≤ 1) and a random sparse (3 keys per row) pattern; error = mean row total variation
# (best of 4 restarts: an upper bound on the best achievable).  Dashed: full rank (d_k = n).  Black
# line: the rank-2 circle construction's closed form for permutations,
# 1 − 1/Σ_j exp(B(cos(2πj/n) − 1)).

# %%
bott = record_rows("matching_bottleneck")
fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharey=True)
for row, kernel in enumerate(bn.BOTTLENECK_KERNELS):
    for col, pattern in enumerate(bn.PATTERNS):
        ax = axes[row, col]
        mine = [r for r in bott if r["kernel"] == kernel and r["pattern"] == pattern]
        for dk in sorted({r["dk"] for r in mine if not r["full_rank"]}):
            pts = sorted((r["n"], r["error"]) for r in mine if r["dk"] == dk and not r["full_rank"])
            ax.plot(*zip(*pts), "o-", label=f"d_k = {dk}")
        full = sorted((r["n"], r["error"]) for r in mine if r["full_rank"])
        ax.plot(*zip(*full), "k--", label="d_k = n")
        if kernel == "softmax" and pattern == "permutation":
            ng = np.arange(4, 129)
            ax.plot(ng, [bn.circle_construction_error(int(n), 8.0) for n in ng], "k-", lw=1, label="circle, closed form")
        ax.set_xscale("log", base=2)
        ax.set_title(f"{kernel}: {pattern}")
        ax.set_xlabel("n")
        ax.legend(fontsize=8)
    axes[row, 0].set_ylabel("best error (mean TV)")
fig.tight_layout()
over = [r for r in bott if r["kernel"] == "softmax" and "log_rank" in r and r["log_rank"] > r["log_rank_bound"]]
display(Markdown(f"rank(log A) ≤ d_k + 1 on every fitted softmax head: **{not over}** "
                 f"({sum(r['log_rank'] == r['log_rank_bound'] for r in bott if 'log_rank' in r)} of "
                 f"{sum('log_rank' in r for r in bott)} at the bound)"))

# %% [markdown]
# Bhojanapalli et al. 2020 locate the bottleneck in rank(S) ≤ d_k < n; the measurements agree at a
# bounded score range, for softmax and CSQ alike.  The circle construction shows that rank is not the
# whole story for argmax-type patterns: with the range B free, d_k = 2 already realises any
# permutation, at B growing like n².

# %% [markdown]
# ## 7. T4.e: does restoring monotonicity close linear attention's gap on MQAR?
#
# The controlled experiment `matching_causal`: one MQAR model, equal seeds, initial points and data; only
# the kernel changes (elu+1, ReBased-style, CSQ, Hedgehog exp features with a learned W, softmax).  Left:
# held-out accuracy at each kernel's best learning rate, mean over seeds with its 95% t-interval.  Middle:
# softmax minus each kernel, paired by seed, with its 95% paired t-interval (the gap T4.e would explain).
# Right: the (a) monotonicity and (b) matching violation rates *measured inside the trained models* (their own
# queries and keys, at the query positions), mean over seeds ±2 s.e.  All numbers come from the ledger's
# `causal_summary` of the record.

# %%
causal = require_record("matching_causal")
summ = causal_summary(record_rows("matching_causal"))
acc, inm = summ["accuracy"], summ["in_model"]
names = list(acc)
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 3.8))
means = np.array([acc[k]["mean"] for k in names])
err = np.array([[acc[k]["mean"] - acc[k]["lo"], acc[k]["hi"] - acc[k]["mean"]] for k in names]).T
ax1.bar(names, means, yerr=err, capsize=4, color="C0")
ax1.axhline(causal["result"]["chance"], color="k", ls=":", label="chance")
ax1.set_ylim(0, 1.05)
ax1.set_ylabel("held-out accuracy (95% t-interval)")
ax1.set_title(f"MQAR, {causal['profile']} profile, {acc[names[0]]['seeds']} seeds")
ax1.legend(fontsize=8)
others = [k for k in names if k != "softmax"]
d = summ["vs_softmax"]
ax2.errorbar(others, [d[k]["mean"] for k in others],
             yerr=np.array([[d[k]["mean"] - d[k]["lo"], d[k]["hi"] - d[k]["mean"]] for k in others]).T,
             fmt="o", capsize=4, color="C3")
ax2.axhline(0.0, color="k", lw=0.8)
ax2.axhline(MIN_GAP, color="C3", ls="--", lw=0.8, label=f"smallest gap the rule counts ({MIN_GAP:g})")
ax2.legend(fontsize=8)
ax2.set_ylabel("softmax − kernel accuracy (paired 95% interval)")
ax2.set_title("the gap to softmax")
x = np.arange(len(names))
for off, f, c in ((-0.2, "a_rate", "C1"), (0.2, "b_rate", "C2")):
    ax3.bar(x + off, [inm[k][f] for k in names], 0.4, yerr=[2 * inm[k][f + "_se"] for k in names], capsize=3,
            color=c, label=f"({f[0]}) reversed pairs")
ax3.set_xticks(x, names)
ax3.set_ylabel("fraction of key pairs reversed (±2 s.e.)")
ax3.set_title("violation rates inside the trained models")
ax3.legend(fontsize=8)
fig.tight_layout()
display(Markdown("| kernel | parameters | attention entropy (nats) | mass on the answer |\n|---|---|---|---|\n" + "\n".join(
    f"| {k} | {causal['result']['num_params'][k]} | {inm[k]['entropy']:.2f} | {inm[k]['answer_mass']:.2f} |"
    for k in names)))
