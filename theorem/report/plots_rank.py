"""The report's rank figures: measured against closed form (T1, T5, R3), singular-value spectra with the
tolerance and the gap (T1.a), and the ε-rank against n (T3.c).

Each function takes the report's records and returns ``(figure, caption)``; it reads only evidence
(:mod:`theorem.report.evidence`) and raises :class:`~theorem.report.evidence.Absent` when none is there.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

from theorem.report.evidence import Absent, item, items, number, numbers

__all__ = ["closed_form", "spectra", "eps_rank", "COLORS", "plain_log_ticks"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h")
#: the evidence the measured-against-closed-form panels read: claim → key prefixes
CLOSED_FORM_KEYS = {"T1": ("panel", "biases", "families"), "T5": ("panel",), "R3": ("panel",)}


def plain_log_ticks(axis, values=None) -> None:
    """Log-axis ticks written as plain numbers (``128``, ``0.001``): at ``values`` when given, else at
    1, 2 and 5 times each power of ten; minor ticks unlabelled."""
    if values is not None:
        axis.set_major_locator(FixedLocator(sorted(set(values))))
        axis.set_minor_locator(NullLocator())
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _pairs(e: dict) -> tuple[list[tuple[float, float]], int]:
    """(closed form, measured) pairs of one item, and how many of its rows had no valid closed form."""
    rows = e.get("data", {}).get("rows") if isinstance(e.get("data"), dict) else None
    if isinstance(rows, list) and rows and all(isinstance(r, dict) and "prediction_valid" in r for r in rows):
        pairs, dropped = [], 0
        for r in rows:
            p, m = number(r.get("predicted")), number(r.get("measured"))
            if r["prediction_valid"] and r.get("rank_status") == "ok" and p is not None and m is not None:
                pairs.append((p, m))
            else:
                dropped += 1
        return pairs, dropped
    return numbers(e.get("measured"), e.get("predicted")), 0


def closed_form(recs: list[dict]) -> tuple[Figure, str]:
    panels = []
    for claim, prefixes in CLOSED_FORM_KEYS.items():
        series, dropped = [], []
        for prefix in prefixes:
            for rid, e in items(recs, claim, prefix):
                pairs, n_drop = _pairs(e)
                if pairs:
                    series.append((f"{rid} {e['key']}", pairs))
                if n_drop:
                    dropped.append(f"{rid} {e['key']}: {n_drop} without a closed form or a well-defined rank")
        if series:
            panels.append((claim, series, dropped))
    if not panels:
        raise Absent("no panel evidence of T1, T5 or R3 in this run")
    fig = Figure(figsize=(4.6 * len(panels), 5.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    notes = []
    for ax, (claim, series, dropped) in zip(axes, panels):
        allv = [v for _, pairs in series for pair in pairs for v in pair]
        lo, hi = min(allv), max(allv)
        pad = max(1.0, 0.08 * (hi - lo))
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.35", lw=1.2, ls="--", zorder=1,
                label="measured = closed form")
        k = len(series)
        on = total = 0
        for i, (label, pairs) in enumerate(series):
            off = (i - (k - 1) / 2) * min(0.12, 0.6 / max(k, 1)) * max(1.0, (hi - lo) / 12)
            x = np.array([p for p, _ in pairs]) + off
            y = np.array([m for _, m in pairs])
            on += sum(1 for p, m in pairs if p == m)
            total += len(pairs)
            ax.scatter(x, y, s=34, marker=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
                       edgecolor="white", linewidth=0.5, zorder=3, label=f"{label} ({len(pairs)})")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(alpha=0.3)
        ax.set_xlabel("closed form (predicted dimension)")
        ax.set_ylabel("measured dimension")
        ax.set_title(f"{claim}: {on}/{total} on the line")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5, frameon=False)
        notes += dropped
    cap = ("Measured dimension against the closed form that predicts it, one point per input "
           "(series offset sideways so that equal points stay visible; the count per series in brackets).")
    if notes:
        cap += " Not drawn: " + "; ".join(notes) + "."
    return fig, cap


def spectra(recs: list[dict]) -> tuple[Figure, str]:
    e = item(recs, "T1.a", "panel.softmax")
    rows = [r for r in e.get("data", {}).get("rows", []) if r.get("singular_values")]
    if not rows:
        raise Absent("T1.a panel.softmax carries no singular values")
    cols = 3
    nrows = math.ceil(len(rows) / cols)
    fig = Figure(figsize=(12, 3.0 * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, r in zip(axes, rows):
        sv = np.array([number(s) for s in r["singular_values"]], dtype=float)
        tol = number(r.get("tolerance")) or 0.0
        pos = sv[sv > 0]
        floor = min(tol / 1e3 if tol > 0 else np.inf, (pos.min() / 10) if pos.size else 1e-300)
        idx = np.arange(1, sv.size + 1)
        kept = sv > tol
        ax.semilogy(idx[kept], sv[kept], "o", color=COLORS[0], ms=4, label="σᵢ above the tolerance")
        ax.semilogy(idx[~kept], np.maximum(sv[~kept], floor), "x", color=COLORS[1], ms=5,
                    label="σᵢ at or below it (0 drawn at the floor)")
        if tol > 0:
            ax.axhline(tol, color=COLORS[1], ls="--", lw=1, label="tolerance τ")
        rank = r.get("measured")
        if isinstance(rank, (int, float)) and 0 < rank < sv.size:
            ax.axvline(rank + 0.5, color="0.4", ls=":", lw=1, label="cut at the measured rank")
        gap = number(r.get("gap"))
        gap_text = "∞ (nothing below τ)" if gap is None or math.isinf(gap) else f"{gap:.1e}"
        ax.set_title(f"{r.get('input', r.get('tokens'))}", fontsize=9.5)
        ax.text(0.03, 0.5, f"rank {rank} (closed form {r.get('predicted')}), d² = {r.get('d_squared')}\n"
                f"gap σ_r/σ_r+1 = {gap_text}, {r.get('rank_status')}", transform=ax.transAxes, fontsize=7.5,
                va="center", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"})
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("index i")
        ax.set_ylabel("singular value σᵢ")
        ax.grid(alpha=0.3, which="major")
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes[: len(rows)]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8.5, frameon=False)
    cap = ("Singular values of the weights map's Jacobian (softmax, θ = M) on each panel input of T1.a, with the "
           "tolerance τ that counts them and the gap σ_r/σ_(r+1) at the cut; a rank is used only when both tests agree.")
    return fig, cap


def _growth_item(recs: list[dict]) -> tuple[str, dict]:
    for rid, key in (("T3.c", "sweep.eps_rank"), ("T2.b", "sweep.growth")):
        try:
            e = item(recs, rid, key)
        except Absent:
            continue
        if isinstance(e.get("data", {}).get("growth"), dict):
            return f"{rid} {key}", e
    raise Absent("neither T3.c sweep.eps_rank nor T2.b sweep.growth is in this run")


def eps_rank(recs: list[dict]) -> tuple[Figure, str]:
    source, e = _growth_item(recs)
    small = None
    try:
        small = item(recs, "T3.c", "record.eps_rank_small_d")
        if not isinstance(small.get("data", {}).get("table"), dict):
            small = None
    except Absent:
        pass
    fig = Figure(figsize=(12 if small else 6.5, 5.2), layout="constrained")
    axes = fig.subplots(1, 2 if small else 1, squeeze=False)[0]
    ax = axes[0]
    first = (e["data"].get("records") or [{}])[0]
    all_n = []
    for i, (b, g) in enumerate(sorted(e["data"]["growth"].items(), key=lambda kv: float(kv[0]))):
        ns, ranks = np.array(g["ns"], float), np.array(g["ranks"], float)
        all_n += list(ns)
        c = COLORS[i % len(COLORS)]
        iv = np.array(g.get("intervals") or [[r, r] for r in ranks], float)
        ax.errorbar(ns, ranks, yerr=[ranks - iv[:, 0], iv[:, 1] - ranks], fmt="o-", color=c, capsize=3,
                    label=f"measured, B = {float(b):g} (slope {g.get('slope', float('nan')):.2f})")
        if g.get("taylor"):
            ax.plot(ns, g["taylor"], ls="--", color=c, lw=1.2, alpha=0.8, label=f"Taylor bound, B = {float(b):g}")
    ns_all = np.array(sorted(set(all_n)))
    ax.plot(ns_all, ns_all, color="0.5", ls=":", lw=1, label="n (full rank)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis, ns_all)
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("ε-rank of A")
    ax.set_title(f"softmax A, d = {first.get('d', '?')}, ε = {first.get('eps', '?')} ({source})", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=2, frameon=False)
    cap = (f"ε-rank of the softmax attention matrix against n ({source}; slope: least-squares growth in log n), "
           "beside the Taylor bound that would keep it low.")
    if small:
        ax2 = axes[1]
        bs_all = []
        for i, (d, t) in enumerate(sorted(small["data"]["table"].items(), key=lambda kv: int(kv[0]))):
            per = sorted(t["per_B"].items(), key=lambda kv: float(kv[0]))
            bs = np.array([float(b) for b, _ in per])
            bs_all += list(bs)
            c = COLORS[(i + 3) % len(COLORS)]
            rank = np.array([p["rank"] for _, p in per], float)
            iv = np.array([p["interval"] for _, p in per], float)
            ax2.errorbar(bs, rank, yerr=[rank - iv[:, 0], iv[:, 1] - rank], fmt="o-", color=c, capsize=3,
                         label=f"measured, d = {d}, n = {t['n']}")
            ax2.plot(bs, [p["bound"] for _, p in per], "--", color=c, label=f"Taylor bound, d = {d}")
            ax2.axhline(t["n"], color=c, ls=":", lw=1)
            ax2.axvline(t["log_n"], color=c, ls="-.", lw=1, alpha=0.7)
        ax2.plot([], [], color="0.4", ls="-.", lw=1, label="B = ln n (Alman & Song, score units)")
        ax2.plot([], [], color="0.4", ls=":", lw=1, label="n (the bound's cap)")
        ax2.set_xscale("log", base=2)
        ax2.set_yscale("log")
        plain_log_ticks(ax2.xaxis, bs_all)
        plain_log_ticks(ax2.yaxis)
        ax2.set_xlabel("score bound B")
        ax2.set_ylabel("ε-rank at the largest n of each d")
        ax2.set_title(f"small d (record eps_rank_small_d, profile {small['data'].get('profile')})", fontsize=10)
        ax2.grid(alpha=0.3, which="both")
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=2, frameon=False)
        cap += (" Right: at small d, the ε-rank at the largest n against the score bound B (Alman & Song's entry "
                "bound squared), beside the Taylor bound, with B = ln n marked.")
    return fig, cap
