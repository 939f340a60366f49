"""T1, "the space the parameters actually explore", read along training and across data (issue 13 §1).

The one-point reading is T1.a (the pulled-back space at one parameter point).  Two more senses of
"explores", each with its closed form (docs/pullback.md, "What the parameters explore";
:mod:`theorem.symbolic.spans`) set beside its measurement (:mod:`theorem.experiments.spans`):

* **T1.explores.training** — along a training trajectory (the harness's own fit, θ = M): the span of the
  gradients met, ``span{∇L(M_t; X_t)}_{t<T}``, inside the union of the pulled-back spaces at the points visited,
  ``Σ_{t<T} P(M_t, X_t)`` (closed form: softmax and CSQ ``r·ρ_∪`` at every T, poly2 ``r² − par``);
* **T1.explores.data** — across data: ``Σ_i P(M, X_i)`` over many token matrices at one point (softmax and CSQ
  ``r·ρ_∪``, poly2 ``r² − 1``).

Evidence keys: ``symbolic.spans`` (exact checks of the closed forms), ``<sense>.<kernel>.<family>.<stream>.s<seed>.d<d>``
(one live fit each, quick settings), ``record.spans`` (the committed FULL record, or "missing").
"""

from __future__ import annotations

from theorem.claims._spans import SENSE_FIELDS, all_rows, describe_row, final, gather_rows, last_gradient_rank, reliable
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find

__all__ = ["READINGS", "rule_training", "rule_data", "CORRECTED"]

CORRECTED = {
    "trajectory": (
        "Along training the gradients met lie in Σ_t P(M_t, X_t), of dimension r·ρ_∪ for softmax and CSQ at every "
        "trajectory length (r = dim of the tokens' row space, ρ_∪ = rank[H X_1; …; H X_T], H = I − 11ᵀ/n): their "
        "deficit (the row-shift directions lost when 1 ∈ col X) does not depend on θ, so the span along training "
        "stays at its one-point value — d(d − 1) on LayerNorm+affine tokens of one layer (one γ, β), d² on data "
        "with 1 ∉ col X_t. poly2's deficit (the direction M_t itself) moves with M_t: r² − 1 at one point, r² from "
        "the second point on."
    ),
    "data": (
        "Across data at one point the union Σ_i P(M, X_i) has dimension r·ρ_∪ for softmax and CSQ: d² once the "
        "centred token matrices together span R^d (Gaussian tokens, or LayerNorm+affine matrices with different "
        "γ, β), but d(d − 1) for the LayerNorm+affine tokens of one layer (every X_i c = 1 with the same "
        "c = diag(γ)⁻¹1/(Σ β/γ), so the 1-direction is lost for the whole data set); and r² − 1 for poly2 at "
        "every data set (A(αM; X) = A(M; X) for every X: the direction M is invisible across all data)."
    ),
}

_WHAT = {"trajectory": "along the trajectory", "data": "across the data"}


def _rule(ev: list[Evidence], sense: str) -> Outcome:
    if find(ev, "symbolic.spans").supports is False:
        return Outcome(Verdict.OPEN, "the exact checks of the span closed forms failed: " + find(ev, "symbolic.spans").summary)
    rows = [r for r in all_rows(ev) if r["in_regime"]]
    good = [r for r in rows if reliable(r, sense)]
    field, pfield = SENSE_FIELDS[sense]
    contradicted = [r for r in rows if all(s == "ok" for s in r[field]["status"])
                    and None not in r[pfield] and r[field]["rank"] != r[pfield]]
    if contradicted:
        r = contradicted[0]
        return Outcome(Verdict.OPEN, f"the measured span {_WHAT[sense]} contradicts its closed form: {r['kernel']} on "
                       f"{r['family']} (n = {r['n']}, d = {r['d']}): measured {r[field]['rank']} vs {r[pfield]}",
                       counterexample=describe_row(r, sense))
    if not good:
        return Outcome(Verdict.OPEN, f"no in-regime measurement {_WHAT[sense]} is well defined and claimed by its closed form")
    below = [r for r in good if final(r, sense) < r["d_squared"]]
    soft = [r for r in below if r["kernel"] == "softmax"]
    counts = f"{len(good)} reliable in-regime fits (measured = closed form at every length)"
    if soft:
        r = soft[0]
        return Outcome(Verdict.FAILS, f"{counts}; softmax on {r['family']} tokens (n = {r['n']}, d = {r['d']}) spans "
                       f"{final(r, sense)} < d² = {r['d_squared']} {_WHAT[sense]} (one point: {r['one_point']['rank']})",
                       CORRECTED[sense], describe_row(r, sense))
    if below:
        kernels = sorted({r["kernel"] for r in below})
        r = below[0]
        return Outcome(Verdict.HOLDS_WITH_CONDITIONS, f"{counts}; softmax reaches d² {_WHAT[sense]} on every family, "
                       f"{', '.join(kernels)} stay below (e.g. {r['kernel']} on {r['family']}: {final(r, sense)} < "
                       f"{r['d_squared']})", CORRECTED[sense], describe_row(r, sense))
    if sense == "trajectory":
        short = [r for r in good if (last_gradient_rank(r) or 0) < r["d_squared"]]
        if short:
            r = short[0]
            return Outcome(Verdict.OPEN, f"{counts}; the unions reach d², but the gradients met in {r['steps']} steps "
                           f"span only {last_gradient_rank(r)} ({r['kernel']}, {r['family']}; largest well-defined "
                           "rank): trajectories too short")
    return Outcome(Verdict.HOLDS, f"{counts}; every one reaches d² {_WHAT[sense]}")


def gather_training(profile: Profile) -> list[Evidence]:
    return gather_rows(profile, "trajectory")


def rule_training(ev: list[Evidence]) -> Outcome:
    return _rule(ev, "trajectory")


def gather_data(profile: Profile) -> list[Evidence]:
    return gather_rows(profile, "data")


def rule_data(ev: list[Evidence]) -> Outcome:
    return _rule(ev, "data")


READINGS = (
    Reading("T1.explores.training", "Along a training trajectory (θ = M, the harness's own fit), the gradients met "
            "span a d²-dimensional space (and so does the union of the pulled-back spaces at the points visited, "
            "which contains them), for softmax, poly2 and CSQ on every token family in the claim's regime "
            "(d ≥ 2, n > d, rank X = d).", gather_training, rule_training),
    Reading("T1.explores.data", "Across data, the union of the pulled-back spaces over many token matrices "
            "X_1, …, X_m at one parameter point is d²-dimensional, for softmax, poly2 and CSQ on every token family "
            "in the claim's regime.", gather_data, rule_data),
)
