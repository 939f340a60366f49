"""Hypothesis 6.2 probe: can ``L`` stacked quadratic-attention layers fit degree-``2^L`` attention?

**Target** (teacher, drawn from a seed): degree-``p`` polynomial attention (Kacham, Mirrokni,
Zhong 2023), ``O = A_p(X) X W_V*`` with ``(A_p)_ij = s_ij^p / Σ_l s_il^p``,
``s = X W_Q* (X W_K*)ᵀ / √d`` and ``p`` even, on Gaussian tokens ``X`` (n×d), non-causal.

**Student**: ``h₀ = X W_in`` (width ``w``), ``L`` residual layers
``h ← h + A₂(h W_Q, h W_K) h W_V`` with the row-normalized quadratic kernel ``A₂ ∝ s²`` (poly2 from
:mod:`theorem.kernels`), readout ``h W_out``.  For ``w ≥ 2d`` one layer realises the ``p = 2``
target exactly (keep ``X`` in the first ``d`` channels, write ``A₂ X W_V*`` into the next ``d``,
read those out): that control tells whether the optimizer reaches a realizable fit.

**Fit**: :func:`theorem.training.loop.fit` — Adam (cosine-decayed learning rate) on the mean squared error over a training set of sequences, several restarts;
the **residual** is the fraction of the held-out target energy not explained,
``Σ‖Ô − O‖² / Σ‖O‖²`` (0: exact fit, 1: no better than predicting 0), best over restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from theorem.kernels import get_kernel
from theorem.training._jit import fast_jit
from theorem.training.loop import fit

__all__ = ["DepthProbe", "polynomial_attention", "exact_one_layer", "run_probe", "classify_pattern"]


def polynomial_attention(x, wq, wk, wv, p: int):
    """``A_p(X) X W_V`` for one sequence ``x`` (n×d), ``A_p ∝ s^p`` row-normalized."""
    s = (x @ wq) @ (x @ wk).T / math.sqrt(wq.shape[1])
    t = s**p
    return (t / jnp.sum(t, axis=-1, keepdims=True)) @ x @ wv


@dataclass(frozen=True)
class DepthProbe:
    """Sizes of the probe."""

    n: int = 6
    d: int = 3
    degrees: tuple[int, ...] = (2, 4, 8)
    depths: tuple[int, ...] = (1, 2, 3)
    widths: tuple[int, ...] = (6,)
    train_size: int = 256
    test_size: int = 256
    steps: int = 400
    lr: float = 1e-2
    restarts: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 2 or self.d < 1:
            raise ValueError(f"need n ≥ 2 and d ≥ 1, got n={self.n}, d={self.d}")
        if not self.degrees or any(p < 2 or p % 2 for p in self.degrees):
            raise ValueError(f"degrees must be even integers ≥ 2, got {self.degrees}")
        if not self.depths or any(L < 1 for L in self.depths):
            raise ValueError(f"depths must be ≥ 1, got {self.depths}")
        if not self.widths or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be ≥ 1, got {self.widths}")
        if min(self.train_size, self.test_size, self.steps, self.restarts) < 1:
            raise ValueError("train_size, test_size, steps and restarts must be ≥ 1")


def _teacher(probe: DepthProbe):
    rng = np.random.default_rng(probe.seed)
    d = probe.d
    wq = rng.standard_normal((d, d)) / math.sqrt(d)
    wk = rng.standard_normal((d, d)) / math.sqrt(d)
    wv = rng.standard_normal((d, d)) / math.sqrt(d)
    xs = rng.standard_normal((probe.train_size + probe.test_size, probe.n, d))
    targets = np.stack([
        np.asarray(jax.vmap(lambda x: polynomial_attention(x, wq, wk, wv, p))(jnp.asarray(xs)))
        for p in probe.degrees
    ])  # [degrees, sequences, n, d]
    return jnp.asarray(xs), jnp.asarray(targets)


def _init_student(key, d: int, width: int, depth: int):
    keys = jax.random.split(key, 2 + 3 * depth)
    nrm = lambda k, shape, fan: jax.random.normal(k, shape) / math.sqrt(fan)  # noqa: E731
    return {
        "w_in": nrm(keys[0], (d, width), d),
        "layers": [
            {"w_q": nrm(keys[2 + 3 * i], (width, width), width),
             "w_k": nrm(keys[3 + 3 * i], (width, width), width),
             "w_v": 0.5 * nrm(keys[4 + 3 * i], (width, width), width)}
            for i in range(depth)
        ],
        "w_out": nrm(keys[1], (width, d), width),
    }


def _student(params, x):
    kern = get_kernel("poly2")
    h = x @ params["w_in"]
    for layer in params["layers"]:
        q, k = h @ layer["w_q"], h @ layer["w_k"]
        a = kern.weights_from_scores(q @ k.T / math.sqrt(q.shape[-1]))
        h = h + a @ h @ layer["w_v"]
    return h @ params["w_out"]


def exact_one_layer(wq, wk, wv, width: int) -> dict:
    """Student weights (one layer, ``width ≥ 2d``) that reproduce the ``p = 2`` teacher exactly.

    ``W_in = [I_d, 0]`` keeps ``X`` in the first ``d`` channels; ``W_Q, W_K`` act on those channels
    as the teacher's (the poly2 weights are invariant to the ``1/√w`` vs ``1/√d`` scale);
    ``W_V`` writes ``A X W_V*`` into channels ``d..2d``; ``W_out`` reads them out.
    """
    wq, wk, wv = (np.asarray(a, dtype=np.float64) for a in (wq, wk, wv))
    d = wq.shape[0]
    if width < 2 * d:
        raise ValueError(f"width must be ≥ 2d = {2 * d} for the exact construction, got {width}")
    z = lambda: np.zeros((width, width))  # noqa: E731
    w_in = np.zeros((d, width))
    w_in[:, :d] = np.eye(d)
    w_q, w_k, w_v = z(), z(), z()
    w_q[:d, : wq.shape[1]] = wq
    w_k[:d, : wk.shape[1]] = wk
    w_v[:d, d : 2 * d] = wv
    w_out = np.zeros((width, d))
    w_out[d : 2 * d, :] = np.eye(d)
    as_j = lambda a: jnp.asarray(a)  # noqa: E731
    return {"w_in": as_j(w_in), "layers": [{"w_q": as_j(w_q), "w_k": as_j(w_k), "w_v": as_j(w_v)}],
            "w_out": as_j(w_out)}


def _fit_one_architecture(probe: DepthProbe, xs, targets, depth: int, width: int) -> np.ndarray:
    """Held-out residuals ``[degrees, restarts]`` for one (depth, width)."""
    ntr = probe.train_size

    def residual(params, x, y):
        pred = jax.vmap(lambda s: _student(params, s))(x)
        return jnp.sum((pred - y) ** 2) / jnp.sum(y**2)

    def one_fit(key, y):
        # a non-finite step is skipped (a poly2 row whose scores all vanish is 0/0)
        res = fit(lambda p: residual(p, xs[:ntr], y[:ntr]), _init_student(key, probe.d, width, depth),
                  steps=probe.steps, learning_rate=probe.lr, schedule="cosine", skip_nonfinite=True)
        return residual(res.params, xs[ntr:], y[ntr:])

    keys = jax.random.split(jax.random.PRNGKey(probe.seed + 1000 * depth + width), probe.restarts)
    per_target = jax.vmap(lambda y: jax.vmap(lambda k: one_fit(k, y))(keys))
    res = np.asarray(fast_jit(per_target)(targets))
    return np.where(np.isfinite(res), res, np.inf)


def run_probe(probe: DepthProbe) -> dict[str, Any]:
    """Residual table ``[degree][depth][width]`` (best over restarts) and the pattern it shows."""
    xs, targets = _teacher(probe)
    table = np.full((len(probe.degrees), len(probe.depths), len(probe.widths)), np.inf)
    for j, depth in enumerate(probe.depths):
        for k, width in enumerate(probe.widths):
            table[:, j, k] = _fit_one_architecture(probe, xs, targets, depth, width).min(axis=1)
    result = {
        "n": probe.n, "d": probe.d, "degrees": list(probe.degrees), "depths": list(probe.depths),
        "widths": list(probe.widths), "steps": probe.steps, "restarts": probe.restarts,
        "train_size": probe.train_size, "test_size": probe.test_size,
        "residual": table.tolist(),
    }
    result["pattern"] = classify_pattern(result)
    return result


FIT = 1e-2  # a residual below 1 % of the target energy counts as a fit
REALIZABLE = 1e-3  # the p = 2, L = 1 control must reach this
DEPTH_GAIN = 3.0  # "depth helps" needs the residual to drop by this factor


def classify_pattern(result: dict[str, Any]) -> dict[str, Any]:
    """What the residual table shows, by a fixed rule.

    * ``optimizer-unreliable``: the realizable control (p = 2, L = 1, w ≥ 2d) is not fitted;
    * ``consistent-with-6.2``: for every tested ``p = 2^L`` (L ≥ 2) depth ``L`` fits (residual ≤ FIT)
      and depth ``L − 1`` is at least DEPTH_GAIN× worse;
    * ``depth-does-not-help``: for every ``p ≥ 4`` the best residual over depths ≥ 2 is not
      DEPTH_GAIN× below the depth-1 residual;
    * ``depth-helps-but-no-fit``: depth lowers the residual by DEPTH_GAIN× for some ``p`` but
      depth ``log₂ p`` does not reach FIT for all of them;
    * ``mixed`` otherwise.
    """
    res = np.asarray(result["residual"], dtype=np.float64)
    degrees, depths, widths = result["degrees"], result["depths"], result["widths"]
    best = res.min(axis=2)  # over widths
    d = result["d"]
    out: dict[str, Any] = {"fit_threshold": FIT, "realizable_threshold": REALIZABLE, "depth_gain": DEPTH_GAIN}
    control = None
    if 2 in degrees and 1 in depths:
        ok_widths = [k for k, w in enumerate(widths) if w >= 2 * d]
        if ok_widths:
            control = float(res[degrees.index(2), depths.index(1), ok_widths].min())
    out["control_residual"] = control
    checks = []
    for p in degrees:
        L = int(round(math.log2(p)))
        if 2**L != p or L < 2 or L not in depths or (L - 1) not in depths:
            continue
        r_L = float(best[degrees.index(p), depths.index(L)])
        r_prev = float(best[degrees.index(p), depths.index(L - 1)])
        r_1 = float(best[degrees.index(p), depths.index(1)]) if 1 in depths else float("nan")
        checks.append({"degree": p, "depth": L, "residual_at_log2p": r_L, "residual_at_one_less": r_prev,
                       "residual_depth1": r_1, "fits": r_L <= FIT, "gain": r_prev / r_L if r_L > 0 else float("inf")})
    out["checks"] = checks
    if control is not None and control > REALIZABLE:
        out["pattern"] = "optimizer-unreliable"
    elif checks and all(c["fits"] and c["gain"] >= DEPTH_GAIN for c in checks):
        out["pattern"] = "consistent-with-6.2"
    else:
        gains = []
        for p in degrees:
            if p < 4 or 1 not in depths:
                continue
            deeper = [best[degrees.index(p), j] for j, L in enumerate(depths) if L >= 2]
            if deeper:
                r1 = best[degrees.index(p), depths.index(1)]
                gains.append(r1 / min(deeper) if min(deeper) > 0 else float("inf"))
        out["depth1_over_deeper"] = gains
        if gains and all(g < DEPTH_GAIN for g in gains):
            out["pattern"] = "depth-does-not-help"
        elif gains and any(g >= DEPTH_GAIN for g in gains):
            out["pattern"] = "depth-helps-but-no-fit"
        else:
            out["pattern"] = "mixed"
    return out


QUICK_PROBE = DepthProbe(n=6, d=3, degrees=(2, 4), depths=(1, 2), widths=(6,), train_size=64, test_size=128,
                         steps=400, restarts=8, lr=0.02)
FULL_PROBE = DepthProbe(n=6, d=3, degrees=(2, 4, 8), depths=(1, 2, 3), widths=(6, 12), train_size=64,
                        test_size=256, steps=1000, restarts=8, lr=0.02)
DEFAULT_OUT = "notebooks/data/05_depth.json"


def main(argv: list[str] | None = None) -> int:
    """``python -m theorem.training.depth [--full] [--out FILE]``: run the probe, print (and save) the table."""
    import argparse
    import json
    import sys
    from pathlib import Path

    from theorem.util.jsonable import jsonable as _jsonable

    p = argparse.ArgumentParser(prog="python -m theorem.training.depth", description="hypothesis-6.2 probe")
    p.add_argument("--full", action="store_true", help="the full probe (p ≤ 8, L ≤ 3, two widths, longer fits)")
    p.add_argument("--out", default=None, help=f"JSON file to write (default {DEFAULT_OUT} with --full)")
    args = p.parse_args(argv)
    probe = FULL_PROBE if args.full else QUICK_PROBE
    res = run_probe(probe)
    out = args.out if args.out is not None else (DEFAULT_OUT if args.full else None)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(_jsonable(res), indent=1))
        print(f"wrote {out}", file=sys.stderr)
    table = np.asarray(res["residual"])
    for i, deg in enumerate(res["degrees"]):
        print(f"p = {deg}: " + "; ".join(
            f"L = {L}: " + " ".join(f"{table[i, j, k]:.2e}" for k in range(len(res["widths"])))
            for j, L in enumerate(res["depths"])))
    print("pattern:", res["pattern"]["pattern"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
