"""T8 (hypothesis 6.2), reading **T8.dimension**: the exact-algebra probe.

The function space an L-layer stack of row-normalized quadratic attention reaches (width ``w ≥ d``) has
dimension at least that of degree-p polynomial attention, so counting dimensions does not exclude the
hypothesis at any depth.  The dimension of a family is the generic rank of the Jacobian of its outputs on
``m`` token matrices with respect to its parameters (:mod:`theorem.training.exact_dimension`): the rank at one
dyadic rational point, computed exactly over Q, is a certified lower bound; the float64 rank (tolerance, gap)
at random points measures it.  Degree-p attention's dimension is at most ``2d² − 1`` for every even ``p``
(proved in :mod:`theorem.symbolic.function_dimension`), one quadratic layer's at most ``3d² − 1``; beyond one
layer the counts are measured only.

Rule: a stack whose exact rank at one point is ≥ ``2d² − 1`` is certified (its float64 troubles, if any, are
reported beside); for every other count, ``open`` when it is ill-defined (status, gap), unsaturated (two sample
counts disagree), the exact and float64 ranks at one point disagree, or it contradicts its proved bound;
``fails`` when a stack with ``w ≥ d`` measures below ``2d² − 1``; ``holds`` when every stack is certified;
``holds-with-conditions`` when some are float64 only.  A dimension is a necessary condition: the verdict says
nothing about whether the stack contains degree-p attention, so T8.probe stays open whatever this one says.
Evidence keys: ``live`` (a small exact check re-run here), ``record.function_dimension`` (the recorded sweep;
quick profile) or ``full`` (the sweep re-run; full profile).
"""

from __future__ import annotations

from typing import Any

from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find_optional
from theorem.experiments import function_dimension as fd
from theorem.experiments.records import load_record
from theorem.symbolic.function_dimension import POLY_ATTENTION, evaluate
from theorem.util.precision import float64

RECORD = "function_dimension"
LIVE = {"n": 4, "bits": 3, "seed": 3, "polys": [[2, 4, True]], "stacks": [[2, 4, 1, True]]}


def _label(r: dict[str, Any]) -> str:
    return (f"degree-{r['p']} attention (d={r['d']})" if r["family"] == "poly"
            else f"L={r['depth']} stack (d={r['d']}, w={r['width']})")


def _rank_text(r: dict[str, Any]) -> str:
    f = r["float"][-1]
    ex = r["exact"]
    return (f"{_label(r)}: {r['float_rank']} (float64 ranks {[x['float_rank'] for x in r['float']]} at "
            f"{[x['samples'] for x in r['float']]} samples, gap {f['gap']:.1e}, tol {f['tolerance']:.1e}; "
            + (f"exact over Q {ex['exact_rank']} at {ex['samples']} samples" if ex else "not certified exactly")
            + f"; closed form {'none (measured only)' if r['closed_form'] is None else r['closed_form']}, "
            f"{r['parameters']} parameters)")


def _evidence(key: str, result: dict[str, Any], what: str, extra: dict[str, Any] | None = None) -> Evidence:
    rows = result["rows"]
    return Evidence("numeric" if extra is None else "record", f"{what}: " + "; ".join(_rank_text(r) for r in rows),
                    None, {**result, **(extra or {})}, key=key,
                    measured=[r["float_rank"] if r["exact"] is None else r["exact"]["exact_rank"] for r in rows],
                    predicted=[r["closed_form"] for r in rows])


@float64
def gather_dimension(profile: Profile) -> list[Evidence]:
    if profile.full:
        return [_evidence("full", fd.run(fd.FULL, lambda _m: None), "function-space dimensions (full sweep, run here)")]
    out = [_evidence("live", fd.run(LIVE, lambda _m: None), "function-space dimensions (small exact check, run here)")]
    rec = load_record(RECORD)
    if rec is None:
        out.append(Evidence("record", f"record {RECORD!r} is missing (python -m theorem.experiments {RECORD}): the "
                            "dimensions as L grows are not reported", None, {"record": RECORD, "missing": True},
                            key=f"record.{RECORD}"))
    else:
        out.append(_evidence(f"record.{RECORD}", rec["result"], f"recorded sweep (record {RECORD!r}, not re-run here)",
                             {"provenance": rec["provenance"]}))
    return out


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """Why a count cannot be read: ill-defined, unsaturated, exact ≠ float64 at one point, above a proved bound."""
    out = []
    for r in rows:
        ex = r["exact"]
        if not r["ok"]:
            out.append(f"{_label(r)}: float64 rank ill-defined")
        if not r["saturated"]:
            out.append(f"{_label(r)}: ranks {[x['float_rank'] for x in r['float']]} differ with the sample count")
        if ex is not None and ex["exact_rank"] != ex["float_rank"]:
            out.append(f"{_label(r)}: exact rank {ex['exact_rank']} ≠ float64 rank {ex['float_rank']} at one point")
        if ex is not None and ex["exact_rank"] > r["float_rank"]:  # a rank at one point is ≤ the generic rank
            out.append(f"{_label(r)}: exact rank {ex['exact_rank']} above the float64 count {r['float_rank']}")
        if r["closed_form"] is not None and max(r["float_rank"], ex["exact_rank"] if ex else 0) > r["closed_form"]:
            out.append(f"{_label(r)}: count above its proved bound {r['closed_form']}")
    return out


def growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (d, w): the stack's dimension for each measured L and the increments from one depth to the next,
    beside ``2w² − 1`` (the parameters one layer adds on a full stream, modulo its product and scale)."""
    out = []
    for d, w in sorted({(r["d"], r["width"]) for r in rows if r["family"] == "stack"}):
        by_l = sorted((r["depth"], r["float_rank"]) for r in rows if r["family"] == "stack" and (r["d"], r["width"]) == (d, w))
        dims = dict(by_l)
        out.append({"d": d, "width": w, "dims": dims, "target": evaluate(POLY_ATTENTION, d=d),
                    "increments": {L: dims[L] - dims[L - 1] for L in dims if L - 1 in dims},
                    "full_stream_increment": 2 * w * w - 1})
    return out


def rule_dimension(evidence: list[Evidence]) -> Outcome:
    rows: list[dict[str, Any]] = []
    for key in ("full", "live", f"record.{RECORD}"):
        ev = find_optional(evidence, key)
        if ev is not None and not ev.data.get("missing"):
            rows.extend(ev.data["rows"])
    stacks = [r for r in rows if r["family"] == "stack" and r["width"] >= r["d"]]
    polys = [r for r in rows if r["family"] == "poly"]
    if not stacks or not polys:
        return Outcome(Verdict.OPEN, "no dimension counts for both families (a record missing?)")
    target = {r["d"]: evaluate(POLY_ATTENTION, d=r["d"]) for r in rows}
    certified = [r for r in stacks if r["exact"] is not None and r["exact"]["exact_rank"] >= target[r["d"]]]
    # a certified row is settled whatever its float64 count shows (an exact rank at a point bounds the dimension
    # from below); a problem anywhere else leaves the counts unread
    bad = problems([r for r in rows if r not in certified])
    if bad:
        return Outcome(Verdict.OPEN, "the dimension counts cannot be read: " + "; ".join(bad))
    notes = problems(certified)
    poly_text = ", ".join(f"p={r['p']} d={r['d']}: {r['float_rank']}" for r in polys)
    grow = "; ".join(f"d={g['d']} w={g['width']}: dim " + ", ".join(f"L={L} {v}" for L, v in g["dims"].items())
                     + f" (increments {list(g['increments'].values())}; 2w² − 1 = {g['full_stream_increment']})"
                     for g in growth(rows))
    head = (f"degree-p attention measures {poly_text} (2d² − 1 for every p: proved ≤, "
            f"{'certified = exactly' if all(r['exact'] for r in polys) else 'measured ='}); stacks: {grow}")
    below = [r for r in stacks if r["float_rank"] < target[r["d"]]]
    if below:
        return Outcome(Verdict.FAILS, head + "; below the target's dimension: " + ", ".join(_label(r) for r in below),
                       corrected=f"{', '.join(_label(r) for r in below)} cannot contain degree-p attention (dimension)")
    cert, uncertified = certified, [r for r in stacks if r not in certified]
    if notes:
        head += ("; float64 unreliable where the exact rank certifies the bound anyway: " + "; ".join(notes))
    tail = ("; counting dimensions does not separate depths: one layer already exceeds the target, for every p, "
            "so it neither supports nor excludes 6.2")
    if uncertified:
        return Outcome(Verdict.HOLDS_WITH_CONDITIONS,
                       head + f"; every stack ≥ 2d² − 1, certified exactly for {len(cert)} of {len(stacks)} "
                       f"(float64 only: {', '.join(_label(r) for r in uncertified)})" + tail,
                       corrected="at the measured sizes the stacks' dimension is at least degree-p attention's "
                       "(exact lower bounds where certified, float64 counts elsewhere); a necessary condition only")
    return Outcome(Verdict.HOLDS, head + f"; every stack ≥ 2d² − 1, all {len(stacks)} certified exactly over Q" + tail,
                   corrected="at the measured sizes the stacks' dimension is at least degree-p attention's "
                   "(certified); a necessary condition only")


READINGS = (
    Reading(
        "T8.dimension",
        "At every measured size (d, width w ≥ d, depth L), the function space of an L-layer quadratic-attention "
        "stack has dimension at least that of degree-p polynomial attention (2d² − 1 for every even p): "
        "counting dimensions does not exclude hypothesis 6.2.",
        gather_dimension,
        rule_dimension,
    ),
)
