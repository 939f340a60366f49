"""Verdict table, ``report.md`` and ``verdicts.json``, generated from ledger results only.

``report.md`` opens with one row per claim (the roll-up of its readings' verdicts, the strongest correct
statement, the headline counterexample), then the reading-level table, then each reading's evidence.
``verdicts.json`` is one versioned object (:data:`SCHEMA_VERSION`) holding the provenance of the run and
the list of reading results.
"""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path


from theorem.claims.ledger import ReadingResult
from theorem.claims.registry import CLAIM_IDS, CLAIM_TITLES, load_claim
from theorem.experiments.records import provenance
from theorem.util.jsonable import jsonable

NOT_CHECKED = "not checked yet"
SCHEMA_VERSION = 2
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
    for cid in sorted(by_claim, key=lambda c: order[c]):
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
        rows.append({"id": cid, "title": CLAIM_TITLES[cid], "rollup": rollup, "strongest": strongest,
                     "headline": headline, "readings": len(parts)})
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


def markdown(recs: list[dict], profile: str, seconds: float) -> str:
    """``report.md``: the claim table, the reading table, then each reading with its evidence."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# d2check verdict report",
        "",
        f"Generated by `d2check verify --profile {profile}` on {stamp} in {seconds:.0f} s. "
        "Every verdict below was computed from the evidence listed with it; nothing here is typed in.",
        "",
        "## The claims",
        "",
        "| claim | verdicts of its readings | strongest correct statement | headline counterexample |",
        "|---|---|---|---|",
    ]
    for row in claim_rows(recs):
        md.append(f"| **{row['id']}** {_cell(row['title'])} | {row['rollup']} | {_cell(row['strongest'])} | "
                  f"{_cell(row['headline'])} |")
    md += [
        "",
        "## The readings",
        "",
        "| reading | verdict | statement | evidence |",
        "|---|---|---|---|",
    ]
    for r in recs:
        verdict = r["verdict"] if r["verdict"] is not None else f"_{NOT_CHECKED}_"
        md.append(f"| {r['reading_id']} | **{verdict}** | {_cell(r['reading'])} | {_cell(str(r['evidence']))} |")
    md.append("")
    for r in recs:
        if r["verdict"] is None:
            continue
        md += [f"## {r['reading_id']}: {r['verdict']}", "", f"**Reading.** {r['reading']}", ""]
        md += [f"**Because.** {r['evidence']}", ""]
        if r.get("corrected"):
            md += [f"**Corrected statement.** {r['corrected']}", ""]
        if r.get("counterexample"):
            md += ["**Minimal counterexample.**", "", "```json", json.dumps(r["counterexample"], indent=1), "```", ""]
        if r.get("error"):
            md += [f"**Toolkit error.** `{r['error']}`", ""]
        for e in r.get("details", []):
            mark = {True: "supports", False: "refutes", None: "context"}[e["supports"]]
            md.append(f"- *{e['kind']}, {mark}*: {e['summary']}")
        md.append("")
    return "\n".join(md)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def document(recs: list[dict], profile: str, seconds: float, requested: list[str] | None = None,
             seed: int | None = None) -> dict:
    """The versioned ``verdicts.json`` object: schema and package version, git commit, profile, the claims
    and readings run, seeds, timestamps, and the reading results under ``verdicts``."""
    prov = provenance(seconds)
    return {
        "schema_version": SCHEMA_VERSION,
        "package_version": package_version(),
        "git_commit": prov["git_commit"],
        "profile": profile,
        "claims": requested if requested is not None else list(CLAIM_IDS),
        "readings": [r["reading_id"] for r in recs],
        "seed": seed,  # of the Hypothesis searches; None: their fixed derandomized exploration
        "input_seeds": "fixed per reading (each reading draws its inputs from seeds written in its module)",
        "finished": prov["date"],
        "seconds": prov["seconds"],
        "machine": prov["machine"],
        "verdicts": recs,
    }


def package_version() -> str:
    try:
        return metadata.version("d2check")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def write(recs: list[dict], out: Path, profile: str, seconds: float,
          requested: list[str] | None = None, seed: int | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``verdicts.json`` into ``out`` (all or nothing)."""
    out.mkdir(parents=True, exist_ok=True)
    md_text = markdown(recs, profile, seconds)
    js_text = json.dumps(jsonable(document(recs, profile, seconds, requested, seed)), indent=1, ensure_ascii=False)
    md_path, js_path = out / "report.md", out / "verdicts.json"
    tmp_md, tmp_js = out / ".report.md.tmp", out / ".verdicts.json.tmp"
    tmp_md.write_text(md_text, encoding="utf-8")
    tmp_js.write_text(js_text, encoding="utf-8")
    tmp_md.replace(md_path)
    tmp_js.replace(js_path)
    return md_path, js_path


VERDICTS_EXPLAINED = (
    ("holds", "true as stated, with the evidence"),
    ("holds-with-conditions", "true only under named conditions; the corrected statement is given"),
    ("fails", "a counterexample is shown, the smallest one in the claim's own regime first"),
    ("open", "cannot be settled here; what the probes showed is given"),
)


def claims_page() -> str:
    """``docs/claims.md``: every claim and each of its readings, from the ledger's own statements."""
    lines = ["# The claims and their readings", "",
             "Generated from the ledger (`theorem/claims/`) by `make docs`; do not edit by hand. The verdicts are",
             "in the report (`d2check verify`), never here.", "", "## Verdicts", ""]
    lines += [f"- **{v}**: {what}." for v, what in VERDICTS_EXPLAINED]
    for cid in CLAIM_IDS:
        claim, _ = load_claim(cid)
        lines += ["", f"## {cid}: {CLAIM_TITLES[cid]}", ""]
        lines += [f"- **{r.id}** {r.statement}" for r in claim.readings]
    return "\n".join(lines) + "\n"
