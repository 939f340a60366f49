"""Shared evidence for the "explores" readings of T1 and T5: spans along training and across data.

The rows come from :func:`theorem.experiments.spans.measure`: the quick profile measures the experiment's
``QUICK`` settings now (one fit per kernel × family, seconds; computed once per process and shared by the four
readings), and every profile adds the committed record ``spans`` (``FULL``: more kernels, families, streams,
seeds, d = 5 and longer trajectories) when it exists; a missing record is reported as missing.

A row is *reliable* for a sense when every rank in it is well defined (tolerance and gap agree), every
closed form is claimed (its conditions hold) and measured = closed form at every length; for the trajectory
sense also the gradients met stay within their ceiling ``min(T, union)``.  Rules only lean on reliable rows.
"""

from __future__ import annotations

import functools
from typing import Any

from theorem.claims.ledger import Evidence, Profile
from theorem.experiments.records import load_record
from theorem.experiments.spans import NAME as RECORD
from theorem.experiments.spans import QUICK, run
from theorem.symbolic.spans import prove_span_formulas

__all__ = ["RECORD", "SENSE_FIELDS", "live_rows", "record_rows", "reliable", "final", "derivation_evidence",
           "row_evidence", "record_evidence", "all_rows", "group_key", "compact", "gather_rows", "describe_row",
           "last_gradient_rank"]

#: the fields of a row holding a sense's measured ranks and closed forms
SENSE_FIELDS: dict[str, tuple[str, str]] = {"trajectory": ("union", "union_predicted"), "data": ("data", "data_predicted")}


@functools.lru_cache(maxsize=1)
def live_rows() -> tuple[dict, ...]:
    """The ``QUICK`` rows, measured once per process."""
    return tuple(run(QUICK, log=lambda _msg: None)["rows"])


#: the fields of a row each sense's evidence keeps (the rest stays in the record)
_KEEP = ("kernel", "family", "stream", "seed", "n", "d", "steps", "d_squared", "in_regime", "one_point")
_SENSE_KEEP = {"trajectory": ("lengths", "union", "union_predicted", "union_formula", "grads", "grads_ceiling",
                              "loss_first", "loss_last", "diverged"),
               "data": ("data_counts", "data", "data_predicted", "data_formula", "data_invariants")}


def compact(row: dict, sense: str) -> dict:
    """The fields of the row that ``sense`` reads, without the per-length gaps (they stay in the record)."""
    keep = _KEEP + _SENSE_KEEP[sense]
    return {k: ({kk: vv for kk, vv in v.items() if kk != "gap"} if isinstance(v, dict) and "gap" in v else v)
            for k, v in row.items() if k in keep}


def record_rows(sense: str) -> list[dict] | None:
    """The committed record's rows (compacted for ``sense``), or None when the record is missing."""
    rec = load_record(RECORD)
    return None if rec is None else [compact(r, sense) for r in rec["result"]["rows"]]


@functools.lru_cache(maxsize=1)
def _derivation():
    return prove_span_formulas()


def derivation_evidence() -> Evidence:
    d = _derivation()
    return Evidence("symbolic", f"SymPy (exact): {d.detail}", None if d.holds else False,
                    {"holds": d.holds, "statement": d.statement_latex, "detail": d.detail},
                    key="symbolic.spans", measured=d.holds, predicted=True)


def reliable(row: dict, sense: str) -> bool:
    """Every rank of ``sense`` well defined and equal to its (claimed) closed form; for the trajectory also every
    well-defined rank of the gradients met within its ceiling ``min(T, union)``."""
    field, pfield = SENSE_FIELDS[sense]
    got, pred = row[field], row[pfield]
    ok = all(s == "ok" for s in got["status"]) and all(p is not None for p in pred) and got["rank"] == pred
    if sense == "trajectory":  # a gradient rank that is ill-defined is left out, never compared
        g = row["grads"]
        ok = ok and all(c is not None and m <= c for m, c, s in zip(g["rank"], row["grads_ceiling"], g["status"])
                        if s == "ok")
    return bool(ok)


def last_gradient_rank(row: dict) -> int | None:
    """The span of the gradients met at the longest length where its rank is well defined (None: nowhere)."""
    ok = [m for m, s in zip(row["grads"]["rank"], row["grads"]["status"]) if s == "ok"]
    return ok[-1] if ok else None


def final(row: dict, sense: str) -> int:
    """The measured rank at the last length (trajectory length or number of token matrices)."""
    return row[SENSE_FIELDS[sense][0]]["rank"][-1]


def group_key(row: dict) -> tuple:
    """Rows that differ only in the kernel: the same data, shape, stream and seed."""
    return (row["family"], row["stream"], row["seed"], row["n"], row["d"])


def row_evidence(row: dict, sense: str) -> Evidence:
    """One row as evidence: the sense's ranks against length beside the closed form (context; the rule decides)."""
    field, pfield = SENSE_FIELDS[sense]
    got, pred = row[field], row[pfield]
    if sense == "trajectory":
        undefined = sum(s != "ok" for s in row["grads"]["status"])
        extra = (f"; gradients met: {row['grads']['rank'][-1]} at T = {row['steps']} (ceiling "
                 f"{row['grads_ceiling'][-1]}; rank ill-defined at {undefined} of {row['steps']} lengths); loss "
                 f"{row['loss_first']:.3g} → {row['loss_last']:.3g}")
        what, formula = f"union of pulled-back spaces along the fit, T = 1..{row['steps']}", row["union_formula"]
    else:
        extra = f"; invariants {row['data_invariants']}"
        what, formula = f"union over K = 1..{len(row['data_counts'])} token matrices at M_0", row["data_formula"]
    summary = (f"{row['kernel']}, {row['family']} ({row['stream']} stream, seed {row['seed']}), n = {row['n']}, "
               f"d = {row['d']}: one point {row['one_point']['rank']} (closed form {row['one_point']['predicted']}); "
               f"{what}: {_runs(got['rank'])} beside {formula} = {_runs(pred)}, statuses "
               f"{sorted(set(got['status']))}; d² = {row['d_squared']}" + extra)
    key = f"{sense}.{row['kernel']}.{row['family']}.{row['stream']}.s{row['seed']}.d{row['d']}"
    return Evidence("numeric", summary, None, {"row": compact(row, sense), "reliable": reliable(row, sense)}, key=key,
                    measured=got["rank"], predicted=pred)


def _runs(values: list) -> str:
    """``[12×20]`` or ``[15, 16×19]``: a rank sequence with its repeats counted."""
    out, prev, count = [], object(), 0
    for v in list(values) + [object()]:
        if v == prev:
            count += 1
            continue
        if count:
            out.append(f"{prev}" if count == 1 else f"{prev}×{count}")
        prev, count = v, 1
    return "[" + ", ".join(out) + "]"


def record_evidence(sense: str) -> Evidence:
    """The committed record's rows (``FULL``) for ``sense``, summarized; missing is said so."""
    rows = record_rows(sense)
    if rows is None:
        return Evidence("record", f"record {RECORD!r} is missing (run `python -m theorem.experiments {RECORD}`)",
                        None, {"missing": True, "rows": []}, key="record.spans")
    good = [r for r in rows if reliable(r, sense)]
    table: dict[str, set] = {}
    for r in good:
        table.setdefault(f"{r['kernel']}/{r['family']}/d={r['d']}", set()).add(final(r, sense))
    summary = (f"record {RECORD!r} ({len(rows)} fits): {len(good)} rows measured = closed form at every length; "
               "final spans: " + ", ".join(f"{k} {sorted(v)}" for k, v in sorted(table.items())))
    return Evidence("record", summary, None, {"missing": False, "rows": rows}, key="record.spans",
                    measured=len(good), predicted=len(rows))


def all_rows(evidence: list[Evidence]) -> list[dict]:
    """Every row the evidence carries: the live ones and the record's."""
    rows = [e.data["row"] for e in evidence if "row" in e.data]
    for e in evidence:
        if e.key == "record.spans":
            rows += list(e.data["rows"])
    return rows


def gather_rows(profile: Profile, sense: str) -> list[Evidence]:
    """The derivation, the live rows and the record, as evidence for ``sense``."""
    ev = [derivation_evidence()]
    ev += [row_evidence(row, sense) for row in live_rows()]
    ev.append(record_evidence(sense))
    return ev


def describe_row(row: dict, sense: str) -> dict[str, Any]:
    """The fields of a row a counterexample shows."""
    return {"kernel": row["kernel"], "family": row["family"], "stream": row["stream"], "seed": row["seed"],
            "n": row["n"], "d": row["d"], "one_point": row["one_point"]["rank"], "final": final(row, sense),
            "d_squared": row["d_squared"], "length": row["steps"] if sense == "trajectory" else len(row["data_counts"])}
