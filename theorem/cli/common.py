"""What every ``d2check`` subcommand shares: the one-line user error, the parser that raises it, the
argument types, and the checks that run before any work (an output folder that can be written)."""

from __future__ import annotations

import argparse
from pathlib import Path

from theorem.util.outpaths import writable_dir, writable_file
from theorem.util.worker_options import requested_workers, worker_count

__all__ = ["InputError", "Parser", "positive", "seed", "check_out_dir", "check_out_file", "check_workers",
           "workers_option"]


class InputError(Exception):
    """A user error: reported as one line on stderr, exit code 2, before any work."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise InputError(f"{self.prog}: {message}")


def positive(name: str):
    """An argparse type: an integer ≥ 1."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be ≥ 1, got {value}")
        return value

    return parse


def seed(text: str) -> int:
    """An argparse type: a seed NumPy accepts (an integer in 0 … 2³²−1)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the seed must be an integer, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"the seed must be in 0 … 2³²−1, got {value}")
    return value


def check_out_dir(command: str, option: str, path: str | Path) -> Path:
    """``path`` as a folder we can write into (created now if missing), or one line saying why not
    (:func:`theorem.util.outpaths.writable_dir`, the check the benchmarks use too)."""
    try:
        return writable_dir(option, path)
    except ValueError as err:
        raise InputError(f"{command}: {err}") from None


def check_out_file(command: str, option: str, path: str | Path) -> Path:
    """``path`` as a file we can create or replace, or one line saying why not (nothing is written)."""
    try:
        return writable_file(option, path)
    except ValueError as err:
        raise InputError(f"{command}: {err}") from None


def workers_option(parser) -> None:
    """``--workers N`` and ``--address ADDR``: the executor's options (:mod:`theorem.util.executor`)."""
    parser.add_argument("--workers", type=worker_count, default=None, metavar="N",
                        help="run the readings on N Ray workers (auto: every core); default 1, in this process")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="the Ray cluster to run on (default: RAY_ADDRESS, else a local Ray started for the run)")


def check_workers(command: str, args) -> int | str:
    """The worker count asked for (1 unless ``--workers`` or ``--address`` says otherwise), or one line
    saying that Ray, which more than one worker needs, is not installed."""
    try:
        return requested_workers(args.workers, args.address)
    except ValueError as err:
        raise InputError(f"{command}: {err}") from None
