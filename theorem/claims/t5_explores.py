"""T5, "a degree-2 kernel explores exactly the same landscape", read along training and across data.

The one-point reading is T5.a.  Here the spans of :mod:`theorem.claims.t1_explores` (same rows, same closed
forms) are compared between kernels on the same data, shape, stream and seed:

* **T5.explores.training** — the union of the pulled-back spaces along the fit (and the gradients met);
* **T5.explores.data** — the union over many token matrices at one parameter point.

For each group of fits that differ only in the kernel, the spans agree *at the end* (last length), *at one
point* (the first length) or *never* (they differ at every length).  The answer to the T5 question — on which
data the two kernels' spans agree along training and on which they never do — is rendered into the outcome
from these groups (closed forms: softmax and CSQ ``r·ρ_∪``; poly2 ``r² − par`` along training, ``r² − 1``
across data).

Evidence keys: those of :mod:`theorem.claims.t1_explores` (``symbolic.spans``, one item per live fit,
``record.spans``).
"""

from __future__ import annotations

from theorem.claims._spans import SENSE_FIELDS, all_rows, gather_rows, group_key, reliable
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find

__all__ = ["READINGS", "rule_training", "rule_data", "compare_groups"]

_WHAT = {"trajectory": "along training", "data": "across data"}


def compare_groups(ev: list[Evidence], sense: str) -> list[dict]:
    """Each group of reliable fits with ≥ 2 kernels: the kernels' ranks against length and whether they agree
    at the end, at the first length, and at some length."""
    field = SENSE_FIELDS[sense][0]
    groups: dict[tuple, dict[str, list[int]]] = {}
    for r in all_rows(ev):
        if reliable(r, sense):
            groups.setdefault(group_key(r), {})[r["kernel"]] = r[field]["rank"]
    out = []
    for (family, stream, seed, n, d), ranks in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if "softmax" not in ranks or len(ranks) < 2:
            continue
        length = min(len(v) for v in ranks.values())
        at = [len({v[t] for v in ranks.values()}) == 1 for t in range(length)]
        out.append({"family": family, "stream": stream, "seed": seed, "n": n, "d": d, "d_squared": d * d,
                    "ranks": {k: v[:length] for k, v in ranks.items()}, "final": {k: v[length - 1] for k, v in ranks.items()},
                    "agree_end": at[-1], "agree_first": at[0], "never": not any(at)})
    return out


def _families(groups: list[dict], pred) -> list[str]:
    """The data (family and stream) of the groups where ``pred`` holds."""
    return sorted({f"{g['family']} ({g['stream']} stream)" for g in groups if pred(g)})


def _answer(groups: list[dict], sense: str, finals: bool = True) -> str:
    """Where the spans agree and where they never do (and, with ``finals``, the final spans at the smallest d)."""
    agree = _families(groups, lambda g: g["agree_end"])
    never = _families(groups, lambda g: g["never"])
    differ = _families(groups, lambda g: not g["agree_end"] and not g["never"])
    text = (f"measured {_WHAT[sense]}: the spans agree on {', '.join(agree) or 'no data'}; never agree (at no length) "
            f"on {', '.join(never) or 'no data'}" + (f"; differ at the end on {', '.join(differ)}" if differ else ""))
    if not finals:
        return text
    d = min(g["d"] for g in groups)
    shown = {(g["family"], g["stream"]): g for g in groups if g["d"] == d}
    return text + f" (final spans at d = {d}, d² = {d * d}: " + "; ".join(
        f"{fam} ({stream}): " + ", ".join(f"{k} {v}" for k, v in sorted(g["final"].items()))
        for (fam, stream), g in sorted(shown.items())) + ")"


CORRECTED = {
    "trajectory": (
        "Along training the kernels explore the same span exactly where softmax loses nothing: where the centred "
        "tokens met span the row space (ρ_∪ = r, e.g. Gaussian tokens, 1 ∉ col X_t), both reach r² from the second "
        "point on (at one point poly2 has r² − 1); on LayerNorm+affine tokens of one layer (one γ, β) they never "
        "agree: softmax and CSQ stay at d(d − 1) at every trajectory length, poly2 reaches d² from T = 2."
    ),
    "data": (
        "Across data at one parameter point the spans never agree on rank-d data: softmax and CSQ have r·ρ_∪ (d² "
        "unless every X_i shares the 1-direction, d(d − 1) for LayerNorm+affine tokens of one layer), poly2 has "
        "r² − 1 at every data set (the direction M is invisible for every X)."
    ),
}


def _rule(ev: list[Evidence], sense: str) -> Outcome:
    if find(ev, "symbolic.spans").supports is False:
        return Outcome(Verdict.OPEN, "the exact checks of the span closed forms failed: " + find(ev, "symbolic.spans").summary)
    groups = compare_groups(ev, sense)
    if not groups:
        return Outcome(Verdict.OPEN, f"no data set {_WHAT[sense]} on which softmax and another kernel are both "
                       "measured reliably (well defined, measured = closed form)")
    answer = _answer(groups, sense)
    split = [g for g in groups if not g["agree_end"]]
    if split:
        g = next((g for g in split if g["never"]), split[0])
        cx = {k: g[k] for k in ("family", "stream", "seed", "n", "d", "d_squared", "final", "never")}
        return Outcome(Verdict.FAILS, answer, CORRECTED[sense] + " " + _answer(groups, sense, finals=False), cx)
    if any(not g["agree_first"] for g in groups):
        return Outcome(Verdict.HOLDS_WITH_CONDITIONS, answer, f"the spans agree {_WHAT[sense]} but not at one point: "
                       + _answer(groups, sense, finals=False))
    return Outcome(Verdict.HOLDS, answer)


def gather_training(profile: Profile) -> list[Evidence]:
    return gather_rows(profile, "trajectory")


def rule_training(ev: list[Evidence]) -> Outcome:
    return _rule(ev, "trajectory")


def gather_data(profile: Profile) -> list[Evidence]:
    return gather_rows(profile, "data")


def rule_data(ev: list[Evidence]) -> Outcome:
    return _rule(ev, "data")


READINGS = (
    Reading("T5.explores.training", "Along training (θ = M, the harness's own fit on the same data from the same "
            "start), poly2 and CSQ explore the same span as softmax: the unions of the pulled-back spaces at the "
            "points visited (which hold the gradients met) have the same dimension, on every token family.",
            gather_training, rule_training),
    Reading("T5.explores.data", "Across data (the union of the pulled-back spaces over many token matrices at one "
            "parameter point), poly2 and CSQ explore the same span as softmax, on every token family.",
            gather_data, rule_data),
)
