"""The bench's text summary (what ``d2check bench attention`` prints)."""

from __future__ import annotations

import textwrap

from theorem.numeric.attention_timing import METHODS, state_emit_fraction

__all__ = ["summary", "rate_summary", "SHORT"]

#: the widest line printed
WIDTH = 100
#: column labels of at most 10 characters, so that the printed tables fit 100 columns
SHORT = {"softmax-jnp": "sm-jnp", "softmax-dpa": "sm-dpa", "csq-quadratic": "csq-q", "csq-quadratic-causal": "csq-q-c",
         "csq-linear": "csq-lin", "csq-linear-causal": "csq-lin-c"}


def _pct(x: float | None) -> float | None:
    return None if x is None else 100 * x


def _fmt(x, fmt: str) -> str:
    width = int(fmt.split(".")[0])
    return format(x, fmt) if x is not None else f"{'-':>{width}}"


def summary(result: dict) -> str:
    """The printed summary of a bench result: timings, ratios, exponents, crossovers, balance, memory, targets."""
    lines = []
    mm = result["matmul"]
    lines.append(f"bench attention ({result['profile']}, float32, {result['machine']['backend']}, "
                 f"{result['machine']['cpus']} CPUs, load {result['machine']['load_average']}) in {result['seconds']:.0f} s")
    lines.append(f"  matmul {mm['before']['size']}² float32: {mm['flops_per_second'] / 1e9:.1f} GFLOP/s (best of before/after)")
    lines.append("  time per call (ms), measured in this run (" + ", ".join(f"{SHORT[m]} = {m}" for m in METHODS) + "):")
    lines.append(f"  {'d_k':>4} {'n':>6} " + " ".join(f"{SHORT[m]:>10}" for m in METHODS))
    for r in result["ratios"]:
        lines.append(f"  {r['dk']:>4} {r['n']:>6} " + " ".join(f"{r[m] * 1e3:10.3f}" if r[m] else f"{'-':>10}"
                                                             for m in METHODS))
    lines.append("  ratios: dpa/lin = softmax-dpa over csq-linear, causal/nc = csq-linear causal over non-causal; "
                 "lin %mm, lin-c %mm = the linear form's FLOP rate (non-causal, causal) in % of the square float32 "
                 "matmul's, FLOPs counted as 4·n·D·(d_v+1): state plus emit on the symmetric features "
                 "D = (d_k+1)(d_k+2)/2, 2 per multiply-add:")
    lines.append(f"  {'d_k':>4} {'n':>6} {'dpa/lin':>9} {'causal/nc':>9} {'lin %mm':>8} {'lin-c %mm':>9}")
    mm_rate = mm["flops_per_second"]
    for r in result["ratios"]:
        pct, pct_c = (_pct(state_emit_fraction(r["n"], r["dk"], r["dk"], r[m], mm_rate))
                      for m in ("csq-linear", "csq-linear-causal"))
        lines.append(f"  {r['dk']:>4} {r['n']:>6} {_fmt(r['dpa_over_linear'], '9.1f')} "
                     f"{_fmt(r['causal_over_noncausal'], '9.2f')} {_fmt(pct, '8.1f')} {_fmt(pct_c, '9.1f')}")
    rc = result.get("flop_rate_check")
    if rc and "state_emit_fraction" in rc:
        lines.append(_rate_line(rc))
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
        lines.append("  peak temporaries of one call at the largest n run, the larger of XLA's buffer assignment "
                     "(xla) and the resident-memory rise (rss), beside one n×n float32 array:")
        for m in mem:
            cells = [f"{SHORT[k]} {v / 2**20:.1f} MiB ({src}; n={n}, n×n {4 * n * n / 2**20:.0f} MiB)"
                     for k, (n, v, src) in _temporaries(result["grid"], m["dk"]).items()]
            lines.append(f"    d_k={m['dk']:>3}: state of the linear form {m['state_bytes'] / 2**10:.1f} KiB")
            lines.extend(f"      {c}" for c in cells)
    lines.append("  targets:")
    for t in result["targets"]:
        v = t["measured"]
        vs = "-" if v is None else (f"{v:.3g}")
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"    [{met:>12}] {t['target']}: {vs}")
    return "\n".join(_fit(line) for line in lines)


def _rate_line(rc: dict) -> str:
    return (f"  interleaved with the matmul at n = {rc['n']}, d_k = {rc['dk']}: CSQ linear at "
            f"{100 * rc['state_emit_fraction']:.0f}% (non-causal) and {100 * rc['state_emit_fraction_causal']:.0f}% "
            f"(causal) of the matmul's FLOP rate ({rc['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s), "
            "state plus emit")


def rate_summary(rc: dict, load_average: list[float] | None = None) -> str:
    """What ``d2check bench attention --rate`` prints: the FLOP-rate check alone, its seconds (wall and CPU),
    the load, the targets (wall clock and per CPU-second, each met or not), and the gradient's time over the
    forward's beside the traced count ratio."""
    best = {k: min(v) for k, v in rc["seconds"].items()}
    lines = [f"bench attention --rate (float32, state plus emit 4·n·D·(d_v+1) = {rc['state_emit_flops'] / 1e9:.2f} GFLOP, "
             f"load {load_average})",
             _rate_line(rc),
             "  best of the interleaved calls (s): " + ", ".join(f"{k} {v:.3f}" for k, v in best.items())]
    if "cpu_seconds" in rc:
        lines.append("  best in CPU seconds (all threads): "
                     + ", ".join(f"{k} {min(v):.3f}" for k, v in rc["cpu_seconds"].items()))
    for key, what in (("state_emit_fraction", "non-causal"), ("state_emit_fraction_causal", "causal")):
        for suffix, clock in (("", "wall clock"), ("_cpu", "per CPU-second")):
            if key + suffix in rc:
                met = "met" if rc[key + suffix] >= 0.7 else "NOT met"
                lines.append(f"    [{met:>12}] {what}: state + emit ≥ 70% of the matmul's FLOP rate ({clock}): "
                             f"{rc[key + suffix]:.3g}")
    for key, what in (("grad_ratio", "non-causal"), ("grad_ratio_causal", "causal")):
        g = rc.get(key)
        if g:
            for clock in ("wall", "cpu"):
                met = "met" if g[clock] <= 3.0 else "NOT met"
                lines.append(f"    [{met:>12}] {what}: jax.grad ≤ 3× the forward ({clock}): {g[clock]:.2f}× "
                             f"(traced counts: products {g['counted']['matmul']:.2f}×, all {g['counted']['total']:.2f}×)")
    return "\n".join(_fit(line) for line in lines)


def _temporaries(grid: list[dict], dk: int) -> dict[str, tuple[int, int, str]]:
    """``{method: (n, bytes, source)}``: the peak temporaries of one call at the largest n each method ran at.

    Two lower bounds, each exact where it sees the buffers: XLA's buffer assignment (``memory_analysis``),
    which reports 0 for the jnp quadratic programs from n = 4096 on (those buffers are allocated outside
    its accounting), and the rise of the resident-memory high-water mark over one call, which reads 0
    where the allocator serves the call from memory the process already holds (small n).  Their maximum
    is printed with the source it came from."""
    out = {}
    for m in METHODS:
        recs = [r for r in grid if r["method"] == m and r["dk"] == dk and not r.get("skipped")
                and (r.get("temp_bytes") is not None or r.get("peak_rss_bytes") is not None)]
        if recs:
            r = max(recs, key=lambda r: r["n"])
            xla, rss = r.get("temp_bytes") or 0, r.get("peak_rss_bytes") or 0
            out[m] = (r["n"], max(xla, rss), "xla" if xla >= rss else "rss")
    return out


def _fit(line: str, width: int = WIDTH) -> str:
    """``line`` wrapped to ``width`` columns, continuation lines indented under it."""
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return "\n".join(textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False))
