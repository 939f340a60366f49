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
# # T1 / R3 — the pulled-back gradient space
#
# The paper claims the space that attention's query–key parameters explore — the span of all
# their gradients, the *pulled-back gradient space* — is "strictly d²"-dimensional.  This notebook
# shows the derivations the checker runs (SymPy, general n and d), then the dimension measured by
# JAX (float64, numerical rank with tolerance and gap) beside the closed form that predicts it, as
# n grows, for several d and d_k, per kernel.  Everything is computed by the `theorem` library;
# the notebook only calls it and plots.

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, Math, display

from theorem.experiments import pullback_sweep
from theorem.experiments.records import require_record
from theorem.symbolic import all_derivations, latex_table

# %% [markdown]
# ## 1. Derivations (SymPy, checked at run time)
#
# Each line is derived now, for general n and d where SymPy's matrix calculus allows it, and checked
# entry by entry at explicit small sizes.  `holds` is computed, not typed.

# %%
for der in all_derivations():
    display(Markdown(f"**{der.name}** — holds: `{der.holds}`; checked sizes {der.checked_sizes}"))
    display(Math(der.statement_latex))

# %% [markdown]
# ## 2. The closed forms
#
# With r = rank X, e = [1 ∈ col X], m = the number of connected components of the matroid of the
# rows of X, q₁ = rank X W_Q, k₁ = rank X W_K (derivation in `docs/pullback.md`):

# %%
display(Markdown(latex_table()))

# %% [markdown]
# ## 3. Measured dimension against n
#
# Gaussian tokens, n = 1 … 12, d ∈ {3, 5}; θ = M (d×d) and θ = (W_Q, W_K) with d_k = 2.  Lines: the
# closed form; markers: the measured numerical rank (dense Jacobian, float64).  The dashed line is the
# paper's d².  Note the n ≤ d regime: the dimension is n(n − 1) for softmax, not d².
#
# The measurements of this section and the next are the committed record of `python -m theorem.experiments
# pullback_sweep` (theorem/data/records/pullback_sweep.json); the notebook only loads and plots it.  The
# same comparison runs live in the ledger: T1.a's Hypothesis search of the closed form against the measured
# rank, and `checks/test_t1_pullback.py`.

# %%
sweep = require_record(pullback_sweep.NAME)
cfg, res = sweep["settings"], sweep["result"]
prov = sweep["provenance"]
print(f"record {pullback_sweep.NAME!r}: {prov['command']} (commit {prov['git_commit'][:8]}, {prov['date']}, "
      f"{prov['seconds']} s)")
ns = cfg["ns"]
kernels = cfg["kernels"]
configs = [tuple(c) for c in cfg["configs"]]
rows_of = {}
for r in res["against_n"]:
    rows_of.setdefault((r["kernel"].split("(")[0], r["tokens"]["d"], r["dk"]), []).append(r)
data = {key: sorted(rows, key=lambda r: r["tokens"]["n"]) for key, rows in rows_of.items()}

fig, axes = plt.subplots(len(kernels), len(configs), figsize=(12, 9), sharex=True)
for i, kernel in enumerate(kernels):
    for j, (d, dk) in enumerate(configs):
        ax = axes[i, j]
        rows = data[(kernel, d, dk)]
        pred = [r["predicted"] if r["predicted"] is not None else np.nan for r in rows]
        meas = [r["measured"] if r["rank_status"] == "ok" else np.nan for r in rows]
        ax.plot(ns, pred, "-", color="C0", label="closed form")
        ax.plot(ns, meas, "o", color="C1", mfc="none", label="measured")
        ax.axhline(d * d, ls="--", color="gray", label="d² (paper)")
        par = "θ = M" if dk is None else f"d_k = {dk}"
        ax.set_title(f"{kernel}, d = {d}, {par}", fontsize=10)
        if i == len(kernels) - 1:
            ax.set_xlabel("n (tokens)")
        if j == 0:
            ax.set_ylabel("dim pulled-back space")
axes[0, 0].legend(fontsize=8)
fig.tight_layout()
plt.show()

mismatch = pullback_sweep.mismatches(res)
print(f"{sum(len(v) for v in res.values())} configurations, closed form ≠ measured on {len(mismatch)}")

# %% [markdown]
# ## 4. Degenerate tokens
#
# The same measurement on the tokens a transformer actually feeds attention (LayerNorm with and without
# its affine part), on repeated tokens, rank-deficient tokens and tokens sharing an offset.  With
# LayerNorm's affine part, 1 ∈ col X, so softmax loses r dimensions: d(d − 1) instead of d², at every n > d.

# %%
n_fam, d_fam = cfg["family_shape"]
table = [(r["family"], r["kernel"].split("(")[0], r["measured"], r["predicted"], r["formula"],
          r["invariants"].get("r"), r["invariants"].get("e")) for r in res["families"]]
lines = [f"| tokens (n = {n_fam}, d = {d_fam}) | kernel | measured | closed form | formula | r | e |",
         "|---|---|---|---|---|---|---|"]
lines += [f"| {a} | {b} | {c} | {p} | {f} | {rr} | {e} |" for a, b, c, p, f, rr, e in table]
display(Markdown("\n".join(lines)))

# %%
d_ln = cfg["layernorm_d"]
fig, ax = plt.subplots(figsize=(6, 4))
for i, (kind, style) in enumerate((("gaussian", "o-"), ("layernorm", "s-"), ("layernorm_affine", "^-"))):
    rows = sorted((r for r in res["layernorm_against_n"] if r["family"] == kind), key=lambda r: r["tokens"]["n"])
    ns_ln = [r["tokens"]["n"] for r in rows]
    ax.plot(ns_ln, [r["measured"] for r in rows], style, mfc="none", label=f"{kind} (measured)")
    ax.plot(ns_ln, [r["predicted"] for r in rows], "k:", lw=1, label="closed form r(r − e)" if i == 0 else None)
ax.axhline(d_ln * d_ln, ls="--", color="gray", label=f"d² = {d_ln * d_ln}")
ax.set_xlabel("n")
ax.set_ylabel(f"dim (softmax weights, θ = M, d = {d_ln})")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 5. What the parameters explore: along training and across data
#
# The spans above are taken at one parameter point.  Along a training trajectory (the harness's own fit, a
# teacher–student head with θ = M, a fresh token matrix each step) the union of the pulled-back spaces at the
# points visited, and the span of the gradients met, are measured against the trajectory length T beside their
# closed forms (docs/pullback.md, "What the parameters explore"): softmax and CSQ `r·ρ_∪` at every T — their
# deficit does not depend on θ — and poly2 `r² − 1` at one point, `r²` from T = 2.  Across data: the union over
# K token matrices at the starting point.  The numbers are the committed record of `python -m theorem.experiments
# spans` (theorem/data/records/spans.json); the notebook only loads and plots it.

# %%
import sympy as sp

from theorem.experiments.records import load_record
from theorem.symbolic.spans import span_formula

rec = load_record("spans")
if rec is None:
    display(Markdown("record `spans` is missing: run `python -m theorem.experiments spans`"))
else:
    rows = [r for r in rec["result"]["rows"] if r["d"] == 4 and r["stream"] == "fresh" and r["seed"] == 0]
    look = {"softmax": ("C0", "o", 7), "csq": ("C2", "x", 5), "poly2": ("C3", "s", 5)}
    tex = lambda kernel, sense: "$" + sp.latex(span_formula(kernel, sense), order="grlex").replace("par", r"\mathrm{par}") + "$"  # noqa: E731
    families = ("gaussian", "layernorm_affine_shared")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, family in zip(axes[:2], families):
        for r in [r for r in rows if r["family"] == family]:
            (c, mk, ms), ts = look[r["kernel"]], r["lengths"]
            ax.plot(ts, r["union"]["rank"], mk, color=c, mfc="none", ms=ms, label=f"{r['kernel']}: union of P(M_t, X_t)")
            ax.plot(ts, r["grads"]["rank"], ".", color=c, ms=3, label=f"{r['kernel']}: gradients met")
            ax.plot(ts, r["union_predicted"], "-", color=c, lw=1, alpha=0.6,
                    label=f"{r['kernel']}: closed form {tex(r['kernel'], 'trajectory')}")
            ax.plot(ts, r["grads_ceiling"], ":", color=c, lw=1)
        ax.axhline(16, ls="--", color="gray", lw=0.8, label="d² = 16")
        ax.set_title(f"along training: {family}")
        ax.set_xlabel("trajectory length T (dotted: ceiling min(T, union))")
    axes[0].set_ylabel("span dimension (θ = M, d = 4, n = 8)")
    axes[0].legend(fontsize=7, loc="lower right")
    ax = axes[2]
    for r in [r for r in rows if r["family"] in families]:
        c, mk, ms = look[r["kernel"]]
        ls = "-" if r["family"] == "gaussian" else "--"
        ax.plot(r["data_counts"], r["data"]["rank"], mk, color=c, mfc="none", ms=ms)
        ax.plot(r["data_counts"], r["data_predicted"], ls, color=c, lw=1,
                label=f"{r['kernel']}, {r['family']}: {tex(r['kernel'], 'data')}")
    ax.axhline(16, ls="--", color="gray", lw=0.8)
    ax.set_title("across data (one point M_0)")
    ax.set_xlabel("number of token matrices K")
    ax.legend(fontsize=7, loc="lower right")
    plt.tight_layout()
    plt.show()
    agree = [(r["kernel"], r["family"], r["d"], r["stream"], r["seed"]) for r in rec["result"]["rows"]
             if r["union"]["rank"] == r["union_predicted"] and r["data"]["rank"] == r["data_predicted"]]
    display(Markdown(f"Record of {rec['provenance'].get('date')} ({rec['profile']} profile): measured = closed form "
                     f"at every length on {len(agree)} of {len(rec['result']['rows'])} fits "
                     f"(d ∈ {sorted({r['d'] for r in rec['result']['rows']})}, kernels "
                     f"{sorted({r['kernel'] for r in rec['result']['rows']})}, families "
                     f"{sorted({r['family'] for r in rec['result']['rows']})})."))

# %% [markdown]
# ## 6. Verdicts
#
# The verdicts are computed by the ledger (`d2check verify --claim T1 --claim R3`), never typed here; this
# cell shows what the generated report (`docs/report/verdicts.json`, written by `make docs`) says.

# %%
doc = json.loads(Path("../docs/report/verdicts.json").read_text(encoding="utf-8"))
rows = [r for r in doc["verdicts"] if r["id"] in ("T1", "R3")]
lines = ["| reading | verdict | because |", "|---|---|---|"]
lines += [f"| {r['reading_id']} | **{r['verdict']}** | {str(r['evidence'])[:220]} |" for r in rows]
display(Markdown(f"Report of {doc['finished']} (profile {doc['profile']}):\n\n" + "\n".join(lines)))
