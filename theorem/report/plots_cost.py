"""The report's matching, cost and training figures: contrast curves (T4.d, T6.c), CSQ time against n
with the crossover (R1.d, T7.a; timings are context, never a verdict) and divergence rates with their
95 % Wilson intervals (T6.stab.sweep).

Each function takes the report's records and returns ``(figure, caption)``; it reads only evidence
(:mod:`theorem.report.evidence`) and raises :class:`~theorem.report.evidence.Absent` when none is there.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from theorem.report.evidence import Absent, item, items, number
from theorem.report.plots_rank import COLORS, MARKERS, plain_log_ticks

__all__ = ["contrast", "csq_time", "stability", "pretty_formula"]


def pretty_formula(formula: str, limit: int = 50) -> str:
    """A SymPy formula as a legend reads it (``√``, ``·``, ``−``); a piecewise one is named, not printed."""
    if formula.startswith("Piecewise"):
        return "piecewise in the level L"
    text = formula.replace("sqrt(", "√(").replace("**", "^").replace("*", "·").replace(" - ", " − ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(x) -> str:
    v = number(x)
    return "?" if v is None else f"{v:.2f}"


def _contrast_panel(ax, rows: list[dict], title: str) -> None:
    kernels = list(dict.fromkeys(r["kernel"] for r in rows))
    ns_all = sorted({r["n"] for r in rows})
    for i, k in enumerate(kernels):
        c = COLORS[i % len(COLORS)]
        mine = [r for r in rows if r["kernel"] == k]
        levels = list(dict.fromkeys(r["level"] for r in mine))
        drawn: list[tuple] = []
        for j, lev in enumerate(levels):
            rs = sorted((r for r in mine if r["level"] == lev), key=lambda r: r["n"])
            ns = [r["n"] for r in rs]
            pred = tuple(number(r["predicted"]) for r in rs)
            if pred not in drawn:  # one closed-form line per distinct curve
                label = f"closed form, {k}: {pretty_formula(rs[0].get('formula', ''))}" if not drawn else None
                ax.plot(ns, pred, ls="--", lw=1.3, color=c, alpha=0.8, label=label, zorder=2)
                drawn.append(pred)
            ax.plot(ns, [r["measured"] for r in rs], ls="none", marker=MARKERS[j % len(MARKERS)], ms=max(4, 10 - 3 * i),
                    mfc="none", mew=1.6, color=c, label=f"measured, {k}, level L = {lev:g}", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis, ns_all)
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("contrast Δ* (score margin for weight 1/2)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")


def contrast(recs: list[dict]) -> tuple[Figure, str]:
    panels = []
    t4 = [e for _, e in items(recs, "T4.d", "contrast")]
    if t4:
        panels.append(("T4.d", [r for e in t4 for r in e.get("data", {}).get("rows", [])], None))
    try:
        e = item(recs, "T6.c", "numeric.contrast")
        cross = None
        try:
            cross = item(recs, "T6.c", "symbolic.crossover")
        except Absent:
            pass
        panels.append(("T6.c", e.get("data", {}).get("rows", []), cross))
    except Absent:
        pass
    panels = [p for p in panels if p[1]]
    if not panels:
        raise Absent("neither T4.d contrast.* nor T6.c numeric.contrast is in this run")
    fig = Figure(figsize=(6.2 * len(panels), 5.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    cap = ("The contrast Δ* measured by bisection on each kernel's weights (markers) beside its closed form (dashed, "
           "through its values at the measured n).")
    for ax, (rid, rows, cross) in zip(axes, panels):
        _contrast_panel(ax, rows, f"{rid}: contrast against n")
        n_star = number(cross.get("predicted")) if cross else None
        if n_star is not None:
            ax.axvline(n_star, color="0.3", ls=":", lw=1.2,
                       label=f"n* = {n_star:.1f}: CSQ's gap (c = 1) equals log(n − 1)")
            cap += f" {rid}: n* from {rid} symbolic.crossover, where CSQ's contrast (c = 1) overtakes softmax's."
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=1, frameon=False)
    return fig, cap


def csq_time(recs: list[dict]) -> tuple[Figure, str]:
    cross = [(rid, e) for rid, e in items(recs, "R1.d", "benchmark.crossover") if e.get("data", {}).get("rows")]
    timing = [(rid, e) for rid, e in items(recs, "T7.a", "timing.n") if e.get("data", {}).get("rows")]
    panels = len(cross) + (1 if timing else 0)
    if not panels:
        raise Absent("neither R1.d benchmark.crossover.* nor T7.a timing.n.* is in this run")
    fig = Figure(figsize=(5.2 * panels, 5.6), layout="constrained")
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    for ax, (rid, e) in zip(axes, cross):
        d = e["data"]
        rows = sorted(d["rows"], key=lambda r: r["n"])
        ns = [r["n"] for r in rows]
        ax.loglog(ns, [r["quadratic"] for r in rows], "o-", color=COLORS[1], ms=4, label="CSQ, quadratic form (n×n)")
        ax.loglog(ns, [r["linear"] for r in rows], "s-", color=COLORS[0], ms=4, label="CSQ, linear form (features)")
        meas = d.get("measured") or {}
        for value, style, label in ((number(meas.get("n_star")), "-", "measured crossover n*"),
                                    (number(d.get("model_n_star")), "--", "cost model n*"),
                                    (number(d.get("flop_count_n_star")), ":", "pure FLOP count n*"),
                                    (number(d.get("d_squared")), "-.", "d²")):
            if value is not None:
                ax.axvline(value, color="0.3", ls=style, lw=1.1, label=f"{label} = {value:.0f}")
        plain_log_ticks(ax.xaxis, [n for n in ns if n in (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)] or None)
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("sequence length n")
        ax.set_ylabel("seconds (best of rounds)")
        ax.set_title(f"{rid}: d_k = d_v = {d.get('dk')}{', causal' if d.get('causal') else ''}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    if timing:
        ax = axes[-1]
        for i, (rid, e) in enumerate(timing):
            d = e["data"]
            rows = sorted(d["rows"], key=lambda r: r["n"])
            ax.loglog([r["n"] for r in rows], [r["seconds"] for r in rows], MARKERS[i] + "-", color=COLORS[i + 2],
                      label=f"{d.get('method')}: fitted n^{_fmt(e.get('measured'))} (FLOP model n^{_fmt(e.get('predicted'))})")
        ns = sorted({r["n"] for _, e in timing for r in e["data"]["rows"]})
        plain_log_ticks(ax.xaxis, ns)
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel("sequence length n")
        ax.set_ylabel("seconds")
        ax.set_title(f"T7.a: CSQ linear form, d_k = d_v = {timing[0][1]['data'].get('dk')}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    cap = ("Wall-clock time against n on this machine. Timings are context only: no verdict rests on a clock "
           "(R1.d is decided by the FLOP count).")
    return fig, cap


def _rates(recs: list[dict]) -> list[tuple[str, dict]]:
    """(setting, {kernel: (diverged, runs, (low, high))}) from the quick runs and the recorded sweep."""
    out = []
    for _, e in items(recs, "T6.stab.sweep", "quick") + items(recs, "T6.stab.sweep", "sweep"):
        m = e.get("measured") or {}
        cells = {k: (v["diverged"], v["runs"], tuple(v["interval"])) for k, v in m.items() if "interval" in v}
        if cells:
            out.append((f"{e['data'].get('name', e['key'])} (run now)", cells))
    try:
        rec = item(recs, "T6.stab.sweep", "record.stability")
        for name, cells in (rec.get("data", {}).get("intervals") or {}).items():
            out.append((f"{name} (record)", {k: (v["diverged"], v["runs"], tuple(v["interval"]))
                                            for k, v in cells.items()}))
    except Absent:
        pass
    return out


def stability(recs: list[dict]) -> tuple[Figure, str]:
    settings = _rates(recs)
    if not settings:
        raise Absent("T6.stab.sweep carries no divergence counts with intervals in this run")
    kernels = list(dict.fromkeys(k for _, cells in settings for k in cells))
    fig = Figure(figsize=(11, max(3.5, 1.6 + 0.2 * len(kernels) * len(settings))), layout="constrained")
    ax = fig.subplots()
    k = len(settings)
    for i, (name, cells) in enumerate(settings):
        off = (i - (k - 1) / 2) * (0.8 / max(k, 1))
        ys, xs, lo, hi = [], [], [], []
        for j, kern in enumerate(kernels):
            if kern in cells:
                dv, runs, (low, high) = cells[kern]
                ys.append(j + off)
                xs.append(dv / runs)
                lo.append(dv / runs - low)
                hi.append(high - dv / runs)
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)], capsize=3,
                    ms=5, label=name)
    ax.set_yticks(range(len(kernels)), kernels)
    for j in range(len(kernels) - 1):
        ax.axhline(j + 0.5, color="0.85", lw=0.8)
    ax.set_ylim(len(kernels) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("divergence rate (diverged runs / runs), 95 % Wilson interval")
    ax.set_ylabel("kernel")
    ax.grid(alpha=0.3, axis="x")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8, ncol=3, frameon=False)
    cap = ("T6.stab.sweep: the fraction of training runs that diverged, per kernel and setting, with its 95 % Wilson "
           "interval (which stays inside [0, 1]); a difference counts only when the intervals separate.")
    return fig, cap
