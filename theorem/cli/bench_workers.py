"""``d2check bench workers`` (``python -m theorem.cli.bench_workers``): the same sweep on 1 and on N Ray workers,
in one run; the ratio of wall times.  It lives in the CLI layer because it runs the ledger's readings.

Two sweeps, each run serially (in this process) and then on N workers (one local Ray, started once; its
start-up is timed apart and reported):

* **readings**: a fixed set of ledger readings of the quick profile (``--readings``; ``--all`` for every
  reading of the quick profile), without the real-model context;
* **training** (``--sweep NAME,…``, ``--sweep full`` for the hour-long FULL settings): the T6 stability
  sweep's settings (:func:`theorem.training.sweep.run_sweep`).

The answer says, per sweep, the serial and parallel seconds, the ratio (with and without Ray's start-up),
and whether the parallel run gave the same results (verdicts, corrected statements and evidence summaries;
the training records without their timings).  A timing decides nothing here but the printed ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

import jax

from theorem.claims import runner
from theorem.claims.ledger import Profile
from theorem.claims.registry import CLAIM_IDS, load_claim
from theorem.training.sweep import FULL_SETTINGS, run_sweep, setting_by_name
from theorem.util.executor import ray_available, ray_session
from theorem.util.worker_options import INSTALL_HINT
from theorem.util.jsonable import jsonable
from theorem.experiments.records import provenance
from theorem.util.outpaths import writable_file
from theorem.util.search import SearchOptions

__all__ = ["DEFAULT_READINGS", "main"]

#: mid-priced readings of the quick profile (about 50 s together on one idle core), none timing anything
DEFAULT_READINGS = ("T1.d", "T2.c", "T3.b", "T3.d", "T4.c", "T5.a", "R2.a", "R3.b")


def _selected(ids: list[str] | None) -> list:
    pairs = []
    for cid in CLAIM_IDS:
        claim, _ = load_claim(cid)
        pairs.extend((claim, r) for r in claim.readings if ids is None or r.id in ids)
    if ids is not None:
        unknown = sorted(set(ids) - {r.id for _, r in pairs})
        if unknown:
            raise ValueError(f"--readings: unknown reading {unknown[0]}")
    return pairs


#: a duration in a summary ("(0.02 s)", "390.9 ns"): the one thing a rerun may change
_DURATION = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:s|ms|µs|ns)\b")


def _reading_view(result) -> tuple:
    """A result without its timings: verdict, corrected statement, evidence summaries."""
    o = result.outcome
    return (result.reading_id, result.verdict, result.error, o and o.corrected,
            tuple(_DURATION.sub("<time>", e.summary) for e in result.evidence if e.kind != "benchmark"))


def _sweep_view(record: dict[str, Any]) -> list:
    return [{k: v for k, v in s.items() if k != "seconds"} for s in record["settings"]]


def _timed(fn) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="d2check bench workers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="workers of the parallel runs (default 2)")
    ap.add_argument("--readings", default=",".join(DEFAULT_READINGS), help="reading IDs, comma-separated")
    ap.add_argument("--all", action="store_true", help="every reading of the quick profile instead")
    ap.add_argument("--sweep", default="", help="training settings, comma-separated, or 'full' (default: none)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    try:
        args = ap.parse_args(argv)
    except SystemExit as err:
        if err.code == 0:
            return 0
        raise ValueError("bad options (see d2check bench workers --help)") from None
    if args.workers < 2:
        raise ValueError("--workers must be ≥ 2 (the serial run is the other side of the ratio)")
    if not ray_available():
        raise ValueError(f"the parallel runs need Ray ({INSTALL_HINT})")
    selected = _selected(None if args.all else [r.strip() for r in args.readings.split(",") if r.strip()])
    names = [s.name for s in FULL_SETTINGS] if args.sweep == "full" else [n for n in args.sweep.split(",") if n]
    settings = [setting_by_name(n) for n in names]
    if args.json:
        writable_file("--json", args.json)  # before any work

    runner.ALL_EVIDENCE = {}  # the real-model context is attached in the driver: not part of the sweep
    profile, search = Profile("quick"), SearchOptions()
    begin = time.perf_counter()
    print(f"load average before: {_load()} ({os.cpu_count()} cores)", file=sys.stderr)
    serial, t_serial = _timed(lambda: runner.run_readings(selected, profile, progress=True, search=search))
    sweep_serial, ts_serial = _timed(lambda: run_sweep(settings)) if settings else (None, 0.0)
    start = time.perf_counter()  # one Ray start-up for both parallel runs, timed on its own
    with ray_session(args.workers, threads=None):  # the serial run's round-off (docs/parallel.md)
        t_startup = time.perf_counter() - start
        parallel, t_parallel = _timed(lambda: runner.run_readings(selected, profile, progress=True,
                                                                  workers=args.workers, search=search))
        sweep_par, ts_par = (_timed(lambda: run_sweep(settings, workers=args.workers)) if settings else (None, 0.0))
    out = {
        "workers": args.workers, "cores": os.cpu_count(), "load_after": _load(), 
        "readings": {"ids": [r.id for _, r in selected], "serial_s": t_serial, "parallel_s": t_parallel,
                     "ray_startup_s": t_startup, "ratio": t_serial / t_parallel,
                     "ratio_with_startup": t_serial / (t_parallel + t_startup),
                     "identical": [_reading_view(r) for r in serial] == [_reading_view(r) for r in parallel],
                     "differ": [a.reading_id for a, b in zip(serial, parallel) if _reading_view(a) != _reading_view(b)]},
    }
    out["provenance"] = provenance(time.perf_counter() - begin, ["d2check", "bench", "workers", *argv])
    if settings:
        out["training"] = {"settings": names, "serial_s": ts_serial, "parallel_s": ts_par, "ratio": ts_serial / ts_par,
                           "identical": _sweep_view(sweep_serial) == _sweep_view(sweep_par)}
    r = out["readings"]
    print(f"readings ({len(selected)}): 1 worker {r['serial_s']:.1f} s, {args.workers} workers {r['parallel_s']:.1f} s "
          f"(+ {r['ray_startup_s']:.1f} s Ray start-up): ratio {r['ratio']:.2f}× ({r['ratio_with_startup']:.2f}× with "
          f"start-up); results identical: {'yes' if r['identical'] else 'NO: ' + ', '.join(r['differ'])}")
    if settings:
        t = out["training"]
        print(f"training sweep ({', '.join(names)}): 1 worker {t['serial_s']:.1f} s, {args.workers} workers "
              f"{t['parallel_s']:.1f} s: ratio {t['ratio']:.2f}×; records identical: {'yes' if t['identical'] else 'NO'}")
    print(f"load average after: {out['load_after']} ({os.cpu_count()} cores)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(jsonable(out), fh, indent=2)
    return 0 if r["identical"] and out.get("training", {}).get("identical", True) else 1


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)  # as the d2check command does for its own process
    sys.exit(main(sys.argv[1:]))
