"""T7.b's soft penalty: its cost traced now (:func:`penalty_evidence`), and the comparison of the exact
penalty with its linear-time candidates read from the record ``penalty_candidates`` (experiment
:mod:`theorem.experiments.penalty_candidates`, :func:`gather_candidates`).

What the penalty is for is what T6.e measures: it lowers the held-out (a) reversal rate at some cost to the
task loss, and it must not make training less stable.  Per penalty and weight λ the record gives, at the
reference learning rate, the median over seeds of the held-out (a) rate and task loss: an *operating point*
(a, loss).  The exact penalty's points (λ > 0) are the targets; a candidate **matches** a target
(a_E, L_E) when its own points reach that monotonicity at no more than ``1 + LOSS_TOLERANCE`` times the
loss: a point with a ≤ a_E·(1 + A_TOLERANCE) and loss ≤ L_E·(1 + LOSS_TOLERANCE), or the piecewise-linear
interpolation of its points in (log a, loss) at a_E within that loss.  Stability: over every (λ > 0,
learning rate, seed) the diverged and the trained runs, the candidate against the exact penalty by
Newcombe's 95 % interval for a difference of rates.  A candidate **keeps** what the penalty is for when its
gradient's cost is linear in n (the record's traced cost table), it matches every target, it does not
diverge more and does not train less (intervals).

Evidence keys: ``penalty.exact`` (decides), ``penalty.moments``, ``penalty.sampled`` (traced now, context);
``record.penalty_candidates``; ``reference.exact``, ``reference.none`` (λ = 0),
``reference.softmax`` (context); ``candidate.<slug>`` per candidate (measured: targets matched, predicted:
targets).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theorem.claims.ledger import Evidence, find_all
from theorem.experiments.records import load_record
from theorem.kernels.penalties import PenaltySpec, violation_bound
from theorem.numeric.penalty_cost import growth_exponent, penalty_profile
from theorem.training.statistics import newcombe_difference, wilson_interval

__all__ = ["PENALTY_NS", "PENALTY_M", "penalty_evidence", "keeping", "corrected_penalty", "RECORD", "LOSS_TOLERANCE", "A_TOLERANCE", "A_FLOOR", "gather_candidates", "operating_points",
           "frontier_loss", "matched_targets", "slug"]

RECORD = "penalty_candidates"
#: a candidate matches a target when its loss is at most this much (relative) above the exact penalty's
LOSS_TOLERANCE = 0.03
#: … at an (a) rate at most this much (relative) above the target's (medians of a few seeds)
A_TOLERANCE = 0.25
#: (a) rates below this are read as this on the log scale (about one reversed pair in 10⁵)
A_FLOOR = 1e-5


#: sizes at which the penalties' gradient programs are traced now (d_k = 4, as the attention's counts)
PENALTY_NS = (256, 1024)
#: keys per query of the sampled penalty traced now
PENALTY_M = 16


def penalty_evidence(attention_ops: dict[int, int]) -> list[Evidence]:
    """The soft penalty's gradient, traced now: the exact (reconstructed) penalty decides; the two linear-time
    candidates (feature-space moments, sampled keys) are context, their cost counted the same way."""
    out = []
    for name in ("exact", "moments", "sampled"):
        rows = penalty_profile(PenaltySpec(name, m=PENALTY_M), PENALTY_NS, dk=4)
        growth = growth_exponent(rows)
        square = len(rows[-1]["square"])  # at the largest n traced
        linear = all(not r["square"] for r in rows) and growth < 1.5
        what = {"exact": "the penalty as reconstructed, mean relu(−(s̃+c))² over all pairs",
                "moments": "candidate: per-query mean and variance of s̃+c from the keys' moments (exact)",
                "sampled": f"candidate: the summand on m = {PENALTY_M} sampled keys per query"}[name]
        out.append(Evidence(
            "numeric",
            f"{what}: jax.grad traced at d_k = 4: " + ", ".join(
                f"n={r['n']}: {r['forward_and_backward']:,} ops (attention's own forward+backward "
                f"{attention_ops.get(r['n'], 0):,}), largest array {r['largest_array']}" for r in rows)
            + f"; operations ∝ n^{growth:.2f}; {square} arrays with two axes ≥ n at n = {rows[-1]['n']}",
            linear if name == "exact" else None,
            {"rows": rows, "growth_exponent": growth, "square_arrays": square, "attention_ops": attention_ops,
             "linear": linear},
            key=f"penalty.{name}", measured=[r["forward_and_backward"] for r in rows],
            predicted=[attention_ops.get(r["n"]) for r in rows],
        ))
    return out


def keeping(ev: list[Evidence]) -> tuple[list[Evidence], Evidence | None]:
    """The candidates that keep what the penalty is for (module docstring), and the best candidate (most
    targets matched, then fewest diverged runs); none when the record is missing."""
    cands = find_all(ev, "candidate")
    keeps = [e for e in cands if e.data["keeps"]]
    best = max(cands, key=lambda e: (e.measured, -e.data["stability"]["diverged"]), default=None)
    return keeps, best


def _profile_text(ev_record: Evidence | None) -> str:
    if ev_record is None or ev_record.data.get("missing"):
        return "no comparison recorded"
    st = ev_record.data["settings"]
    return (f"record {RECORD}, {ev_record.data['profile']} profile: {len(st['seeds'])} seeds × {len(st['lrs'])} "
            f"learning rates × λ ∈ {st['lams']}, {st['steps']} steps, T6.e's matching task at n = {st['n']}")


def corrected_penalty(ratios: list[float], exact: Evidence, keeps: list[Evidence], best: Evidence | None,
                      record: Evidence | None = None, candidates: tuple[Evidence, ...] = ()) -> str:
    """The corrected statement of T7.b when the exact penalty's gradient is not linear in n."""
    lo, hi = min(ratios), max(ratios)
    n_big = exact.data["rows"][-1]["n"]
    head = (
        f"Gradients through the exact linear form cost a constant multiple of the forward ({lo:.2f}–{hi:.2f}× its "
        "operations, the same at every n): O(n·d_k²·d_v) per head, no n×n array. Training with the soft penalty as "
        "reconstructed (mean relu(−(s̃+c))² over all visible pairs) does not: the penalty needs every one of the "
        f"n² centred scores, its gradient's program holds {exact.data['square_arrays']} arrays with two axes ≥ n "
        f"and its operations grow as n^{exact.data['growth_exponent']:.2f} ({exact.measured[-1]:,} at n = {n_big}, "
        f"against the attention's {exact.predicted[-1]:,}), so training with it is Θ(n²·d_k). "
    )
    where = _profile_text(record)
    others = "; ".join(f"'{e.data['label']}' matches {e.measured} of {e.predicted}{_beyond(e.data.get('matches', []))}"
                       for e in candidates if not e.data["keeps"])
    if keeps:
        k = keeps[0].data
        kappa = k["kappa"] if k["penalty"] == "moments" else None
        guarantee = (f", which guarantees that at most 1/(1+κ²) = {violation_bound(kappa):.0%} of a cleared query's keys "
                     "lie below the vertex (Cantelli)" if kappa else "")
        costs = [p["task_loss"] / k["base_loss"] - 1 for p in k["points"].values()]
        return head + (
            f"With the linear-time penalty '{k['label']}' instead (gradient ∝ n^{k['cost']['ops_exponent']:.2f}, no n×n "
            f"array){guarantee}, training keeps what the penalty is for on the T6.e task: it matches "
            f"{keeps[0].measured} of {keeps[0].predicted} of the exact penalty's operating points (the same held-out (a) "
            f"rate at a task loss within {LOSS_TOLERANCE:.0%}; its own loss cost {min(costs):+.0%} to {max(costs):+.0%} "
            f"over the unpenalized head, as the exact penalty's), diverging in {k['stability']['diverged']}/"
            f"{k['stability']['runs']} runs and training in {k['stability']['trained']}/{k['stability']['runs']} "
            f"({where}{'; ' + others if others else ''}). So training in O(n·d_k²·d_v) per head holds with that "
            "penalty, not with the reconstructed one."
        )
    if best is None:
        return head + f"Whether a linear-time penalty keeps what it is for is not measured ({where})."
    b = best.data
    return head + (
        f"No linear-time candidate keeps what it is for ({where}): the best, '{b['label']}', matches "
        f"{best.measured} of {best.predicted} of the exact penalty's operating points (held-out (a) rate at a task loss "
        f"within {LOSS_TOLERANCE:.0%}), diverging in {b['stability']['diverged']}/{b['stability']['runs']} runs."
    )


def slug(label: str) -> str:
    """``moments κ=2`` → ``moments-kappa=2``, ``sampled m=4`` → ``sampled-m=4`` (an evidence key part)."""
    return label.replace(" κ=", "-kappa=").replace(" m=", "-m=").replace(" ", "-")


def operating_points(rows: list[dict], reference_lr: float) -> dict[float, dict[str, float]]:
    """Per λ, at the reference learning rate: the medians over seeds of the (a) rate, task loss, target mass
    and keys below the vertex, and the number of seeds."""
    out: dict[float, dict[str, float]] = {}
    for lam in sorted({r["lam"] for r in rows}):
        sel = [r for r in rows if r["lam"] == lam and r["lr"] == reference_lr]
        if not sel:
            continue
        med = {k: float(np.median([float(r[k]) for r in sel]))  # a record writes nan as "nan"
               for k in ("a_rate", "task_loss", "target_mass", "below_vertex")}
        out[float(lam)] = med | {"seeds": len(sel)}
    return out


def frontier_loss(points: list[tuple[float, float]], a: float) -> float:
    """The least loss a penalty reaches at (a) rate ``a`` from its points ``(a_i, loss_i)``: the least loss
    of a point with a_i ≤ a·(1 + A_TOLERANCE), or the interpolation in (log a, loss) between two points
    bracketing a; ∞ when neither exists."""
    best = min((loss for ai, loss in points if ai <= a * (1 + A_TOLERANCE)), default=math.inf)
    x = math.log(max(a, A_FLOOR))
    pts = sorted((math.log(max(ai, A_FLOOR)), loss) for ai, loss in points)
    for (x0, l0), (x1, l1) in zip(pts, pts[1:]):
        if x0 <= x <= x1 and x1 > x0:
            best = min(best, l0 + (l1 - l0) * (x - x0) / (x1 - x0))
    return best


def matched_targets(targets: dict[float, dict], points: dict[float, dict]) -> list[dict]:
    """For each exact operating point: the candidate's frontier loss at its (a) rate, whether it matches, and
    whether the candidate's points reach that (a) rate at all (``within_reach``; False: beyond its λ range)."""
    own = [(p["a_rate"], p["task_loss"]) for lam, p in points.items() if lam > 0]
    out = []
    for lam, t in targets.items():
        if lam <= 0:
            continue
        loss = frontier_loss(own, t["a_rate"])
        reach = min((ai for ai, _ in own), default=math.inf) <= t["a_rate"] * (1 + A_TOLERANCE)
        out.append({"lam": lam, "a_rate": t["a_rate"], "exact_loss": t["task_loss"], "candidate_loss": loss,
                    "matched": loss <= t["task_loss"] * (1 + LOSS_TOLERANCE), "within_reach": reach})
    return out


def _stability(rows: list[dict]) -> dict[str, Any]:
    runs = [r for r in rows if r["lam"] > 0] or rows
    div, trained = sum(r["diverged"] for r in runs), sum(r["trained"] for r in runs)
    return {"runs": len(runs), "diverged": div, "trained": trained,
            "diverged_interval": wilson_interval(div, len(runs)), "trained_interval": wilson_interval(trained, len(runs))}


def _missing() -> list[Evidence]:
    return [Evidence("record", f"record {RECORD!r} is missing (`python -m theorem.experiments {RECORD}`): the "
                     "candidates are not compared with the exact penalty", None, {"missing": True},
                     key=f"record.{RECORD}")]


def _points_text(points: dict[float, dict], base_loss: float) -> str:
    return ", ".join(f"λ={lam:g}: (a) {p['a_rate']:.4f}, loss {p['task_loss']:.3f} ({p['task_loss'] / base_loss - 1:+.0%})"
                     for lam, p in points.items())


def gather_candidates() -> list[Evidence]:
    """The record read: provenance, the references, and one item per candidate."""
    rec = load_record(RECORD)
    if rec is None:
        return _missing()
    res, prov = rec["result"], rec["provenance"]
    ref_lr = res["reference_lr"]
    runs = res["runs"]
    by_label: dict[str, list[dict]] = {}
    for r in runs:
        by_label.setdefault(r["label"], []).append(r)
    cost = {p["label"]: p for p in res["cost"]["penalties"]}
    settings = rec["settings"]
    ev = [Evidence(
        "record",
        f"record {RECORD} ({rec['profile']} profile, {prov.get('date')}, commit {str(prov.get('git_commit'))[:10]}, "
        f"{prov.get('seconds')} s): {len(runs)} runs, {len(settings['seeds'])} seeds × learning rates "
        f"{settings['lrs']} × λ {settings['lams']}, {settings['steps']} Adam steps, n = {settings['n']}; "
        f"operating points at lr = {ref_lr:g}",
        None, {"profile": rec["profile"], "provenance": prov, "settings": settings, "reference_lr": ref_lr},
        key=f"record.{RECORD}", measured=len(runs))]
    base = operating_points(by_label["none"], ref_lr)[0.0]
    exact_rows = [r for r in by_label["exact"] if r["lam"] > 0]
    targets = operating_points(exact_rows, ref_lr)
    exact_stab = _stability(exact_rows)
    ev.append(Evidence(
        "numeric", f"unpenalized CSQ (λ = 0) at lr = {ref_lr:g}: (a) {base['a_rate']:.4f}, loss {base['task_loss']:.3f} "
        f"(medians of {base['seeds']} seeds)", None, {"point": base, "stability": _stability(by_label["none"])},
        key="reference.none", measured=base["a_rate"]))
    ev.append(Evidence(
        "numeric", "exact penalty: " + _points_text(targets, base["task_loss"])
        + f"; diverged {exact_stab['diverged']}/{exact_stab['runs']}, trained {exact_stab['trained']}/{exact_stab['runs']}",
        None, {"points": targets, "stability": exact_stab, "cost": cost.get("exact")},
        key="reference.exact", measured=[p["a_rate"] for p in targets.values()]))
    if "softmax" in by_label:
        sm = operating_points(by_label["softmax"], ref_lr)[0.0]
        ev.append(Evidence("numeric", f"softmax (no penalty) at lr = {ref_lr:g}: loss {sm['task_loss']:.3f}, target mass "
                           f"{sm['target_mass']:.3f}, (a) {sm['a_rate']:.4f}", None, {"point": sm},
                           key="reference.softmax", measured=sm["task_loss"]))
    for label, rows in by_label.items():
        if label in ("none", "exact", "softmax"):
            continue
        ev.append(_candidate_evidence(label, rows, targets, exact_stab, cost.get(label), base, ref_lr))
    return ev


def _beyond(matches: list[dict]) -> str:
    out = sum(not m["within_reach"] for m in matches)
    return f", {out} of them more monotone than any of its own points (beyond its λ range)" if out else ""


def _candidate_evidence(label, rows, targets, exact_stab, cost, base, ref_lr) -> Evidence:
    pos = [r for r in rows if r["lam"] > 0]
    points = operating_points(pos, ref_lr)
    matches = matched_targets(targets, points)
    stab = _stability(pos)
    div = newcombe_difference(stab["diverged"], stab["runs"], exact_stab["diverged"], exact_stab["runs"])
    trn = newcombe_difference(stab["trained"], stab["runs"], exact_stab["trained"], exact_stab["runs"])
    linear = cost is not None and cost["square_arrays"] == 0 and cost["ops_exponent"] < 1.5
    kept = sum(m["matched"] for m in matches)
    keeps = linear and kept == len(matches) and div["low"] <= 0 and trn["high"] >= 0
    cost_text = ("cost not traced" if cost is None else
                 f"gradient operations ∝ n^{cost['ops_exponent']:.2f}, {cost['square_arrays']} arrays with two axes ≥ n")
    return Evidence(
        "numeric",
        f"{label}: {cost_text}; " + _points_text(points, base["task_loss"])
        + f"; matches {kept} of {len(matches)} exact operating points{_beyond(matches)} (" + ", ".join(
            f"exact λ={m['lam']:g}: loss {m['candidate_loss']:.3f} vs {m['exact_loss']:.3f}" for m in matches)
        + f"); diverged {stab['diverged']}/{stab['runs']} (exact {exact_stab['diverged']}/{exact_stab['runs']}, "
        f"difference {div['difference']:+.2f} [{div['low']:+.2f}, {div['high']:+.2f}]), trained {stab['trained']}/"
        f"{stab['runs']} (exact {exact_stab['trained']}/{exact_stab['runs']}, difference {trn['difference']:+.2f} "
        f"[{trn['low']:+.2f}, {trn['high']:+.2f}])",
        None,
        {"label": label, "penalty": rows[0]["penalty"], "kappa": rows[0].get("kappa"), "m": rows[0].get("m"),
         "points": points, "matches": matches, "stability": stab,
         "divergence_difference": div, "trained_difference": trn, "base_loss": base["task_loss"], "linear": linear, "cost": cost, "keeps": keeps},
        key=f"candidate.{slug(label)}", measured=kept, predicted=len(matches))
