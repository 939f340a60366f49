"""Markdown tables of the real-head measurements (records ``real_heads``, ``real_pullback``, ``real_fits``;
for the notebook and the docs)."""

from __future__ import annotations

import math

__all__ = ["heads_table", "pullback_table", "fits_table"]


def _f(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def heads_table(records: list[dict], n: int) -> str:
    """One row per head at window length ``n``: rank, ε-ranks, B, matching fractions."""
    rows = [r for r in records if r["n"] == n]
    out = ["| layer | head | rank A (pred. n) | ε-rank 1e-1 | 1e-2 | 1e-3 | Taylor bound 1e-2 | B | B/ln n | softmax (a) | "
           "softmax (b) | CSQ (a) | CSQ (b) | poly2 (a) | keys below CSQ vertex |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        k, m = r["rank"], r["matching"]
        rank = f"{k['rank']}" + ("" if k["rank_status"] == "ok" else " (ill-defined)")
        out.append(f"| {r['layer']} | {r['head']} | {rank} | {k['eps_rank']['0.1']} | {k['eps_rank']['0.01']} | "
                   f"{k['eps_rank']['0.001']} | {k.get('eps_rank_bound', {}).get('0.01', '–')} | {_f(k['B'])} | {_f(k['B'] / math.log(r['n']))} | "
                   f"{_f(m['softmax']['a']['fraction'])} | {_f(m['softmax']['b']['fraction'])} | "
                   f"{_f(m['csq']['a']['fraction'])} | {_f(m['csq']['b']['fraction'])} | "
                   f"{_f(m['poly2']['a']['fraction'])} | {_f(m['csq']['below_vertex_fraction'])} |")
    return "\n".join(out)


def pullback_table(records: list[dict]) -> str:
    """Measured beside predicted pulled-back ranks (and the whole-head closed forms)."""
    out = ["| layer | head | n | map | k′ varied | ambient dim | measured | predicted | formula | status |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        measured = r.get("measured", "–")
        status = r.get("status", "closed form only")
        out.append(f"| {r['layer']} | {r['head']} | {r['n']} | {r['map']} | {r.get('k_varied', r.get('k'))} | "
                   f"{r['ambient_dim']} | {measured} | {r['predicted']} | {r['formula']} | {status} |")
    return "\n".join(out)


def fits_table(records: list[dict]) -> str:
    out = ["| layer | head | n | kernel | TV best fit | TV at start | TV uniform | shift c | steps |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        out.append(f"| {r['layer']} | {r['head']} | {r['n']} | {r['kernel']} | {_f(r['tv'])} | {_f(r['tv_start'])} | "
                   f"{_f(r['tv_uniform'])} | {_f(r['shift'])} | {r['steps']} |")
    return "\n".join(out)
