"""The ``d2check`` command: one parser, one dispatch, one place where user errors become exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

import jax

from theorem import real_cli
from theorem.cli import fuzz, rank, verify
from theorem.cli.common import InputError, Parser
from theorem.experiments import command as experiments_command
from theorem.util.compile_cache import use_compile_cache

__all__ = ["build_parser", "main", "version"]

BENCHES = {"rank": "theorem.bench.rank", "attention": "theorem.bench.attention", "workers": "theorem.cli.bench_workers"}


def version() -> str:
    try:
        return metadata.version("d2check")
    except metadata.PackageNotFoundError:  # run from a tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="d2check", description="Check the claims of 'The d² Pullback Theorem'.")
    p.add_argument("--version", action="version", version=f"d2check {version()}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    verify.add_parser(sub)
    rank.add_parser(sub)
    fuzz.add_parser(sub)
    rl = sub.add_parser("real", add_help=False,
                        help="the checks on a pretrained transformer (all-MiniLM-L6-v2; `make real` installs it)")
    rl.add_argument("rest", nargs=argparse.REMAINDER, help="options of d2check real (see d2check real --help)")
    ex = sub.add_parser("experiment", add_help=False,
                        help="run experiments and write their records with provenance (python -m theorem.experiments)")
    ex.add_argument("rest", nargs=argparse.REMAINDER, help="NAME ... [--profile quick|medium|full] (see d2check "
                    "experiment --help)")
    b = sub.add_parser("bench", help="benchmarks: ratios measured in one run")
    b.add_argument("name", help="rank | attention | workers")
    b.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    return p


def cmd_bench(args) -> int:
    if args.name not in BENCHES:
        raise InputError(f"bench: unknown benchmark {args.name!r}; choose one of {', '.join(BENCHES)}")
    module = importlib.import_module(BENCHES[args.name])
    try:
        return module.main(args.rest)
    except ValueError as err:
        raise InputError(f"bench {args.name}: {err}") from None


def cmd_real(args) -> int:
    return real_cli.main(args.rest)


def main(argv: list[str] | None = None) -> int:
    """The ``d2check`` command.  It owns its process, so it runs JAX in float64 throughout, with the
    persistent compilation cache on (:mod:`theorem.util.compile_cache`; ``D2CHECK_COMPILE_CACHE=off``)."""
    jax.config.update("jax_enable_x64", True)
    use_compile_cache()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["real"]:  # its own parser: every option goes to it
            try:
                return real_cli.main(argv[1:])
            except ValueError as err:  # its bad-input errors: one line, exit 2
                raise InputError(str(err)) from None
        if argv[:1] == ["experiment"]:  # the experiments' own command line: every option goes to it
            return experiments_command.main(argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        handler = {"verify": verify.run, "rank": rank.run, "fuzz": fuzz.run, "bench": cmd_bench,
                   "real": cmd_real}[args.command]
        return handler(args)
    except InputError as err:
        print(str(err).replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("d2check: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (d2check … | head): nothing left to say
        return 0


if __name__ == "__main__":
    sys.exit(main())
