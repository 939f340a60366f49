"""``python -m theorem.experiments NAME... [--profile quick|medium|full] [--out DIR]``, or ``--all``.

``medium`` is the design an experiment records when FULL is too long for the machine; only experiments
that define ``MEDIUM`` have it (others are refused before any work)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from theorem.experiments.records import RECORDS_DIR, write_arrays, write_record
from theorem.experiments.registry import EXPERIMENTS, UnknownExperimentError, experiment_module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m theorem.experiments",
                                description="Run experiments and write their records with provenance.")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(EXPERIMENTS)}")
    p.add_argument("--all", action="store_true", help="every experiment")
    p.add_argument("--profile", choices=["quick", "medium", "full"], default="full")
    p.add_argument("--out", type=Path, default=None, help=f"folder for the records (default {RECORDS_DIR})")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    args = p.parse_args(argv)
    if args.list:
        for name in EXPERIMENTS:
            print(f"{name:28s} {experiment_module(name).DESCRIPTION}")
        return 0
    names = list(EXPERIMENTS) if args.all else args.names
    if not names:
        print("experiments: name one or more experiments, or --all (see --list)", file=sys.stderr)
        return 2
    try:
        modules = [(n, experiment_module(n)) for n in names]
    except UnknownExperimentError as err:
        print(f"experiments: {err}", file=sys.stderr)
        return 2
    lacking = [n for n, mod in modules if not hasattr(mod, args.profile.upper())]
    if lacking:
        print(f"experiments: {', '.join(lacking)} has no {args.profile} profile", file=sys.stderr)
        return 2
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"experiments: --out {args.out} exists and is not a folder", file=sys.stderr)
        return 2
    for name, mod in modules:
        settings = getattr(mod, args.profile.upper())
        print(f"[{name}] {mod.DESCRIPTION} ({args.profile})", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result = mod.run(settings, log=lambda msg, _n=name: print(f"[{_n}] {msg}", file=sys.stderr, flush=True))
        arrays = result.pop("__arrays__", None)  # large arrays go beside the record as NAME.npz
        if arrays:
            write_arrays(name, arrays, folder=args.out)
        path = write_record(name, result, profile=args.profile, settings=settings,
                            seconds=time.perf_counter() - start, folder=args.out,
                            command=["python", "-m", "theorem.experiments", name, "--profile", args.profile])
        print(f"[{name}] wrote {path} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return 0
