"""``d2check bench rank``: the black-box measurement of a pulled-back gradient space at scale.

Default: softmax weights map, θ = M, n = 1024, d = 64 (a 4096-dimensional parameter space).
The matrix-free route pulls ``d² + 16`` rank-one cotangents back through ``jax.vjp`` (no
Kronecker structure used) and takes the SVD of the stacked gradients.  The sketch has a time target
(:data:`TARGET_SECONDS`): the command says met or MISSED, and a miss exits with code 1.  The dense route would
form the n²×d² Jacobian: its cost is measured at a smaller n in the same run and scaled by the
ratio of Jacobian sizes, and its memory is stated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from theorem.kernels import KERNEL_NAMES, get_kernel
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, dense_jacobian, measure_rank
from theorem.util.jsonable import jsonable
from theorem.util.outpaths import writable_file

#: the matrix-free sketch at the default size should finish within this many seconds (issue 15)
TARGET_SECONDS = 60.0


def target_line(seconds: float, target: float | None = None, load: tuple[float, ...] | None = None) -> str:
    """Whether the sketch met its time target (default :data:`TARGET_SECONDS`), said either way (a miss is
    never silent), with the load."""
    target = TARGET_SECONDS if target is None else target
    at = "" if load is None else f" (load average {load[0]:.1f} on {os.cpu_count()} cores)"
    if seconds <= target:
        return f"  target: sketch under {target:.0f} s — met: {seconds:.1f} s{at}"
    return f"  target: sketch under {target:.0f} s — MISSED: {seconds:.1f} s, {seconds / target:.2f}× the target{at}"


def load_average() -> tuple[float, ...] | None:
    try:
        return tuple(os.getloadavg())
    except OSError:
        return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="d2check bench rank", description=__doc__)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--kernel", default="softmax", choices=KERNEL_NAMES[:3])
    ap.add_argument("--small-n", type=int, default=72,
                    help="n at which the dense route is timed (n ≥ d keeps its n² scaling)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    try:
        args = ap.parse_args(argv)
    except SystemExit as err:
        if err.code == 0:
            return 0
        raise ValueError("bad options (see d2check bench rank --help)") from None
    if args.n < 2 or args.d < 1 or args.small_n < 2:
        raise ValueError("--n and --small-n must be ≥ 2 and --d ≥ 1")
    if args.json:
        writable_file("--json", args.json)  # before any computation

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d))
    kernel = get_kernel(args.kernel)
    problem = PullbackProblem(x, kernel, "weights")
    total = problem.ambient_dim + 16
    with tqdm(total=total, desc=f"vjp sketch n={args.n} d={args.d}", unit="vjp", file=sys.stderr,
              disable=not sys.stderr.isatty()) as bar:
        meas = measure_rank(problem, route="sketch", progress=bar.update)
    pred = predict_rank(problem)

    # dense route, timed at a smaller n, scaled by the Jacobian's size (n² rows)
    small = PullbackProblem(x[: args.small_n], kernel, "weights")
    dense_jacobian(small)  # compile
    t0 = time.perf_counter()
    jac = dense_jacobian(small)
    np.linalg.svd(jac, compute_uv=False)
    t_small = time.perf_counter() - t0
    scale = (args.n / args.small_n) ** 2
    t_dense = t_small * scale
    bytes_dense = problem.output_dim * problem.ambient_dim * 8
    res = {
        "n": args.n, "d": args.d, "kernel": args.kernel, "ambient_dim": problem.ambient_dim,
        "sketch_seconds": meas.seconds, "samples": meas.samples,
        "measured_rank": meas.rank.rank, "rank_status": meas.rank.status,
        "gap": None if np.isinf(meas.rank.gap) else meas.rank.gap,
        "predicted_rank": pred.rank, "formula": pred.formula,
        "dense_small_n": args.small_n, "dense_small_seconds": t_small,
        "dense_estimated_seconds": t_dense, "dense_bytes": bytes_dense,
        "target_seconds": TARGET_SECONDS, "target_met": meas.seconds <= TARGET_SECONDS, "load": load_average(),
    }
    gib = bytes_dense / 2**30
    print(f"pulled-back gradient space: {args.kernel} weights map, θ = M, n = {args.n}, d = {args.d} "
          f"(ambient {problem.ambient_dim})")
    print(f"  matrix-free sketch: {meas.samples} vjps + SVD in {meas.seconds:.1f} s -> rank {meas.rank.rank} "
          f"({meas.rank.status}, gap {'∞' if res['gap'] is None else format(res['gap'], '.1e')}); "
          f"closed form {pred.rank} [{pred.formula}]")
    print(f"  dense Jacobian: {problem.output_dim} × {problem.ambient_dim} = {gib:.1f} GiB of float64; "
          f"timed at n = {args.small_n}: {t_small:.2f} s, scaled by (n/{args.small_n})² = {scale:.0f}: "
          f"≈ {t_dense:.0f} s, and it does not fit in 24 GiB" if gib > 24 else
          f"  dense Jacobian: {gib:.2f} GiB; timed at n = {args.small_n}: {t_small:.2f} s, scaled ≈ {t_dense:.1f} s")
    print(f"  ratio dense-estimate / sketch = {t_dense / meas.seconds:.1f}×")
    print(target_line(meas.seconds, load=res["load"]))
    if not res["target_met"]:
        print(f"d2check bench rank: the sketch missed its {TARGET_SECONDS:.0f} s target ({meas.seconds:.1f} s)",
              file=sys.stderr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(jsonable(res), fh, indent=1)
    return 0 if res["target_met"] else 1  # a miss fails the command (the figures are still printed and written)
