r"""``d2check bench attention``: softmax vs CSQ, quadratic vs linear, timed in one run.

Methods (float32, one head, jit-compiled ahead of time and warmed up; the timed calls of
the methods at one size are interleaved round by round, and the minimum is reported):

* ``softmax-jnp``     — ``attention(kernel="softmax")``: the jnp reference, :math:`O(n^2 d)`;
* ``softmax-dpa``     — ``jax.nn.dot_product_attention`` (XLA);
* ``csq-quadratic``, ``csq-quadratic-causal`` — CSQ through the :math:`n\times n` weights;
* ``csq-linear``, ``csq-linear-causal`` — the exact linear form (chunked when causal).

A large square float32 matmul is timed in the same run (its FLOP rate is the yardstick), the
grid is swept over :math:`n` and :math:`d_k` (:math:`d_v = d_k`), the exponents of :math:`n` and
:math:`d_k` are fitted, the crossover :math:`n^*` where CSQ linear overtakes CSQ quadratic is
measured on a finer grid and set beside the cost model's and the pure FLOP count's
(:mod:`theorem.symbolic.flops`), and each compiled program's XLA buffer sizes are recorded
(peak temporary memory).  Sizes whose quadratic program would need more than
``--max-gib`` of temporaries are skipped and say so.

``--rate`` runs only the FLOP-rate check (CSQ linear, state plus emit, at n = 32768, d_k = 64, against a
square float32 matmul, interleaved; about a minute), which the full profile also runs.

Profiles: ``--quick`` (the default: n ≤ 2048, d_k ∈ {8, 16}; under a minute) and ``--full``
(n = 128 … 32768, d_k ∈ {8, 16, 32, 64}; many minutes — run it with ``nice``).  Writes
``bench_attention_<profile>.json`` and ``.png`` to ``--out`` (default ``out/``), which is checked
(creatable, writable, not a file) before anything is computed.

The pieces live in small modules, re-exported here: the methods and the timer
(:mod:`theorem.numeric.attention_timing`), peak memory (:mod:`theorem.numeric.process_memory`), the
sweep (:mod:`theorem.bench.sweep`) and its settings (:mod:`theorem.bench.profiles`), the analysis
(:mod:`theorem.bench.analysis`), the fits (:mod:`theorem.bench.fits`), the figure
(:mod:`theorem.bench.plot`) and the text (:mod:`theorem.bench.report_text`).  The committed runs are
experiment records (:mod:`theorem.experiments.bench_attention`).
"""

from __future__ import annotations

import argparse
import json
import os

from theorem.bench.analysis import analyse, targets
from theorem.bench.fits import fit_balance, fit_exponent, measured_crossover
from theorem.bench.plot import plot
from theorem.bench.profiles import PROFILES
from theorem.bench.report_text import rate_summary, summary
from theorem.bench.sweep import flop_rate_check, run
from theorem.numeric.attention_timing import (METHODS, Method, Timing, compile_method, cost_counts, matmul_rate,
                                              measure, time_interleaved)
from theorem.numeric.process_memory import peak_rss_of_call
from theorem.util.jsonable import jsonable
from theorem.util.outpaths import writable_dir

__all__ = [
    "METHODS", "Method", "PROFILES", "Timing", "compile_method", "time_interleaved", "measure", "matmul_rate",
    "cost_counts", "peak_rss_of_call", "flop_rate_check", "fit_exponent", "fit_balance", "measured_crossover",
    "run", "analyse", "targets", "plot", "summary", "main",
]


#: the size of the FLOP-rate check (issue 15): the longest sequence and widest head of the full grid
RATE_N, RATE_DK = 32768, 64


def _csv_ints(name: str):
    def parse(text: str) -> tuple[int, ...]:
        try:
            vals = tuple(int(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected comma-separated integers, got {text!r}") from None
        if not vals or any(v < 1 for v in vals):
            raise argparse.ArgumentTypeError(f"{name}: expected positive integers, got {text!r}")
        return vals
    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, turned into exit 2 by the CLI
        raise ValueError(message)


def main(argv: list[str]) -> int:
    ap = _Parser(prog="d2check bench attention", description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small grid, under a minute (the default)")
    g.add_argument("--full", action="store_true", help="the full grid (many minutes; run it with nice)")
    ap.add_argument("--n", type=_csv_ints("--n"), help="comma-separated sequence lengths (overrides the profile)")
    ap.add_argument("--dk", type=_csv_ints("--dk"), help="comma-separated head dimensions (overrides the profile)")
    ap.add_argument("--max-gib", type=float, default=4.0, help="skip programs needing more temporaries (GiB; default 4)")
    ap.add_argument("--no-crossover", action="store_true", help="skip the crossover sweep")
    ap.add_argument("--out", default="out", help="folder for bench_attention_<profile>.json and .png (default out/)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON instead of the summary")
    ap.add_argument("--no-plot", action="store_true", help="do not write the plot")
    ap.add_argument("--rate", action="store_true",
                    help="only the FLOP-rate check: CSQ linear (state plus emit) against a square float32 matmul at "
                         "n=32768, d_k=64, interleaved (about a minute); writes bench_attention_rate.json")
    try:
        args = ap.parse_args(argv)
    except SystemExit as err:  # --help
        return int(err.code or 0)
    if not (args.max_gib > 0):
        raise ValueError(f"--max-gib must be > 0, got {args.max_gib}")
    out = writable_dir("--out", args.out)  # before any computation
    profile = "full" if args.full else "quick"
    if args.rate:
        rc = flop_rate_check(RATE_N, RATE_DK, PROFILES["full"]["matmul_n"])
        load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
        path = out / "bench_attention_rate.json"
        path.write_text(json.dumps(jsonable({"flop_rate_check": rc, "load_average": load}), indent=1))
        print(json.dumps(jsonable(rc)) if args.json else rate_summary(rc, load) + f"\nwrote {path}")
        return 0
    result = run(profile, ns=args.n, dks=args.dk, max_gib=args.max_gib, crossover=not args.no_crossover)
    path = out / f"bench_attention_{profile}.json"
    path.write_text(json.dumps(jsonable(result), indent=1))
    if not args.no_plot:
        plot(result, out / f"bench_attention_{profile}.png")
    if args.json:
        print(json.dumps(jsonable(result)))
    else:
        print(summary(result))
        print(f"wrote {path}" + ("" if args.no_plot else f" and {path.with_suffix('.png')}"))
    return 0
