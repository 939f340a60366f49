"""``d2check verify``: run the ledger, print the verdict table, write ``report.md``, ``report.html``, the
figures and ``verdicts.json``.

Everything the user asked for is checked before any reading runs: the claim and reading IDs (a repeated
one runs once) and the output folder (creatable and writable).  One progress line per reading goes to
stderr, whether or not it is a terminal.
"""

from __future__ import annotations

import os
import sys
import time

from theorem import report
from theorem.claims.ledger import Profile
from theorem.claims.registry import CLAIM_IDS, UnknownClaimError, load_claim
from theorem.claims.runner import run_readings
from theorem.cli.common import InputError, check_out_dir, check_workers, seed, workers_option
from theorem.util.executor import RayStartError
from theorem.util.search import SearchOptions

__all__ = ["DEFAULT_OUT", "add_parser", "run", "select"]

DEFAULT_OUT = "out"


def add_parser(sub) -> None:
    v = sub.add_parser("verify", help="run the ledger: every claim, its readings, their verdicts")
    v.add_argument("--claim", action="append", metavar="ID",
                   help="claim ID (T1) or reading ID (T1.a); repeatable")
    v.add_argument("--profile", choices=["quick", "full"], default="quick")
    v.add_argument("--json", action="store_true", help="print verdicts.json's object instead of a table")
    v.add_argument("--wide", action="store_true", help="one row per reading instead of one per claim")
    v.add_argument("--seed", type=seed, default=None,
                   help="seed every Hypothesis search (default: each search's fixed, derandomized exploration)")
    workers_option(v)
    v.add_argument("--out", default=DEFAULT_OUT, help=f"folder for report.md, report.html, figures/ and verdicts.json (default {DEFAULT_OUT}/)")


def select(requested: list[str] | None, command: str = "verify") -> tuple[list, dict[str, list[str]], list[str]]:
    """The (claim, reading) pairs to run, in ledger order and each once; the parts not checked yet;
    the IDs as asked for (normalized).  Unknown IDs raise :class:`InputError`."""
    asked = [c.strip().upper() for c in requested] if requested else list(CLAIM_IDS)
    spelled = {c.strip().upper(): c.strip() for c in requested or ()}  # the user's spelling, for messages
    wanted: dict[str, set[str] | None] = {}  # claim → reading IDs (None: all of them)
    for rid in asked:
        cid = rid.split(".")[0]
        if cid not in CLAIM_IDS:
            raise InputError(f"{command}: unknown claim {spelled.get(rid, rid)!r}; choose from {', '.join(CLAIM_IDS)} (or a reading, e.g. T1.a)")
        if rid == cid:
            wanted[cid] = None
        elif wanted.get(cid, set()) is not None:
            wanted.setdefault(cid, set()).add(rid)
    selected, unchecked = [], {}
    for cid in CLAIM_IDS:
        if cid not in wanted:
            continue
        try:
            claim, missing = load_claim(cid)
        except UnknownClaimError as err:
            raise InputError(f"{command}: {err}") from None
        ids = {r.id.upper(): r for r in claim.readings}
        names = wanted[cid]
        if names is not None:
            unknown = sorted(names - set(ids))
            if unknown:
                raise InputError(f"{command}: unknown reading {spelled.get(unknown[0], unknown[0])}; {cid} has {', '.join(r.id for r in claim.readings)}")
        selected.extend((claim, r) for r in claim.readings if names is None or r.id.upper() in names)
        if missing and names is None:
            unchecked[cid] = missing
    return selected, unchecked, list(dict.fromkeys(asked))


def run(args) -> int:
    selected, unchecked, asked = select(args.claim)
    workers = check_workers("verify", args)
    out = check_out_dir("verify", "--out", args.out)
    profile = Profile(args.profile)
    start = time.perf_counter()
    # one line per reading on stderr, always; the same seed in every worker
    try:
        results = run_readings(selected, profile, progress=True, workers=workers, address=args.address,
                               search=SearchOptions(seed=args.seed))
    except RayStartError as err:  # before any reading ran
        raise InputError(f"verify: {err}") from None
    seconds = time.perf_counter() - start
    recs = report.records(results, unchecked)
    written = report.write_report(recs, out, profile.name, seconds, requested=asked, seed=args.seed)
    md_path, js_path = written.markdown, written.json
    if args.json:
        print(js_path.read_text(encoding="utf-8"))
    else:
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 100
        print(report.table(recs, width=max(width, 100)) if args.wide else report.claim_table(recs, width=min(width, 100)))
        counts: dict[str, int] = {}
        for r in recs:
            key = r["verdict"] or "not checked yet"
            counts[key] = counts.get(key, 0) + 1
        print()
        print(", ".join(f"{v}: {k}" for k, v in counts.items()) + f"  ({seconds:.0f} s)")
        print(f"wrote {md_path}, {written.html} and {js_path}")
    print(f"d2check verify: report written to {md_path} and {written.html} "
          f"({len(written.figures)} figures in {out / 'figures'})", file=sys.stderr)
    errors = [r for r in results if r.error is not None]
    for r in errors:
        print(f"toolkit error in {r.reading_id}: {r.error}", file=sys.stderr)
    return 1 if errors else 0
