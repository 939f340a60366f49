"""``d2check``: verify the claims, measure a pulled-back gradient space, run benchmarks.

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from theorem import real_cli, report
from theorem.claims.ledger import Profile
from theorem.claims.registry import CLAIM_IDS, UnknownClaimError, load_claim
from theorem.claims.runner import run_readings
from theorem.kernels import KERNEL_NAMES, UnknownKernelError, get_kernel
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import MAPS, PullbackProblem, measure_rank
from theorem.util.jsonable import jsonable

DEFAULT_OUT = "out"


class InputError(Exception):
    """A user error: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise InputError(f"{self.prog}: {message}")


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be ≥ 1, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:

    p = _Parser(prog="d2check", description="Check the claims of 'The d² Pullback Theorem'.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    v = sub.add_parser("verify", help="run the ledger: every claim, its readings, their verdicts")
    v.add_argument("--claim", action="append", metavar="ID", help="claim ID (repeatable), e.g. T1")
    v.add_argument("--profile", choices=["quick", "full"], default="quick")
    v.add_argument("--json", action="store_true", help="print the verdicts as JSON instead of a table")
    v.add_argument("--out", default=DEFAULT_OUT, help=f"folder for report.md and verdicts.json (default {DEFAULT_OUT}/)")

    r = sub.add_parser("rank", help="measure the pulled-back gradient space and compare with the closed form")
    src = r.add_argument_group("tokens: --x FILE.npy, or --n N --d D [--seed S]")
    src.add_argument("--x", metavar="FILE.npy", help="an (n, d) float array saved with numpy.save")
    src.add_argument("--n", type=int, help="number of Gaussian tokens")
    src.add_argument("--d", type=int, help="model dimension of Gaussian tokens")
    r.add_argument("--seed", type=int, default=0, help="seed for the tokens and the fixed parameters")
    r.add_argument("--kernel", default="softmax", help="softmax | poly2 | csq | linear")
    r.add_argument("--map", default="weights", help="scores (θ↦S) | weights (θ↦A) | output (θ↦O)")
    r.add_argument("--dk", type=int, help="factorized W_Q, W_K ∈ R^{d×dk} (default: the d×d form M)")
    r.add_argument("--dv", type=int, help="output width for --map output (default d)")
    r.add_argument("--shift", type=float, help="csq shift c (default 1)")
    r.add_argument("--no-center", action="store_true", help="csq without key centering")
    r.add_argument("--route", choices=["auto", "dense", "sketch"], default="auto",
                   help="dense Jacobian or matrix-free sketch (default: by size)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(kernel_names=KERNEL_NAMES, map_names=MAPS)

    rl = sub.add_parser("real", add_help=False,
                        help="the checks on a pretrained transformer (all-MiniLM-L6-v2; `make real` installs it)")
    rl.add_argument("rest", nargs=argparse.REMAINDER, help="options of d2check real (see d2check real --help)")

    b = sub.add_parser("bench", help="benchmarks: ratios measured in one run")
    b.add_argument("name", help="rank | attention")
    b.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    return p


# --- rank ----------------------------------------------------------------------------------
def _load_tokens(args) -> np.ndarray:
    if args.x is not None and (args.n is not None or args.d is not None):
        raise InputError("rank: give either --x FILE.npy or --n N --d D, not both")
    if args.x is None:
        if args.n is None or args.d is None:
            raise InputError("rank: give the tokens: --x FILE.npy, or --n N --d D")
        if args.n < 1 or args.d < 1:
            raise InputError(f"rank: --n and --d must be ≥ 1 (got n={args.n}, d={args.d})")
        return np.random.default_rng(args.seed).standard_normal((args.n, args.d))
    path = Path(args.x)
    if not path.exists():
        raise InputError(f"rank: --x {path}: no such file")
    if path.is_dir():
        raise InputError(f"rank: --x {path}: is a directory, expected a .npy file")
    try:
        x = np.load(path, allow_pickle=False)
    except Exception:
        raise InputError(f"rank: --x {path}: not a .npy array file (save it with numpy.save)") from None
    if not isinstance(x, np.ndarray):
        raise InputError(f"rank: --x {path}: holds several arrays (.npz); save one (n, d) array with numpy.save")
    if x.dtype.kind not in "fiub":
        raise InputError(f"rank: --x {path}: dtype {x.dtype} is not numeric; expected a float (n, d) array")
    if x.ndim != 2:
        raise InputError(f"rank: --x {path}: expected a 2-D (n, d) array, got {x.ndim}-D shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"rank: --x {path}: empty array of shape {x.shape}; need n ≥ 1 tokens and d ≥ 1")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x)))
        raise InputError(f"rank: --x {path}: {bad} NaN or Inf entries; the tokens must be finite")
    return x


def cmd_rank(args) -> int:

    if args.kernel not in args.kernel_names:
        raise InputError(f"rank: unknown kernel {args.kernel!r}; choose one of {', '.join(args.kernel_names)}")
    if args.map not in args.map_names:
        raise InputError(f"rank: unknown map {args.map!r}; choose one of {', '.join(args.map_names)}")
    params = {}
    if args.shift is not None or args.no_center:
        if args.kernel != "csq":
            raise InputError("rank: --shift and --no-center apply to --kernel csq only")
        if args.shift is not None:
            params["shift"] = args.shift
        if args.no_center:
            params["center"] = False
    x = _load_tokens(args)
    n, d = x.shape
    if args.dk is not None and not 1 <= args.dk <= d:
        raise InputError(f"rank: --dk must satisfy 1 ≤ dk ≤ d = {d}, got {args.dk}")
    if args.dv is not None and args.dv < 1:
        raise InputError(f"rank: --dv must be ≥ 1, got {args.dv}")
    if args.dv is not None and args.map != "output":
        raise InputError("rank: --dv applies to --map output only")
    try:
        kernel = get_kernel(args.kernel, **params)
        problem = PullbackProblem(x, kernel, args.map, args.dk, args.dv, args.seed)
    except (UnknownKernelError, ValueError) as err:
        raise InputError(f"rank: {err}") from None

    progress = None
    bar = None
    if not args.json and sys.stderr.isatty():
        bar = tqdm(total=min(problem.ambient_dim, problem.output_dim) + 16, desc="pulling back cotangents",
                   unit="vjp", file=sys.stderr, leave=False)
        progress = bar.update
    try:
        meas = measure_rank(problem, route=args.route, progress=progress)
    except ValueError as err:
        raise InputError(f"rank: {err}") from None
    if bar is not None:
        bar.close()
    pred = predict_rank(problem)
    agrees = None if pred.rank is None else bool(pred.rank == meas.rank.rank)
    if meas.rank.status != "ok":
        status = "ill-defined"
    elif pred.rank is None or pred.violations:
        status = "no-closed-form" if pred.rank is None else "conditions-violated"
    else:
        status = "ok" if agrees else "mismatch"
    out = {
        "measured_rank": meas.rank.rank,
        "predicted_rank": pred.rank,
        "ambient_dim": problem.ambient_dim,
        "claimed_dim": d * d,
        "status": status,
        "agrees": agrees,
        "rank_status": meas.rank.status,
        "tolerance": meas.rank.tolerance,
        "gap": None if np.isinf(meas.rank.gap) else meas.rank.gap,
        "formula": pred.formula,
        "invariants": pred.invariants,
        "conditions": pred.conditions,
        "violations": pred.violations,
        "route": meas.route,
        "samples": meas.samples,
        "seconds": round(meas.seconds, 3),
        "n": n,
        "d": d,
        "kernel": kernel.describe(),
        "map": args.map,
        "param": problem.param,
        "dk": args.dk,
        "dv": problem.width_v if args.map == "output" else None,
    }
    out = jsonable(out)
    if args.json:
        print(json.dumps(out))
        return 0
    gap = "∞" if out["gap"] is None else f"{out['gap']:.2e}"
    print(f"{problem.describe()}")
    print(f"  measured rank   {out['measured_rank']:>8}   ({meas.route}, {meas.samples} rows, tol {meas.rank.tolerance:.2e}, "
          f"gap {gap}, {meas.rank.status}, {meas.seconds:.2f} s)")
    print(f"  predicted rank  {str(out['predicted_rank']):>8}   {pred.formula}")
    print(f"  ambient dim θ   {problem.ambient_dim:>8}   claimed by the paper: d² = {d * d}")
    print(f"  invariants      {', '.join(f'{k}={v}' for k, v in pred.invariants.items())}")
    for v in pred.violations:
        print(f"  not claimed: {v}")
    print(f"  status          {status}")
    return 0


# --- verify --------------------------------------------------------------------------------
def cmd_verify(args) -> int:

    ids = [c.upper() for c in args.claim] if args.claim else list(CLAIM_IDS)
    for cid in ids:
        if cid not in CLAIM_IDS:
            raise InputError(f"verify: unknown claim {cid!r}; choose from {', '.join(CLAIM_IDS)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"verify: --out {out} exists and is not a folder")
    profile = Profile(args.profile)
    start = time.perf_counter()
    selected, unchecked = [], {}
    for cid in ids:
        try:
            claim, missing = load_claim(cid)
        except UnknownClaimError as err:
            raise InputError(f"verify: {err}") from None
        selected.extend((claim, r) for r in claim.readings)
        if missing:
            unchecked[cid] = missing

    def progress(cid, reading, index, total, result):  # one line per reading on stderr, always
        if result is not None:
            print(f"[{index + 1}/{total}] {reading.id}: {result.verdict} ({result.seconds:.1f} s)",
                  file=sys.stderr, flush=True)

    results = run_readings(selected, profile, progress)
    seconds = time.perf_counter() - start
    recs = report.records(results, unchecked)
    md_path, js_path = report.write(recs, out, profile.name, seconds)
    if args.json:
        print(json.dumps(recs, ensure_ascii=False))
    else:
        width = os.get_terminal_size().columns if sys.stdout.isatty() else 160
        print(report.table(recs, width=width))
        counts: dict[str, int] = {}
        for r in recs:
            key = r["verdict"] or "not checked yet"
            counts[key] = counts.get(key, 0) + 1
        print()
        print(", ".join(f"{v}: {k}" for k, v in counts.items()) + f"  ({seconds:.0f} s)")
        print(f"wrote {md_path} and {js_path}")
    print(f"d2check verify: report written to {md_path}", file=sys.stderr)
    errors = [r for r in results if r.error is not None]
    for r in errors:
        print(f"toolkit error in {r.reading_id}: {r.error}", file=sys.stderr)
    return 1 if errors else 0


# --- real ----------------------------------------------------------------------------------
def cmd_real(args) -> int:
    return real_cli.main(args.rest)


# --- bench ---------------------------------------------------------------------------------
BENCHES = {"rank": "theorem.bench.rank", "attention": "theorem.bench.attention"}


def cmd_bench(args) -> int:
    if args.name not in BENCHES:
        raise InputError(f"bench: unknown benchmark {args.name!r}; choose one of {', '.join(BENCHES)}")
    try:
        module = importlib.import_module(BENCHES[args.name])
    except ModuleNotFoundError as err:
        if err.name == BENCHES[args.name]:
            raise InputError(f"bench: {args.name} is not implemented yet") from None
        raise
    try:
        return module.main(args.rest)
    except ValueError as err:
        raise InputError(f"bench {args.name}: {err}") from None


def main(argv: list[str] | None = None) -> int:
    """The ``d2check`` command.  It owns its process, so it runs JAX in float64 throughout."""
    jax.config.update("jax_enable_x64", True)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["real"]:  # its own parser: every option goes to it
            try:
                return real_cli.main(argv[1:])
            except ValueError as err:  # its bad-input errors: one line, exit 2
                raise InputError(str(err)) from None
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        handler = {"verify": cmd_verify, "rank": cmd_rank, "bench": cmd_bench, "real": cmd_real}[args.command]
        return handler(args)
    except InputError as err:
        print(str(err).replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("d2check: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
