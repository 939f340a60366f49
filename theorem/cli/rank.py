"""``d2check rank``: the measured dimension of a pulled-back gradient space beside its closed form.

The head is drawn (``--n --d`` or ``--x`` tokens, ``--dk``, ``--dv``, ``--bias``, ``--seed``) or given
(``--wq --wk [--bq --bk] [--wv]``, one ``.npy`` file each).  Biased heads are measured by
:mod:`theorem.numeric.pullback_bias` (softmax; maps scores, weights, log-weights), the others by
:mod:`theorem.numeric.pullback` (every kernel; maps scores, weights, output).  The output map's closed form is
``min(w, n'·p)`` (``w`` the weights' dimension, ``n'`` distinct tokens, ``p = rank(X W_V)``), certified exactly at
the input where the size allows; its certificate is in ``invariants.certificate`` of ``--json``
(:mod:`theorem.numeric.output_certificate`).
"""

from __future__ import annotations

import json
import sys

import numpy as np
from tqdm import tqdm

from theorem.cli.arrays import load_npy, load_tokens_file
from theorem.cli.common import InputError, seed
from theorem.kernels import KERNEL_NAMES, UnknownKernelError, get_kernel
from theorem.numeric.head import Head
from theorem.numeric.check_head import measure_map, status_of
from theorem.numeric.pullback import MAPS, PullbackProblem
from theorem.numeric.pullback_bias import BIAS_MAPS, BiasedHead, augment
from theorem.util.jsonable import jsonable
from theorem.util.memory import default_max_gib

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    r = sub.add_parser("rank", help="measure the pulled-back gradient space and compare with the closed form")
    src = r.add_argument_group("tokens: --x FILE.npy, or --n N --d D [--seed S]")
    src.add_argument("--x", metavar="FILE.npy", help="an (n, d) float array saved with numpy.save")
    src.add_argument("--n", type=int, help="number of Gaussian tokens")
    src.add_argument("--d", type=int, help="model dimension of Gaussian tokens")
    r.add_argument("--seed", type=seed, default=0, help="seed for the tokens and the drawn parameters")
    r.add_argument("--kernel", default="softmax", help=" | ".join(KERNEL_NAMES))
    r.add_argument("--map", default="weights", help="scores (θ↦S) | weights (θ↦A) | output (θ↦O) | log-weights")
    r.add_argument("--dk", type=int, help="factorized W_Q, W_K ∈ R^{d×dk} (default: the d×d form M)")
    r.add_argument("--dv", type=int, help="output width for --map output (default d)")
    r.add_argument("--bias", action="store_true",
                   help="draw query/key biases too (θ includes them): with --dk, (W_Q, b_Q, W_K, b_K); "
                        "without, the biased M form M̃ ∈ R^{(d+1)×(d+1)} on X̃ = [X, 1]")
    own = r.add_argument_group("your own head (.npy files): --wq and --wk (d×d_k), optional --bq --bk (d_k), --wv (d×d_v)")
    for name in ("wq", "wk", "bq", "bk", "wv"):
        own.add_argument(f"--{name}", metavar="FILE.npy")
    r.add_argument("--shift", type=float, help="csq shift c (default 1)")
    r.add_argument("--no-center", action="store_true", help="csq without key centering")
    r.add_argument("--route", choices=["auto", "dense", "sketch"], default="auto",
                   help="dense Jacobian or matrix-free sketch (default: by size)")
    r.add_argument("--max-gib", type=float, default=None,
                   help=f"refuse a measurement estimated to need more memory (default {default_max_gib():.1f}: "
                        "80%% of this machine's)")
    r.add_argument("--json", action="store_true", help="print one JSON object")


def _tokens(args) -> np.ndarray:
    if args.x is not None and (args.n is not None or args.d is not None):
        raise InputError("rank: give either --x FILE.npy or --n N --d D, not both")
    if args.x is not None:
        return load_tokens_file("rank", args.x)
    if args.n is None or args.d is None:
        raise InputError("rank: give the tokens: --x FILE.npy, or --n N --d D")
    if args.n < 1 or args.d < 1:
        raise InputError(f"rank: --n and --d must be ≥ 1 (got n={args.n}, d={args.d})")
    return np.random.default_rng(args.seed).standard_normal((args.n, args.d))


def _user_head(args, x: np.ndarray) -> Head | None:
    """The head the user gave (--wq/--wk/...), shapes checked against the tokens; None when none given."""
    given = {k: getattr(args, k) for k in ("wq", "wk", "bq", "bk", "wv") if getattr(args, k) is not None}
    if not given:
        return None
    if "wq" not in given or "wk" not in given:
        raise InputError("rank: a head of your own needs both --wq and --wk (d×d_k each)")
    if ("bq" in given) != ("bk" in given):
        raise InputError("rank: give both biases --bq and --bk, or neither")
    for flag in ("dk", "dv"):
        if getattr(args, flag) is not None:
            raise InputError(f"rank: --{flag} is read off your --wq/--wv; drop --{flag}")
    if args.bias:
        raise InputError("rank: --bias draws biases; with your own head give --bq and --bk instead")
    d = x.shape[1]
    wq = load_npy("rank", "--wq", given["wq"], 2, "(d, d_k)")
    wk = load_npy("rank", "--wk", given["wk"], 2, "(d, d_k)")
    if wq.shape[0] != d:
        raise InputError(f"rank: --wq has {wq.shape[0]} rows but the tokens have d = {d} columns")
    if wk.shape != wq.shape:
        raise InputError(f"rank: --wk has shape {wk.shape}, --wq {wq.shape}; they must match (d, d_k)")
    bq = bk = wv = None
    if "bq" in given:
        bq = load_npy("rank", "--bq", given["bq"], 1, "(d_k,)")
        bk = load_npy("rank", "--bk", given["bk"], 1, "(d_k,)")
        for flag, b in (("--bq", bq), ("--bk", bk)):
            if b.shape != (wq.shape[1],):
                raise InputError(f"rank: {flag} has shape {b.shape}; expected ({wq.shape[1]},) = (d_k,)")
    if "wv" in given:
        wv = load_npy("rank", "--wv", given["wv"], 2, "(d, d_v)")
        if wv.shape[0] != d:
            raise InputError(f"rank: --wv has {wv.shape[0]} rows but the tokens have d = {d} columns")
    return Head(x, wq, wk, bq, bk, wv)


def _kernel(args):
    if args.kernel not in KERNEL_NAMES:
        raise InputError(f"rank: unknown kernel {args.kernel!r}; choose one of {', '.join(KERNEL_NAMES)}")
    params = {}
    if args.shift is not None or args.no_center:
        if args.kernel != "csq":
            raise InputError("rank: --shift and --no-center apply to --kernel csq only")
        if args.shift is not None:
            params["shift"] = args.shift
        if args.no_center:
            params["center"] = False
    try:
        return get_kernel(args.kernel, **params)
    except UnknownKernelError as err:
        raise InputError(f"rank: {err}") from None


def _biased(args, head: Head | None, x: np.ndarray, kernel) -> BiasedHead | None:
    """The biased factorized measurement, when the head has (or ``--bias --dk`` draws) biases."""
    if not args.bias and (head is None or not head.has_bias):
        return None
    if head is None and args.dk is None:
        return None  # the biased M form: the M form on X̃ = [X, 1] (see _problem)
    if kernel.name != "softmax":
        raise InputError("rank: biased heads are measured for --kernel softmax only")
    if args.map not in BIAS_MAPS:
        raise InputError(f"rank: a biased head's map is one of {', '.join(BIAS_MAPS)}, got {args.map!r}")
    if head is None:
        d = x.shape[1]
        if not 1 <= args.dk <= d:
            raise InputError(f"rank: --dk must satisfy 1 ≤ dk ≤ d = {d}, got {args.dk}")
        if args.dv is not None:
            raise InputError("rank: --dv applies to --map output, which biased factorized heads do not measure")
        return BiasedHead.draw(x, args.dk, seed=args.seed, map=args.map)
    return BiasedHead.from_head(head, map=args.map)


def _problem(args, head: Head | None, x: np.ndarray, kernel) -> PullbackProblem:
    if args.map not in MAPS:
        raise InputError(f"rank: unknown map {args.map!r}; choose one of {', '.join(MAPS)} (log-weights: biased heads)")
    n, d = x.shape
    if args.dk is not None and not 1 <= args.dk <= d:
        raise InputError(f"rank: --dk must satisfy 1 ≤ dk ≤ d = {d}, got {args.dk}")
    if args.dv is not None and args.dv < 1:
        raise InputError(f"rank: --dv must be ≥ 1, got {args.dv}")
    if args.dv is not None and args.map != "output":
        raise InputError("rank: --dv applies to --map output only")
    try:
        if head is not None:
            if args.map == "output" and head.w_v is None:
                raise InputError("rank: --map output needs your value map --wv (d×d_v)")
            return PullbackProblem.from_head(head, kernel, args.map)
        if args.bias:  # biased M form: S = X̃ M̃ X̃ᵀ with M̃ = [[M, W_Q b_K], [(W_K b_Q)ᵀ, b_Qᵀ b_K]] free
            return PullbackProblem(augment(x), kernel, args.map, None, args.dv, args.seed)
        return PullbackProblem(x, kernel, args.map, args.dk, args.dv, args.seed)
    except ValueError as err:
        raise InputError(f"rank: {err}") from None


def estimated_gib(problem, route: str) -> tuple[float, str]:
    """The memory a measurement needs (GiB) and the route that will be taken.

    Dense: the Jacobian (output × θ) and its forward-mode intermediates (about four copies) and the SVD's
    copy.  Sketch: ``min(θ, output) + 16`` pulled-back gradients of length θ, twice (the SVD's copy), and
    one batch of 64 cotangents of ``n × width`` with the forward pass's ``n × n`` arrays per cotangent.
    """
    out, amb = problem.output_dim, problem.ambient_dim
    if route == "auto":
        route = "dense" if out * amb <= 4_000_000 else "sketch"
    if route == "dense":
        return 8 * out * amb * 6 / 2**30, route
    samples = min(amb, out) + 16
    batch = 64 * 8 * (out + 4 * problem.n * problem.n)
    return (2 * 8 * samples * amb + batch) / 2**30, route


def _scale_problem(x: np.ndarray) -> str | None:
    """A message when the scores cannot be represented in float64 (they overflow or underflow)."""
    top = float(np.max(np.abs(x)))
    if top == 0.0:
        return "every token is 0: the scores vanish and the weights are 0/0; give non-zero tokens"
    if top**2 * x.shape[1] > 1e300:
        return (f"the tokens are too large for float64 (max |x| = {top:.1e}): the scores x·M·x overflow; "
                "rescale the tokens (e.g. LayerNorm them)")
    if top**2 < 1e-290:
        return (f"the tokens are too small for float64 (max |x| = {top:.1e}): the scores and their gradients "
                "underflow to 0; rescale the tokens")
    return None


def run(args) -> int:
    kernel = _kernel(args)
    x = _tokens(args)
    scale = _scale_problem(x)
    if scale is not None:
        raise InputError(f"rank: {scale}")
    head = _user_head(args, x)
    problem = _biased(args, head, x, kernel) or _problem(args, head, x, kernel)
    biased = isinstance(problem, BiasedHead) or args.bias
    limit = default_max_gib() if args.max_gib is None else args.max_gib
    need, route = estimated_gib(problem, args.route)
    if need > limit:
        advice = "use smaller n or d" + (", --route sketch" if route == "dense" else "") + ", or raise --max-gib"
        raise InputError(f"rank: the {route} measurement needs about {need:.3g} GiB (θ has {problem.ambient_dim} "
                         f"coordinates, the map {problem.output_dim} outputs), over --max-gib {limit:.3g}; {advice}")
    bar = None
    if not args.json and sys.stderr.isatty():
        bar = tqdm(total=min(problem.ambient_dim, problem.output_dim) + 16, desc="pulling back cotangents",
                   unit="vjp", file=sys.stderr, leave=False)
    progress = None if bar is None else bar.update
    try:
        meas, pred = measure_map(problem, args.route, progress)
    except ValueError as err:
        raise InputError(f"rank: {err}") from None
    if bar is not None:
        bar.close()
    agrees = None if pred.rank is None else bool(pred.rank == meas.rank.rank)
    status = status_of(meas.rank.status, pred.rank, pred.violations, meas.rank.rank)
    n, d = x.shape
    out = jsonable({
        "measured_rank": meas.rank.rank, "predicted_rank": pred.rank, "ambient_dim": problem.ambient_dim,
        "claimed_dim": d * d, "status": status, "agrees": agrees, "rank_status": meas.rank.status,
        "tolerance": meas.rank.tolerance, "gap": None if np.isinf(meas.rank.gap) else meas.rank.gap,
        "formula": pred.formula, "invariants": pred.invariants, "conditions": pred.conditions,
        "violations": pred.violations, "route": meas.route, "samples": meas.samples,
        "seconds": round(meas.seconds, 3), "n": n, "d": d, "kernel": kernel.describe(), "map": args.map,
        "param": ("biased-factorized" if isinstance(problem, BiasedHead) else "biased-M" if biased else problem.param),
        "dk": problem.k if isinstance(problem, BiasedHead) else problem.dk,
        "dv": problem.width_v if not isinstance(problem, BiasedHead) and args.map == "output" else None,
        "bias": biased,
    })
    if args.json:
        print(json.dumps(out))
        return 0
    gap = "∞" if out["gap"] is None else f"{out['gap']:.2e}"
    print(problem.describe() + ("  [biased M form: M̃ on X̃ = [X, 1]]" if biased and not isinstance(problem, BiasedHead) else ""))
    print(f"  measured rank   {out['measured_rank']:>8}   ({meas.route}, {meas.samples} rows, tol {meas.rank.tolerance:.2e}, "
          f"gap {gap}, {meas.rank.status}, {meas.seconds:.2f} s)")
    print(f"  predicted rank  {str(out['predicted_rank']):>8}   {pred.formula}")
    print(f"  ambient dim θ   {problem.ambient_dim:>8}   claimed by the paper: d² = {d * d}")
    print(f"  invariants      {', '.join(f'{k}={v}' for k, v in pred.invariants.items())}")
    for v in pred.violations:
        print(f"  not claimed: {v}")
    print(f"  status          {status}")
    return 0
