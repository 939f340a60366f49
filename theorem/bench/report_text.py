"""The bench's text summary (what ``d2check bench attention`` prints)."""

from __future__ import annotations

from theorem.numeric.attention_timing import METHODS

__all__ = ["summary"]


def summary(result: dict) -> str:
    """The printed summary of a bench result: timings, ratios, exponents, crossovers, balance, memory, targets."""
    lines = []
    mm = result["matmul"]
    lines.append(f"bench attention ({result['profile']}, float32, {result['machine']['backend']}, "
                 f"{result['machine']['cpus']} CPUs, load {result['machine']['load_average']}) in {result['seconds']:.0f} s")
    lines.append(f"  matmul {mm['before']['size']}² float32: {mm['flops_per_second'] / 1e9:.1f} GFLOP/s (best of before/after)")
    lines.append("  time per call (ms), and ratios measured in this run:")
    hdr = f"  {'d_k':>4} {'n':>6} " + " ".join(f"{m:>14}" for m in METHODS) + f" {'dpa/lin':>8} {'causal/nc':>9} {'lin %mm':>7}"
    lines.append(hdr)
    for r in result["ratios"]:
        cells = " ".join(f"{r[m] * 1e3:14.3f}" if r[m] else f"{'-':>14}" for m in METHODS)
        f = lambda x, fmt: (format(x, fmt) if x is not None else "-")  # noqa: E731
        lines.append(f"  {r['dk']:>4} {r['n']:>6} {cells} {f(r['dpa_over_linear'], '8.1f'):>8} "
                     f"{f(r['causal_over_noncausal'], '9.2f'):>9} {f(r['linear_fraction_of_matmul'] and 100 * r['linear_fraction_of_matmul'], '7.1f'):>7}")
    lines.append("  exponent of n (fit of log t on log n, n ≥ 1024; model: quadratic 2, linear 1):")
    for m, per in result["n_exponents"].items():
        lines.append("    " + f"{m:>22}: " + ", ".join(f"d_k={dk}: {v['exponent']:.2f}" for dk, v in per.items()))
    lines.append("  exponent of d_k at the largest common n (measured vs the FLOP model's):")
    for m, v in result["dk_exponents"].items():
        extra = ""
        if "upper" in v:
            extra = f"; d_k ≥ 16: {v['upper']['exponent']:.2f} (model {v['upper']['model_exponent']:.2f})"
        lines.append(f"    {m:>22}: {v['exponent']:.2f} (model {v['model_exponent']:.2f}) at n={v['n']}{extra}")
    lines.append("  crossover n* of CSQ linear vs quadratic: measured | cost model (auto) | pure FLOP count")
    for x in result["crossovers"]:
        m = x["measured"]
        ms = f"{m['n_star']:.0f}" if m.get("n_star") else f"{m['status']} {m.get('bound', '')}"
        ratio = f"  (model/measured {x['model_over_measured']:.2f})" if x.get("model_over_measured") else ""
        lines.append(f"    d_k={x['dk']:>3}{' causal' if x['causal'] else '       '}: {ms:>10} | {x['model_n_star']:9.0f} | "
                     f"{x['flop_count_n_star']:9.0f}{ratio}")
    bf = result.get("balance_fit", {})
    if "rho_q" in bf:
        keys = ("rho_q", "rho_l", "rho_mem", "omega", "kappa")
        code = result["balance_in_code"]
        lines.append("  machine balance refit on this run: " + ", ".join(f"{k}={bf[k]:.3g}" for k in keys)
                     + f" (relative residual rms {bf['relative_residual_rms']:.2f}); in code: "
                     + ", ".join(f"{k}={code[k]:.3g}" for k in keys))
        if "refit_crossovers" in bf:
            lines.append("  crossover with the refit balance: " + ", ".join(
                f"d_k={x['dk']}{' causal' if x['causal'] else ''}: {x['n_star']:.0f}" for x in bf["refit_crossovers"]))
    mem = result.get("memory", [])
    if mem:
        lines.append("  peak memory of one call above the memory before it (RSS high-water mark), at the largest n run:")
        for m in mem:
            lines.append(f"    d_k={m['dk']:>3}: " + ", ".join(f"{k} {v / 2**20:.1f} MiB (n={m['n'][k]}; n×n float32 "
                                                         f"{m['n_by_n_bytes'][k] / 2**20:.0f} MiB)"
                                                         for k, v in m["peak_rss_bytes"].items())
                         + f"; state of the linear form {m['state_bytes'] / 2**10:.1f} KiB")
    lines.append("  targets:")
    for t in result["targets"]:
        v = t["measured"]
        vs = "-" if v is None else (f"{v:.3g}")
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"    [{met:>12}] {t['target']}: {vs}")
    return "\n".join(lines)
