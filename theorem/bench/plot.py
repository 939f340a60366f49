"""The bench's figure: time per call against n (one panel per d_k) and the crossover n* against d_k."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from theorem.numeric.attention_timing import METHODS

__all__ = ["plot"]


def _plain_log_ticks(ax) -> None:
    """Log axes labelled at the major ticks only (no crowded minor labels); x in powers of two, plain numbers."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot(result: dict, path: Path) -> None:
    """Time per call against n for every method and d_k, and the crossovers, saved to ``path``."""
    dks = result["dks"]
    fig = Figure(figsize=(4.2 * (len(dks) + 1), 3.8))
    axes = fig.subplots(1, len(dks) + 1)
    for ax, dk in zip(axes, dks):
        for m, meta in METHODS.items():
            pts = [(r["n"], r["seconds_min"]) for r in result["grid"] if r["method"] == m and r["dk"] == dk and r["seconds_min"]]
            if pts:
                ax.loglog(*zip(*pts), "o-" if "linear" in m else "s--", label=meta.label, ms=3)
        _plain_log_ticks(ax)
        ax.set_title(f"d_k = d_v = {dk}")
        ax.set_xlabel("n")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds (min over calls)")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    for x in result["crossovers"]:
        if x["measured"].get("n_star"):
            mk = "^" if x["causal"] else "o"
            ax.loglog(x["dk"], x["measured"]["n_star"], "k" + mk, label=f"measured{' causal' if x['causal'] else ''}")
            ax.loglog(x["dk"], x["model_n_star"], "C1" + mk, mfc="none", label=f"cost model{' causal' if x['causal'] else ''}")
            ax.loglog(x["dk"], x["flop_count_n_star"], "C2" + mk, mfc="none", label=f"FLOP count{' causal' if x['causal'] else ''}")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7)
    _plain_log_ticks(ax)
    ax.set_title("crossover n* (CSQ linear vs quadratic)")
    ax.set_xlabel("d_k")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
