"""What the rank readings (T2, T3) share: the citations, the ε-rank sweep's settings and growth table,
the committed sweep record as context evidence, and the real heads' score bounds against ln n."""

from __future__ import annotations

import math
from typing import Any

from theorem.claims.ledger import Evidence, Profile
from theorem.experiments.records import load_record
from theorem.numeric.eps_rank.taylor import alman_song_threshold

__all__ = ["LITERATURE", "literature", "sweep_settings", "growth_table", "sweep_record_evidence", "RECORD",
           "HEADS_RECORD", "score_bound_rows", "score_bound_evidence", "recorded_score_bounds"]

LITERATURE = {
    "keles2022": (
        "Keles, Wijewardena & Hegde 2022: for head dimension d = ω(log n) (growing faster than log n), "
        "dot-product softmax self-attention, exact or to small entrywise error, needs n^{2−o(1)} time unless "
        "the Strong Exponential Time Hypothesis (SETH) fails; the bound is silent at d = O(log n) and at constant "
        "d. A degree-p Taylor polynomial of exp gives time linear in n but exponential in p."
    ),
    "alman_song2023": (
        "Alman & Song 2023: with the entries of Q, K, V bounded by B_e and A = exp(QKᵀ/d), so that every score "
        "obeys |S_ij| ≤ B_e²: for d = O(log n) and B_e = o(√log n) (score bound o(log n)) attention is "
        "approximated to additive error 1/poly(n) in n^{1+o(1)} time; for d = O(log n) and B_e = Θ(√log n) "
        "(score bound Θ(log n)) no n^{2−Ω(1)} algorithm reaches that error unless SETH fails. In score units "
        "the threshold is of order ln n, with constants the theorems leave unspecified."
    ),
    "gupta2025": (
        "Gupta, Huang, Saha, Xu & Ye 2025: for constant head dimension d and entries bounded by B (any "
        "temperature), softmax attention is approximated to additive error ε in Õ(n^{2−1/d}) time with factors "
        "polylogarithmic in B and 1/ε (so exact up to 1/poly(n) error, subquadratic for every fixed d, also for "
        "larger d when QKᵀ has constant rank); under SETH n^{2−o(1)} time is needed already at "
        "d = 2^{Θ(log* n)} with polynomially large B."
    ),
    "katharopoulos2020": (
        "Katharopoulos et al. 2020: a kernel with feature map of dimension D gives attention in "
        "O(n·D·d_v) time, the causal form by prefix sums."
    ),
    "gaussian_pd": (
        "Schoenberg 1938; Micchelli 1986: the Gaussian kernel is strictly positive definite, so its "
        "Gram matrix on distinct points is nonsingular."
    ),
}

#: the committed full-size sweep (theorem.experiments.eps_rank_sweep)
RECORD = "eps_rank_sweep"
#: the full real-head sweep (``python -m theorem.experiments real_heads --profile full``), read by T2.b
HEADS_RECORD = "real_heads"


def literature(*keys: str) -> list[Evidence]:
    """Citations as evidence of kind ``literature`` (context, ``supports=None``), keyed ``literature.KEY``."""
    return [Evidence("literature", LITERATURE[k], None, {"reference": k}, key=f"literature.{k}") for k in keys]


def sweep_settings(profile: Profile) -> dict:
    """The ε-rank sweep the T3.c and T2.b readings share (cached in :mod:`theorem.numeric.eps_rank`)."""
    return profile.pick(
        {"ns": (128, 256, 512), "bounds": (0.5, 8.0), "eps": (1e-3,), "d": 64},
        {"ns": (128, 256, 512, 1024, 2048), "bounds": (0.25, 0.5, 1.0, 2.0, 4.0, 8.0), "eps": (1e-2, 1e-3), "d": 64},
    )


def growth_table(records: list[dict], eps: float) -> dict[float, dict]:
    """Per B: ε-ranks by n, the log-log slope between the two largest n, and ``ln n`` at the largest n (the
    Alman–Song threshold in score units)."""
    out: dict[float, dict] = {}
    for b in sorted({r["B"] for r in records}):
        rows = sorted((r for r in records if r["B"] == b and r["eps"] == eps), key=lambda r: r["n"])
        if len(rows) < 2:
            continue
        a, z = rows[-2], rows[-1]
        slope = math.log(max(z["rank"], 1) / max(a["rank"], 1)) / math.log(z["n"] / a["n"])
        out[b] = {"ns": [r["n"] for r in rows], "ranks": [r["rank"] for r in rows],
                  "intervals": [[r["lower"], r["upper"]] for r in rows], "taylor": [r["taylor_bound"] for r in rows],
                  "slope": slope, "log_n_max": math.log(rows[-1]["n"])}
    return out


def sweep_record_evidence(eps: float = 1e-3) -> Evidence:
    """The committed sweep (n ≤ 4096) as context: its growth table at ``eps``, or a note that it is missing."""
    rec = load_record(RECORD)
    if rec is None:
        return Evidence("record", f"record {RECORD!r} is missing (python -m theorem.experiments {RECORD})", None,
                        {"record": RECORD, "missing": True}, key=f"record.{RECORD}")
    table = growth_table(rec["result"]["records"], eps)
    prov = rec["provenance"]
    slopes = {str(b): round(t["slope"], 3) for b, t in table.items()}
    return Evidence(
        "record",
        f"committed sweep (n ≤ {max(rec['settings']['ns'])}, d = {rec['settings']['d']}, ε = {eps:g}; "
        f"{prov.get('date')}): log-log slope of ε-rank vs n per B: "
        + ", ".join(f"B={b}: {s:.2f}" for b, s in slopes.items()),
        None,
        {"record": RECORD, "growth": {str(b): t for b, t in table.items()}, "provenance": prov},
        key=f"record.{RECORD}",
        measured=slopes,
    )


def score_bound_rows(heads: list[dict]) -> list[dict]:
    """Per measured head: ``B = max|S_ij|`` beside ``ln n``, the Alman–Song threshold in score units (their entry
    bound B_e with A = exp(QKᵀ/d) puts the scores below B_e², and their transition is at B_e = Θ(√log n))."""
    return [{"layer": h["layer"], "head": h["head"], "n": h["n"], "B": h["rank"]["B"],
             "log_n": float(alman_song_threshold(h["n"])),
             "B_over_log_n": h["rank"]["B"] / float(alman_song_threshold(h["n"]))} for h in heads]


def score_bound_evidence(rows: list[dict], *, key: str, source: str) -> Evidence:
    """Where the heads' score bounds sit against ``ln n``: context for T2.b (``supports=False`` only when every
    head is above it, i.e. all heads on the hard side at unit constant; the theorems fix no constant)."""
    below = [r for r in rows if r["B"] < r["log_n"]]
    by_n = {n: (sum(r["B"] < r["log_n"] for r in rows if r["n"] == n), sum(r["n"] == n for r in rows))
            for n in sorted({r["n"] for r in rows})}
    ratio = [r["B_over_log_n"] for r in rows]
    return Evidence(
        "real",
        f"{source}: the score bound B = max|S_ij| is below ln n (the Alman–Song threshold in score units) on "
        + ", ".join(f"{k}/{m} heads at n = {n}" for n, (k, m) in by_n.items())
        + f"; B/ln n from {min(ratio):.2f} to {max(ratio):.2f}. Alman & Song 2023's fast algorithm needs "
        "d = O(log n) and scores o(log n), their SETH bound applies at scores of order log n; "
        + ("every head is above ln n" if not below else
           f"{len(below)}/{len(rows)} heads are below ln n, so not every head sits on the hard side")
        + " (constants unspecified: one n places no head on either side of an asymptotic threshold)",
        False if not below else None,
        {"bears_on": "T2.b", "heads": rows, "below_log_n": len(below), "by_n": {str(n): list(v) for n, v in by_n.items()},
         "threshold": "ln n (score units; entries √(ln n))"},
        key=key, measured=[r["B"] for r in rows], predicted=[r["log_n"] for r in rows])


def recorded_score_bounds(record: dict[str, Any] | None = None) -> Evidence:
    """The recorded full real-head sweep (record ``real_heads``: 72 heads at six lengths) against ``ln n``, or a
    note that the record is missing."""
    rec = load_record(HEADS_RECORD) if record is None else record
    if rec is None:
        return Evidence("real", f"record {HEADS_RECORD!r} is missing (python -m theorem.experiments {HEADS_RECORD})",
                        None, {"bears_on": "T2.b", "record": HEADS_RECORD, "missing": True},
                        key="record.real_heads.score_bound")
    ev = score_bound_evidence(score_bound_rows(rec["result"]["records"]), key="record.real_heads.score_bound",
                              source=f"recorded heads ({rec['provenance'].get('date')})")
    ev.data["provenance"] = rec["provenance"]
    return ev
