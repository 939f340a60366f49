"""``d2check fuzz READING… [--max-examples N] [--seed S] [--workers W]``: search readings harder, from the command line.

Every Hypothesis search a reading runs takes ``N`` examples (instead of its profile's budget) and the seed
``S`` (instead of the fixed, derandomized exploration).  Each reading is one task of the executor
(:func:`theorem.util.executor.map_tasks`): in this process with one worker, on Ray with more, with the same
budget and seed, so a campaign's answers do not depend on how it was spread.  Progress goes to stderr;
the answer, per reading, is its verdict with its minimal counterexample, or the number of cases tried, and
the command that reproduces it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

from theorem.claims.ledger import Profile, Reading, ReadingResult
from theorem.claims.runner import attach_real_evidence
from theorem.cli.common import InputError, check_workers, positive, seed, workers_option
from theorem.cli.verify import select
from theorem.util.executor import RayStartError, TaskFailure, map_tasks
from theorem.util.search import search_options

__all__ = ["FuzzTask", "add_parser", "fuzz_reading", "run"]


def add_parser(sub) -> None:
    f = sub.add_parser("fuzz", help="search readings for counterexamples with a larger budget or another seed")
    f.add_argument("reading", metavar="READING", nargs="+", help="a reading ID, e.g. T1.a; several make a campaign")
    f.add_argument("--max-examples", type=positive("--max-examples"), default=200,
                   help="examples per search (default 200)")
    f.add_argument("--seed", type=seed, default=0, help="the seed of the searches (default 0)")
    f.add_argument("--profile", choices=["quick", "full"], default="quick",
                   help="the sizes of everything but the searches")
    f.add_argument("--json", action="store_true", help="print each reading's result as one JSON object (a line each)")
    workers_option(f)


@dataclass(frozen=True)
class FuzzTask:
    """One reading searched with ``max_examples`` examples per search and ``seed``; ``verbose``: say, every
    2 s on stderr, how far the searches have got (in-process runs only)."""

    claim_id: str
    reading: Reading
    profile: Profile
    max_examples: int
    seed: int
    verbose: bool = False


def fuzz_reading(task: FuzzTask) -> tuple[ReadingResult, int, int]:
    """The reading's result, the examples tried (shrinking included) and the searches run."""
    tried = {"examples": 0, "searches": 0, "last": 0.0}

    def progress(examples: int, skipped: int) -> None:
        if examples == 1:
            tried["searches"] += 1
        tried["examples"] += 1
        now = time.perf_counter()
        if task.verbose and now - tried["last"] > 2.0:
            print(f"fuzz {task.reading.id}: search {tried['searches']}, {tried['examples']} examples so far",
                  file=sys.stderr, flush=True)
            tried["last"] = now

    with search_options(max_examples=task.max_examples, seed=task.seed, progress=progress):
        result = task.reading.check(task.claim_id, task.profile)
    return result, tried["examples"], tried["searches"]


def run(args) -> int:
    for rid in args.reading:
        if "." not in rid:
            raise InputError(f"fuzz: give readings (e.g. {rid.upper()}.a), not a claim")
    selected, _, _ = select(args.reading, "fuzz")
    workers = check_workers("fuzz", args)
    profile = Profile(args.profile)
    alone = len(selected) == 1 and workers == 1 and args.address is None
    tasks = [FuzzTask(claim.id, reading, profile, args.max_examples, args.seed, verbose=alone)
             for claim, reading in selected]
    try:
        outcomes = map_tasks(fuzz_reading, tasks, workers=workers, address=args.address, failures="return",
                             label=lambda t: t.reading.id, progress=False if alone else _line,
                             threads=None)  # this process's XLA threading: the serial run's round-off
    except RayStartError as err:  # before any search ran
        raise InputError(f"fuzz: {err}") from None
    code = 0
    for task, outcome in zip(tasks, outcomes):
        if isinstance(outcome, TaskFailure):
            print(f"toolkit error in {task.reading.id}: {outcome.error}", file=sys.stderr)
            code = 1
            continue
        result, examples, searches = outcome
        result = attach_real_evidence(result, profile)
        if result.error is not None:
            print(f"toolkit error in {result.reading_id}: {result.error}", file=sys.stderr)
            code = 1
            continue
        _answer(args, result, examples, searches)
    return code


def _line(index: int, outcome: tuple[ReadingResult, int, int]) -> str:
    result, examples, _ = outcome
    return f"{result.reading_id}: {result.verdict} ({examples} cases, {result.seconds:.1f} s)"


def _answer(args, result: ReadingResult, examples: int, searches: int) -> None:
    again = f"d2check fuzz {result.reading_id} --max-examples {args.max_examples} --seed {args.seed}"
    if args.profile != "quick":
        again += f" --profile {args.profile}"
    if args.json:
        print(json.dumps(dict(result.to_dict(), examples_tried=examples, reproduce=again), ensure_ascii=False))
        return
    print(f"{result.reading_id}: {result.verdict}  ({examples} cases tried, shrinking included, in {searches} searches, "
          f"{result.seconds:.1f} s)")
    print(f"  {result.outcome.because}")
    if result.outcome.counterexample is not None:
        print("  minimal counterexample: " + json.dumps(result.outcome.counterexample, ensure_ascii=False))
    else:
        print(f"  no counterexample in the {examples} cases tried")
    print(f"  reproduce: {again}")
