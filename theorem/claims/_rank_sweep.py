"""What the rank readings (T2, T3) share: the citations, the ε-rank sweep's settings and growth table,
the committed sweep record as context evidence, and the real heads' score bounds against ln n."""

from __future__ import annotations

import math
from typing import Any

from theorem.claims.ledger import Evidence, Profile
from theorem.experiments.records import load_record
from theorem.numeric.eps_rank.taylor import alman_song_threshold

__all__ = ["LITERATURE", "literature", "sweep_settings", "growth_table", "sweep_record_evidence", "RECORD",
           "HEADS_RECORD", "score_bound_rows", "score_bound_evidence", "recorded_score_bounds", "SMALL_D_RECORD",
           "small_d_table", "small_d_record_evidence"]

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
    """Where the heads' score bounds sit against ``ln n``: context for T2.b, never for or against it
    (``supports=None``): the theorems fix no constant, so heads measured at one n sit on neither side of an
    asymptotic threshold; the counts on each side of ``ln n`` are what the data say."""
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
        + (f"every head is above ln n, by a factor {min(ratio):.2f} at least" if not below else
           f"{len(below)}/{len(rows)} heads are below ln n, so not every head sits on the hard side")
        + " (constants unspecified: one n places no head on either side of an asymptotic threshold)",
        None,
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


#: the small-d, large-n sweep where the Taylor bound has content (theorem.experiments.eps_rank_small_d)
SMALL_D_RECORD = "eps_rank_small_d"
GROWING_SLOPE = 0.6  # log-log slope of ε-rank vs n above which the ε-rank counts as growing with n


def _loglog_slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of ``log rank`` against ``log n``."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(r, 1)) for _, r in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def small_d_table(records: list[dict], eps: float) -> dict[int, dict]:
    """Per head dimension d, at the largest n: per B the measured interval beside the Taylor bound, whether the
    bound has content (< n), the least-squares log-log slope of the ε-rank over every swept n (each n draws its
    own tokens, so a two-point slope is noisy), the intervals and bounds at every n, and ``B/ln n``; the smallest
    swept B whose bound reaches n (``vacuous_from``) and the smallest whose ε-rank grows with n
    (``growing_from``), both also in units of ln n; the largest slope among the B below ln n and among those at
    or above it (the Alman–Song threshold in score units); the B with the largest ε-rank at the largest n."""
    out: dict[int, dict] = {}
    for d in sorted({r["d"] for r in records}):
        rows = [r for r in records if r["d"] == d and r["eps"] == eps]
        ns = sorted({r["n"] for r in rows})
        if len(ns) < 2:
            continue
        n_max = ns[-1]
        log_n = math.log(n_max)
        per_b = {}
        for b in sorted({r["B"] for r in rows}):
            mine = sorted((r for r in rows if r["B"] == b), key=lambda r: r["n"])
            top = next(r for r in mine if r["n"] == n_max)
            slope = _loglog_slope([(r["n"], r["rank"]) for r in mine])
            per_b[b] = {"interval": [top["lower"], top["upper"]], "rank": top["rank"], "bound": top["taylor_bound"],
                        "bound_has_content": top["taylor_bound"] < n_max, "slope": slope, "B_over_log_n": b / log_n,
                        "ns": [r["n"] for r in mine], "intervals": [[r["lower"], r["upper"]] for r in mine],
                        "bounds": [r["taylor_bound"] for r in mine]}
        vac = [b for b, v in per_b.items() if not v["bound_has_content"]]
        grow = [b for b, v in per_b.items() if v["slope"] > GROWING_SLOPE]
        below = [v["slope"] for b, v in per_b.items() if b < log_n]
        above = [v["slope"] for b, v in per_b.items() if b >= log_n]
        peak = max(per_b, key=lambda b: per_b[b]["rank"])
        out[d] = {"n": n_max, "log_n": log_n, "per_B": per_b,
                  "vacuous_from": min(vac) if vac else None, "growing_from": min(grow) if grow else None,
                  "vacuous_from_over_log_n": min(vac) / log_n if vac else None,
                  "growing_from_over_log_n": min(grow) / log_n if grow else None,
                  "max_B": max(per_b), "max_B_over_log_n": max(per_b) / log_n,
                  "max_slope_below_log_n": max(below) if below else None,
                  "max_slope_above_log_n": max(above) if above else None,
                  "peak_B": peak, "peak_fraction_of_n": per_b[peak]["interval"][1] / n_max}
    return out


def _inputs(settings: dict) -> str:
    """The inputs of a small-d record, in words (records before the ``tokens`` setting used Gaussian tokens)."""
    if settings.get("tokens", "gaussian") == "bounded":
        return "entries of Q, K uniform on [−√B, √B], S = QKᵀ/d (Alman & Song's class, B = entry bound²)"
    return "Gaussian tokens, scores rescaled to max|S| = B"


def small_d_record_evidence(eps: float = 1e-3) -> Evidence:
    """The small-d sweep (record ``eps_rank_small_d``) for T3.c: where the Taylor bound has content, the measured
    ε-rank beside it, and where in B (score units, against ln n) the ε-rank starts to grow with n; or a note that
    the record is missing."""
    key = f"record.{SMALL_D_RECORD}"
    rec = load_record(SMALL_D_RECORD)
    if rec is None:
        return Evidence("record", f"record {SMALL_D_RECORD!r} is missing (python -m theorem.experiments "
                        f"{SMALL_D_RECORD}): the ε-rank where the Taylor bound has content is not shown", None,
                        {"record": SMALL_D_RECORD, "missing": True, "violations": []}, key=key)
    recs = rec["result"]["records"]
    table = small_d_table(recs, eps)
    violations = [r for r in recs if r["lower"] > r["taylor_bound"]]
    far_below = [r for r in recs if r["upper"] < r["n"] / 2]
    parts = []
    for d, t in table.items():
        content = {b: v for b, v in t["per_B"].items() if v["bound_has_content"]}
        parts.append(
            f"d = {d}, n = {t['n']} (ln n = {t['log_n']:.2f}): "
            + ", ".join(f"B={b:g}: [{v['interval'][0]}, {v['interval'][1]}] ≤ {v['bound']}" for b, v in content.items())
            + (f"; bound vacuous (= n) from B = {t['vacuous_from']:g} = {t['vacuous_from_over_log_n']:.2f}·ln n"
               if t["vacuous_from"] is not None else "; bound below n at every swept B")
            + (f"; ε-rank grows with n from B = {t['growing_from']:g} = {t['growing_from_over_log_n']:.2f}·ln n"
               if t["growing_from"] is not None else
               f"; ε-rank saturates in n at every swept B up to {t['max_B']:g} = {t['max_B_over_log_n']:.1f}·ln n")
            + "; largest slope " + ", ".join(
                f"{side} ln n {v:.2f}" for side, v in (("below", t["max_slope_below_log_n"]),
                                                      ("at or above", t["max_slope_above_log_n"])) if v is not None)
            + f"; largest ε-rank ≤ {t['peak_fraction_of_n']:.3f}·n (at B = {t['peak_B']:g})")
    prov = rec["provenance"]
    return Evidence(
        "record",
        f"small-d sweep (profile {rec['profile']}, {_inputs(rec['settings'])}, ε = {eps:g}, {prov.get('date')}): "
        + "; ".join(parts) + f"; measured above the bound at {len(violations)}/{len(recs)} points, "
        f"ε-rank < n/2 at {len(far_below)}/{len(recs)}",
        False if far_below else None,
        {"record": SMALL_D_RECORD, "profile": rec["profile"], "inputs": _inputs(rec["settings"]),
         "table": {str(d): t for d, t in table.items()},
         "violations": violations, "far_below_half_n": len(far_below), "provenance": prov},
        key=key,
        measured={str(d): {str(b): v["interval"] for b, v in t["per_B"].items()} for d, t in table.items()},
        predicted={str(d): {str(b): v["bound"] for b, v in t["per_B"].items()} for d, t in table.items()},
    )
