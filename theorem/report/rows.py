"""The report's rows: one object per reading (:func:`records`), one row per claim (:func:`claim_rows`),
and the two terminal tables built from them."""

from __future__ import annotations

import textwrap

from theorem.claims.ledger import ReadingResult
from theorem.claims.registry import CLAIM_IDS, CLAIM_TITLES
from theorem.util.jsonable import jsonable

__all__ = ["NOT_CHECKED", "VERDICT_ORDER", "records", "table", "claim_rows", "claim_table"]

NOT_CHECKED = "not checked yet"
#: the order in which a claim's roll-up lists its readings' verdicts: what a reader must see first
VERDICT_ORDER = ("fails", "holds-with-conditions", "open", "holds", "error")


def records(results: list[ReadingResult], unchecked: dict[str, list[str]]) -> list[dict]:
    """One object per reading (and per claim part not checked yet), in claim order."""
    out = []
    order = {cid: i for i, cid in enumerate(CLAIM_IDS)}
    by_claim: dict[str, list[dict]] = {}
    for r in results:
        by_claim.setdefault(r.claim_id, []).append(r.to_dict())
    for cid, parts in unchecked.items():
        for part in parts:
            by_claim.setdefault(cid, []).append(
                {
                    "id": cid,
                    "reading_id": f"{cid}:{part}",
                    "reading": CLAIM_TITLES[cid],
                    "verdict": None,
                    "status": NOT_CHECKED,
                    "corrected": None,
                    "counterexample": None,
                    "evidence": f"{NOT_CHECKED} (module theorem.claims.{part} does not exist)",
                }
            )
    for cid in sorted(by_claim, key=lambda c: order.get(c, len(order))):
        out.extend(by_claim[cid])
    return jsonable(out)


def table(recs: list[dict], width: int = 150) -> str:
    """Plain-text verdict table: ID, reading, verdict, one line of evidence."""
    head = f"{'ID':<20} {'verdict':<22} {'reading':<44} evidence"
    lines = [head, "-" * min(width, 160)]
    for r in recs:
        verdict = r["verdict"] if r["verdict"] is not None else NOT_CHECKED
        reading = textwrap.shorten(r["reading"], 44, placeholder="…")
        room = max(20, width - 89)
        ev = textwrap.shorten(str(r["evidence"]), room, placeholder="…")
        lines.append(f"{r['reading_id']:<20} {verdict:<22} {reading:<44} {ev}")
    return "\n".join(lines)


def claim_rows(recs: list[dict]) -> list[dict]:
    """One row per claim: its readings' verdicts rolled up (counted, worst first), the strongest correct
    statement (the corrected statement of its first failing or conditional reading, else the statement of
    a reading that holds) and the headline counterexample (the first failing reading's)."""
    rows = []
    for cid in CLAIM_IDS:
        parts = [r for r in recs if r["id"] == cid and r["verdict"] is not None]
        if not parts:
            continue
        counts = {v: sum(1 for r in parts if r["verdict"] == v) for v in VERDICT_ORDER}
        rollup = ", ".join(f"{v} {c}" for v, c in counts.items() if c)
        first_bad = next((r for r in parts if r["verdict"] in ("fails", "holds-with-conditions")), None)
        holding = next((r for r in parts if r["verdict"] == "holds"), None)
        if first_bad is not None and first_bad.get("corrected"):
            strongest = f"{first_bad['reading_id']}: {first_bad['corrected']}"
        elif holding is not None:
            strongest = f"{holding['reading_id']} holds: {holding['reading']}"
        else:
            strongest = f"{parts[0]['reading_id']}: {parts[0]['evidence']}"
        failing = next((r for r in parts if r["verdict"] == "fails"), None)
        headline = f"{failing['reading_id']}: {failing['evidence']}" if failing is not None else "—"
        worst = next(v for v in VERDICT_ORDER if counts[v])
        rows.append({"id": cid, "title": CLAIM_TITLES[cid], "rollup": rollup, "counts": counts, "worst": worst,
                     "strongest": strongest, "headline": headline, "readings": len(parts)})
    return rows


def claim_table(recs: list[dict], width: int = 100) -> str:
    """The claim-level terminal table (one row per claim), at most ``width`` columns."""
    rows = claim_rows(recs)
    room = max(20, width - 4 - 42 - 2)
    lines = [f"{'ID':<4}{'verdicts of its readings':<42}  claim", "-" * min(width, 100)]
    for row in rows:
        lines.append(f"{row['id']:<4}{textwrap.shorten(row['rollup'], 42, placeholder='…'):<42}  "
                     f"{textwrap.shorten(row['title'], room, placeholder='…')}")
    return "\n".join(lines)
