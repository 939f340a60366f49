"""What the rank readings (T2, T3) share: the citations, the ε-rank sweep's settings and growth table,
and the committed sweep record as context evidence."""

from __future__ import annotations

import math

from theorem.claims.ledger import Evidence, Profile
from theorem.experiments.records import load_record

__all__ = ["LITERATURE", "literature", "sweep_settings", "growth_table", "sweep_record_evidence", "RECORD"]

LITERATURE = {
    "keles2022": (
        "Keles, Wijewardena & Hegde 2022: computing self-attention exactly needs time quadratic in n "
        "unless the Strong Exponential Time Hypothesis (SETH) fails; a polynomial approximation of exp "
        "gives time linear in n but exponential in the polynomial's degree."
    ),
    "alman_song2023": (
        "Alman & Song 2023: with head dimension d = O(log n) and scores bounded by B = o(√log n), "
        "softmax attention can be approximated (entrywise error 1/poly(n)) in n^{1+o(1)} time; for "
        "B = Ω(√log n) no n^{2−Ω(1)} algorithm exists unless SETH fails."
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
    """Per B: ε-ranks by n and the log-log slope between the two largest n."""
    out: dict[float, dict] = {}
    for b in sorted({r["B"] for r in records}):
        rows = sorted((r for r in records if r["B"] == b and r["eps"] == eps), key=lambda r: r["n"])
        if len(rows) < 2:
            continue
        a, z = rows[-2], rows[-1]
        slope = math.log(max(z["rank"], 1) / max(a["rank"], 1)) / math.log(z["n"] / a["n"])
        out[b] = {"ns": [r["n"] for r in rows], "ranks": [r["rank"] for r in rows],
                  "intervals": [[r["lower"], r["upper"]] for r in rows], "taylor": [r["taylor_bound"] for r in rows],
                  "slope": slope, "sqrt_log_n_max": rows[-1]["sqrt_log_n"]}
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
