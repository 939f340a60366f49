"""``python -m theorem.experiments NAME... [--profile quick|medium|full] [--out DIR] [--workers N] [--address ADDR]``,
or ``--all``.

``medium`` is the design an experiment records when FULL is too long for the machine; only experiments
that define ``MEDIUM`` have it (others are refused before any work).

``--workers N`` (``auto``: every core) runs the sweep of an experiment whose ``run`` takes ``workers`` (a grid
of independent tasks: ``stability``'s settings, ``depth``'s (depth, width) cells) on N Ray workers through
:func:`theorem.util.executor.map_tasks`; ``--address`` (or ``RAY_ADDRESS``) runs it on a Ray cluster.  The
record's result is the serial run's (same seeds, same task order, and the workers keep the driver's XLA
threading, :func:`theorem.util.executor.worker_env` with ``threads=None``); one Ray session serves every
experiment named, started before the first one runs.  Bad input, including ``--workers`` for an experiment that runs
serially, a Ray that is not installed and an address that cannot be reached, is one line on stderr and exit
code 2 before any work; a task that raises is reported with its inputs and its traceback (exit code 1); Ctrl-C
shuts the workers down and exits with code 130; in both cases no record is written."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import sys
import time
from pathlib import Path
from typing import Any

from theorem.experiments.records import RECORDS_DIR, load_record, write_arrays, write_record
from theorem.experiments.registry import EXPERIMENTS, UnknownExperimentError, experiment_module
from theorem.util.compile_cache import use_compile_cache
from theorem.util.executor import RayStartError, TaskError, ray_session
from theorem.util.worker_options import requested_workers, worker_count

__all__ = ["main", "parallel"]

PROG = "python -m theorem.experiments"


class _InputError(Exception):
    """Bad input: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print the usage too)
        raise _InputError(f"experiments: {message}")


def parallel(mod: Any) -> bool:
    """Whether the experiment's sweep goes through the executor (its ``run`` takes ``workers``)."""
    return "workers" in inspect.signature(mod.run).parameters


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Run experiments and write their records with provenance.")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(EXPERIMENTS)}")
    p.add_argument("--all", action="store_true", help="every experiment")
    p.add_argument("--profile", choices=["quick", "medium", "full"], default="full")
    p.add_argument("--out", type=Path, default=None, help=f"folder for the records (default {RECORDS_DIR})")
    p.add_argument("--workers", type=worker_count, default=None, metavar="N",
                   help="run the sweep's tasks on N Ray workers (auto: every core); default 1, in this process")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="the Ray cluster to run on (default: RAY_ADDRESS, else a local Ray started for the run)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    use_compile_cache()  # a command owns its process (theorem.util.compile_cache; D2CHECK_COMPILE_CACHE=off)
    try:
        return _main(argv)
    except _InputError as err:
        print(str(err).replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the workers are already shut down (ray_session); no record was written
        print("experiments: interrupted", file=sys.stderr)
        return 130
    except TaskError as err:  # a task raised: its own traceback (from its worker), then which task, on what inputs
        print(err.failure.traceback.rstrip(), file=sys.stderr)
        print(f"experiments: {err} (no record written)", file=sys.stderr)
        return 1


_PROFILES = ("quick", "medium", "full")


def _rank(profile: str | None) -> int:
    """quick < medium < full; a record without a known profile ranks lowest."""
    return _PROFILES.index(profile) if profile in _PROFILES else -1


def _recorded_profile(name: str) -> str | None:
    rec = load_record(name)
    return None if rec is None else rec.get("profile")


def _checked(args) -> tuple[list[tuple[str, Any]], int | str]:
    """The experiments named and the worker count, or :class:`_InputError` (before any work)."""
    names = list(EXPERIMENTS) if args.all else args.names
    if not names:
        raise _InputError("experiments: name one or more experiments, or --all (see --list)")
    try:
        modules = [(n, experiment_module(n)) for n in names]
    except UnknownExperimentError as err:
        raise _InputError(f"experiments: {err}") from None
    lacking = [n for n, mod in modules if not hasattr(mod, args.profile.upper())]
    if lacking:
        raise _InputError(f"experiments: {', '.join(lacking)} has no {args.profile} profile")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise _InputError(f"experiments: --out {args.out} exists and is not a folder")
    if args.out is None:  # the shipped records: a smaller run must not replace what the ledger reads
        weaker = [n for n, _ in modules if _rank(args.profile) < _rank(_recorded_profile(n))]
        if weaker:
            raise _InputError(f"experiments: a {args.profile} run would replace the committed "
                              f"{', '.join(f'{n} ({_recorded_profile(n)})' for n in weaker)} record; "
                              "give --out DIR to write it elsewhere")
    try:
        workers = requested_workers(args.workers, args.address)
    except ValueError as err:
        raise _InputError(f"experiments: {err}") from None
    if workers != 1 or args.address:
        serial = [n for n, mod in modules if not parallel(mod)]
        if serial:
            able = ", ".join(n for n in EXPERIMENTS if parallel(experiment_module(n)))
            raise _InputError(f"experiments: {', '.join(serial)} runs serially (no --workers); "
                              f"--workers applies to: {able}")
    return modules, workers


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.list:
        for name in EXPERIMENTS:
            print(f"{name:28s} {experiment_module(name).DESCRIPTION}")
        return 0
    modules, workers = _checked(args)
    options = [] if workers == 1 and not args.address else ["--workers", str(workers)]
    options += ["--address", args.address] if args.address else []
    with contextlib.ExitStack() as stack:
        if options:  # one Ray session for every experiment, started (or refused) before any work
            try:
                # the driver's own XLA threading in every worker: the depth probe's fits round off
                # differently with a one-thread Eigen (docs/parallel.md), and the records must be the serial run's
                stack.enter_context(ray_session(workers, args.address, threads=None))
            except RayStartError as err:
                raise _InputError(f"experiments: {err}") from None
        for name, mod in modules:
            _run_one(name, mod, args, workers, options)
    return 0


def _run_one(name: str, mod: Any, args, workers: int | str, options: list[str]) -> None:
    settings = getattr(mod, args.profile.upper())
    print(f"[{name}] {mod.DESCRIPTION} ({args.profile}{', ' + ' '.join(options) if options else ''})",
          file=sys.stderr, flush=True)
    start = time.perf_counter()
    log = lambda msg, _n=name: print(f"[{_n}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    extra = dict(workers=workers, address=args.address) if options else {}
    result = mod.run(settings, log=log, **extra)
    arrays = result.pop("__arrays__", None)  # large arrays go beside the record as NAME.npz
    if arrays:
        write_arrays(name, arrays, folder=args.out)
    path = write_record(name, result, profile=args.profile, settings=settings,
                        seconds=time.perf_counter() - start, folder=args.out,
                        command=["python", "-m", "theorem.experiments", name, "--profile", args.profile, *options])
    print(f"[{name}] wrote {path} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
