"""How much XLA compiles per reading: ``python -m theorem.cli.compiles [READING ...]``.

Runs the readings named (a reading ID such as ``R3.c``, or a claim ID such as ``T1`` for all of its
readings; every reading of the ledger when none is given) under the quick profile, in the order given, in
this one process, and prints per reading the number of XLA backend compilations, of jaxpr traces, the
seconds spent compiling and the reading's wall seconds (:func:`theorem.bench.compiles.count_compiles`).
The counts do not move with the load of the machine; the seconds do, and are context only.

``--json FILE`` also writes the counts and each reading's verdict and evidence (measured, predicted,
data), so two runs (before and after a change) can be compared item by item.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import jax

from theorem.bench.compiles import count_compiles
from theorem.claims.ledger import Claim, Profile, Reading
from theorem.claims.registry import CLAIM_IDS, load_claim
from theorem.claims.runner import ReadingTask, check_reading
from theorem.util.jsonable import jsonable
from theorem.util.outpaths import writable_file

__all__ = ["main"]


def _select(names: list[str]) -> list[tuple[Claim, Reading]]:
    """(claim, reading) pairs for reading or claim IDs; a ValueError names an unknown one."""
    claims = {cid: load_claim(cid)[0] for cid in CLAIM_IDS}
    if not names:
        return [(c, r) for c in claims.values() for r in c.readings]
    out = []
    for name in names:
        key = name.upper()
        if key in claims:
            out.extend((claims[key], r) for r in claims[key].readings)
            continue
        hits = [(c, r) for c in claims.values() for r in c.readings if r.id.upper() == key]
        if not hits:
            raise ValueError(f"unknown reading or claim {name!r} (e.g. T1, R3.c)")
        out.extend(hits)
    return out


def _evidence(result) -> list[dict]:
    return [{k: e[k] for k in ("key", "supports", "measured", "predicted", "data")}
            for e in (x.to_dict() for x in result.evidence)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m theorem.cli.compiles", description=__doc__.split("\n\n")[0])
    ap.add_argument("readings", nargs="*", metavar="READING", help="reading or claim IDs (default: all)")
    ap.add_argument("--profile", default="quick", choices=("quick", "full"))
    ap.add_argument("--json", metavar="FILE", help="also write counts, verdicts and evidence to FILE")
    try:
        args = ap.parse_args(argv)
    except SystemExit as err:
        return 0 if err.code == 0 else 2
    try:
        selected = _select(args.readings)
        if args.json:
            writable_file("--json", args.json)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    jax.config.update("jax_enable_x64", True)  # as the d2check command does for its own process
    profile = Profile(args.profile)
    rows = []
    print(f"{'reading':<10} {'verdict':<22} {'compiles':>8} {'traces':>7} {'compile s':>9} {'wall s':>7}")
    with count_compiles() as total:
        for claim, reading in selected:
            start = time.perf_counter()
            with count_compiles() as c:
                result = check_reading(ReadingTask(claim.id, reading, profile))
            wall = time.perf_counter() - start
            rows.append({"reading": reading.id, "verdict": result.verdict, "compiles": c.compiles,
                         "traces": c.traces, "compile_seconds": c.compile_seconds, "seconds": wall,
                         "error": result.error, "because": result.outcome.because if result.outcome else None,
                         "evidence": _evidence(result)})
            print(f"{reading.id:<10} {result.verdict:<22} {c.compiles:>8} {c.traces:>7} "
                  f"{c.compile_seconds:>9.1f} {wall:>7.1f}", flush=True)
    wall_total = sum(r["seconds"] for r in rows)
    print(f"{'total':<10} {'':<22} {total.compiles:>8} {total.traces:>7} {total.compile_seconds:>9.1f} "
          f"{wall_total:>7.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(jsonable({"profile": args.profile, "jax": jax.__version__, "readings": rows}), fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
