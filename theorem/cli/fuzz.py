"""``d2check fuzz READING [--max-examples N] [--seed S]``: search one reading harder, from the command line.

Every Hypothesis search the reading runs takes ``N`` examples (instead of its profile's budget) and the seed
``S`` (instead of the fixed, derandomized exploration).  Progress goes to stderr; the answer is the reading's
verdict with its minimal counterexample, or the number of cases tried, and the command that reproduces it.
"""

from __future__ import annotations

import json
import sys
import time

from theorem.claims.ledger import Profile
from theorem.claims.runner import run_readings
from theorem.cli.common import InputError, positive, seed
from theorem.cli.verify import select
from theorem.util.search import search_options

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    f = sub.add_parser("fuzz", help="search one reading for counterexamples with a larger budget or another seed")
    f.add_argument("reading", metavar="READING", help="a reading ID, e.g. T1.a")
    f.add_argument("--max-examples", type=positive("--max-examples"), default=200,
                   help="examples per search (default 200)")
    f.add_argument("--seed", type=seed, default=0, help="the seed of the searches (default 0)")
    f.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="the sizes of everything but the searches")
    f.add_argument("--json", action="store_true", help="print the reading's result as one JSON object")


def run(args) -> int:
    if "." not in args.reading:
        raise InputError(f"fuzz: give one reading (e.g. {args.reading.upper()}.a), not a claim")
    selected, _, _ = select([args.reading], "fuzz")
    (claim, reading), = selected
    tried = {"examples": 0, "searches": 0, "last": 0.0}

    def progress(examples: int, skipped: int) -> None:
        if examples == 1:
            tried["searches"] += 1
        tried["examples"] += 1
        now = time.perf_counter()
        if now - tried["last"] > 2.0:
            print(f"fuzz {reading.id}: search {tried['searches']}, {tried['examples']} examples so far",
                  file=sys.stderr, flush=True)
            tried["last"] = now

    with search_options(max_examples=args.max_examples, seed=args.seed, progress=progress):
        result = run_readings([(claim, reading)], Profile(args.profile))[0]
    if result.error is not None:
        print(f"toolkit error in {reading.id}: {result.error}", file=sys.stderr)
        return 1
    again = f"d2check fuzz {reading.id} --max-examples {args.max_examples} --seed {args.seed}"
    if args.profile != "quick":
        again += f" --profile {args.profile}"
    if args.json:
        print(json.dumps(dict(result.to_dict(), examples_tried=tried["examples"], reproduce=again), ensure_ascii=False))
        return 0
    print(f"{reading.id}: {result.verdict}  ({tried['examples']} cases tried, shrinking included, in {tried['searches']} searches, "
          f"{result.seconds:.1f} s)")
    print(f"  {result.outcome.because}")
    if result.outcome.counterexample is not None:
        print("  minimal counterexample: " + json.dumps(result.outcome.counterexample, ensure_ascii=False))
    else:
        print(f"  no counterexample in the {tried['examples']} cases tried")
    print(f"  reproduce: {again}")
    return 0
