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

Profiles: ``--quick`` (n ≤ 2048, d_k ∈ {8, 16}; under a minute) and ``--full`` (the default:
n = 128 … 32768, d_k ∈ {8, 16, 32, 64}; many minutes — run it with ``nice``).  Writes
``bench_attention_<profile>.json`` and ``.png`` to ``--out`` (default ``out/``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "METHODS",
    "PROFILES",
    "Timing",
    "compile_method",
    "time_interleaved",
    "measure",
    "matmul_rate",
    "fit_exponent",
    "measured_crossover",
    "run",
    "main",
]


# ---------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    name: str
    kernel: str  # cost-model kernel name
    algorithm: str  # quadratic | linear | dpa
    causal: bool
    label: str

    def fn(self) -> Callable:
        import jax

        from theorem.attention import attention

        if self.algorithm == "dpa":
            def f(q, k, v):
                out = jax.nn.dot_product_attention(q[None, :, None, :], k[None, :, None, :], v[None, :, None, :],
                                                   is_causal=self.causal)
                return out[0, :, 0, :]
            return f
        kernel = "softmax" if self.kernel == "softmax" else "csq"

        def g(q, k, v):
            return attention(q, k, v, kernel=kernel, causal=self.causal, algorithm=self.algorithm)
        return g


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("softmax-jnp", "softmax", "quadratic", False, "softmax, jnp reference"),
        Method("softmax-dpa", "softmax", "dpa", False, "softmax, jax.nn.dot_product_attention"),
        Method("csq-quadratic", "csq", "quadratic", False, "CSQ quadratic"),
        Method("csq-quadratic-causal", "csq", "quadratic", True, "CSQ quadratic, causal"),
        Method("csq-linear", "csq", "linear", False, "CSQ linear"),
        Method("csq-linear-causal", "csq", "linear", True, "CSQ linear, causal (chunked)"),
    )
}


def _geometric(lo: int, hi: int, per_octave: int) -> tuple[int, ...]:
    out, i = [], 0
    while True:
        n = int(round(lo * 2 ** (i / per_octave)))
        if n > hi:
            break
        if not out or n != out[-1]:
            out.append(n)
        i += 1
    return tuple(out)


PROFILES: dict[str, dict] = {
    "quick": dict(
        ns=(128, 512, 2048), dks=(8, 16), crossover_dks=(8, 16), crossover_ns=_geometric(32, 4096, 1),
        crossover_causal=False, min_seconds=0.01, min_rounds=3, max_rounds=5, matmul_n=1024,
    ),
    "full": dict(
        ns=_geometric(128, 32768, 1), dks=(8, 16, 32, 64), crossover_dks=(8, 16, 32, 64),
        crossover_ns=_geometric(16, 16384, 4), crossover_causal=True, min_seconds=0.15, min_rounds=3,
        max_rounds=7, matmul_n=2048,
    ),
}


# ---------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------


@dataclass
class Timing:
    """One method at one size: the timed calls (seconds), the XLA buffer sizes, or why it was skipped."""

    method: str
    n: int
    dk: int
    dv: int
    seconds: list[float]
    temp_bytes: int | None = None
    argument_bytes: int | None = None
    output_bytes: int | None = None
    skipped: str | None = None
    peak_rss_bytes: int | None = None

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    def to_dict(self) -> dict:
        return {
            "method": self.method, "n": self.n, "dk": self.dk, "dv": self.dv,
            "seconds_min": self.best, "seconds_median": statistics.median(self.seconds) if self.seconds else None,
            "seconds": self.seconds, "temp_bytes": self.temp_bytes, "argument_bytes": self.argument_bytes,
            "output_bytes": self.output_bytes, "skipped": self.skipped, "peak_rss_bytes": self.peak_rss_bytes,
        }


def _inputs(n: int, dk: int, dv: int, seed: int = 0):
    """LayerNorm-scale float32 inputs: entries of q, k, v drawn N(0, 1)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(seed + 7919 * n + dk)
    q, k = (jnp.asarray(rng.standard_normal((n, dk)), jnp.float32) for _ in range(2))
    v = jnp.asarray(rng.standard_normal((n, dv)), jnp.float32)
    return q, k, v


def compile_method(name: str, n: int, dk: int, dv: int):
    """The AOT-compiled program of a method at one size, and its XLA memory analysis."""
    import jax

    if name not in METHODS:
        raise ValueError(f"method: unknown {name!r}; choose one of {', '.join(METHODS)}")
    args = _inputs(n, dk, dv)
    lowered = jax.jit(METHODS[name].fn()).lower(*args)
    compiled = lowered.compile()
    mem = compiled.memory_analysis()
    return compiled, mem, args


def _predicted_quadratic_temp(n: int) -> int:
    """A lower bound on a quadratic program's temporaries: one n×n float32 array."""
    return 4 * n * n


def time_interleaved(fns: dict[str, Callable], args, *, min_rounds: int, max_rounds: int,
                     min_seconds: float) -> dict[str, list[float]]:
    """Call each program once per round (after one warm-up call each), until every program has
    ``min_rounds`` calls and ``min_seconds`` of timed calls, or ``max_rounds`` rounds."""
    import jax

    for f in fns.values():
        jax.block_until_ready(f(*args))
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(max_rounds):
        for name, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - t0)
        if r + 1 >= min_rounds and all(sum(t) >= min_seconds for t in times.values()):
            break
    return times


def measure(names, n: int, dk: int, dv: int | None = None, *, max_bytes: float = 4 * 2**30,
            min_rounds: int = 3, max_rounds: int = 5, min_seconds: float = 0.01,
            peak_memory: bool = False) -> dict[str, Timing]:
    """Time ``names`` at one size, interleaved; skip programs whose temporaries exceed ``max_bytes``."""
    dv = dv or dk
    out: dict[str, Timing] = {}
    fns = {}
    args = None
    for name in names:
        if METHODS[name].algorithm != "linear" and _predicted_quadratic_temp(n) > max_bytes:
            out[name] = Timing(name, n, dk, dv, [], skipped=f"an n×n float32 array alone needs "
                               f"{_predicted_quadratic_temp(n) / 2**30:.1f} GiB > --max-gib")
            continue
        compiled, mem, args = compile_method(name, n, dk, dv)
        t = Timing(name, n, dk, dv, [], mem.temp_size_in_bytes, mem.argument_size_in_bytes, mem.output_size_in_bytes)
        if mem.temp_size_in_bytes > max_bytes:
            t.skipped = f"needs {mem.temp_size_in_bytes / 2**30:.1f} GiB of temporaries > --max-gib"
        else:
            fns[name] = compiled
        out[name] = t
    if fns:
        times = time_interleaved(fns, args, min_rounds=min_rounds, max_rounds=max_rounds, min_seconds=min_seconds)
        for name, ts in times.items():
            out[name].seconds = ts
        if peak_memory:
            for name, f in fns.items():
                out[name].peak_rss_bytes = peak_rss_of_call(f, args)
    return out


def _proc_status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss_of_call(f: Callable, args) -> int | None:
    """Peak resident memory of one call above the resident memory before it (Linux: the high-water mark
    is reset through ``/proc/self/clear_refs``); None where that is not available."""
    import jax

    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    base = _proc_status("VmRSS")
    jax.block_until_ready(f(*args))
    peak = _proc_status("VmHWM")
    if base is None or peak is None:
        return None
    return max(0, peak - base)


def matmul_rate(size: int = 2048, rounds: int = 5) -> dict:
    """FLOP rate of a square float32 matmul ``size×size @ size×size`` (2·size³ FLOPs), best of ``rounds``."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
    b = jnp.asarray(rng.standard_normal((size, size)), jnp.float32)
    f = jax.jit(lambda x, y: x @ y).lower(a, b).compile()
    times = time_interleaved({"mm": f}, (a, b), min_rounds=rounds, max_rounds=rounds, min_seconds=0.0)["mm"]
    best = min(times)
    return {"size": size, "flops": 2 * size**3, "seconds_min": best, "seconds": times, "flops_per_second": 2 * size**3 / best}


def flop_rate_check(n: int, dk: int, matmul_n: int, rounds: int = 5) -> dict:
    """The linear form's FLOP rate (FLOPs of the closed form / time) beside a square float32 matmul's,
    the two programs called alternately so that the machine's load hits both alike."""
    import jax
    import jax.numpy as jnp

    compiled, mem, args = compile_method("csq-linear", n, dk, dk)
    rng = np.random.default_rng(2)
    a = jnp.asarray(rng.standard_normal((matmul_n, matmul_n)), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y).lower(a, a).compile()
    lin_flops = _cost_counts("csq-linear", n, dk, dk)["flops"]
    times = {"linear": [], "matmul": []}
    jax.block_until_ready(compiled(*args))
    jax.block_until_ready(mm(a, a))
    for _ in range(rounds):
        for name, f, xs in (("linear", compiled, args), ("matmul", mm, (a, a))):
            t0 = time.perf_counter()
            jax.block_until_ready(f(*xs))
            times[name].append(time.perf_counter() - t0)
    lin_rate = lin_flops / min(times["linear"])
    mm_rate = 2 * matmul_n**3 / min(times["matmul"])
    return {"n": n, "dk": dk, "matmul_n": matmul_n, "linear_flops": lin_flops, "seconds": times,
            "linear_flops_per_second": lin_rate, "matmul_flops_per_second": mm_rate, "fraction": lin_rate / mm_rate,
            "linear_temp_bytes": mem.temp_size_in_bytes}


# ---------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------


def fit_exponent(xs, ys) -> dict:
    """Least-squares slope of ``log y`` on ``log x`` (the exponent ``p`` in ``y ∝ x^p``) and its R²."""
    x, y = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    if len(x) < 2:
        return {"exponent": None, "r2": None, "points": len(x)}
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss if ss > 0 else 1.0
    return {"exponent": float(slope), "r2": r2, "points": int(len(x))}


def measured_crossover(ns, t_quadratic, t_linear) -> dict:
    r"""Where the linear form overtakes: the last sign change of :math:`\log(t_q/t_l)`, interpolated in
    :math:`\log n`.  ``status``: ``ok``, ``below`` (linear faster at every n), ``above`` (never faster)."""
    pts = [(n, q, lin) for n, q, lin in zip(ns, t_quadratic, t_linear) if q is not None and lin is not None]
    if len(pts) < 2:
        return {"n_star": None, "status": "too few points"}
    logr = [math.log(q / lin) for _, q, lin in pts]
    if all(r > 0 for r in logr):
        return {"n_star": None, "status": "below", "bound": pts[0][0]}
    if all(r <= 0 for r in logr):
        return {"n_star": None, "status": "above", "bound": pts[-1][0]}
    last = max(i for i, r in enumerate(logr) if r <= 0)
    if last == len(pts) - 1:
        return {"n_star": None, "status": "above", "bound": pts[-1][0]}
    (n0, r0), (n1, r1) = (pts[last][0], logr[last]), (pts[last + 1][0], logr[last + 1])
    frac = -r0 / (r1 - r0) if r1 != r0 else 0.0
    n_star = math.exp(math.log(n0) + frac * (math.log(n1) - math.log(n0)))
    crossings = sum(1 for a, b in zip(logr, logr[1:]) if (a <= 0) != (b <= 0))
    return {"n_star": n_star, "status": "ok", "bracket": [n0, n1], "sign_changes": crossings}


def _cost_counts(method: str, n: int, dk: int, dv: int) -> dict:
    from theorem.numeric.csq_linear import default_block
    from theorem.symbolic import flops as fl
    from theorem.symbolic.flops import cost, feature_dim, optimal_chunk

    m = METHODS[method]
    algo = "quadratic" if m.algorithm == "dpa" else m.algorithm
    c = cost(m.kernel, algo, m.causal)
    chunk = min(optimal_chunk(dk, dv), n)
    block = default_block(n, int(feature_dim("csq", dk)))
    out = c.at(n=n, dk=dk, dv=dv, chunk=chunk, block=block)
    out["loops"] = float(c.loops.subs({fl.N: n, fl.C: chunk, fl.B: block}))
    out["chunk"], out["block"] = chunk, block
    return out


# ---------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------


def run(profile: str = "full", *, ns=None, dks=None, max_gib: float = 4.0, crossover: bool = True,
        progress: bool = True, log: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark; returns the JSON-ready result (see :func:`main` for the printed summary)."""
    import jax
    from tqdm import tqdm

    from theorem.symbolic import flops as fl

    cfg = dict(PROFILES[profile])
    ns = tuple(ns or cfg["ns"])
    dks = tuple(dks or cfg["dks"])
    max_bytes = max_gib * 2**30
    timing_kw = dict(min_rounds=cfg["min_rounds"], max_rounds=cfg["max_rounds"], min_seconds=cfg["min_seconds"])
    started = time.time()
    xo_dks = [d for d in cfg["crossover_dks"] if d in dks] if crossover else []
    xo_causal = (False, True) if cfg["crossover_causal"] else (False,)
    total = len(ns) * len(dks) + len(xo_dks) * len(cfg["crossover_ns"]) * len(xo_causal)
    bar = tqdm(total=total, desc="bench attention", unit="size", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    mm_before = matmul_rate(cfg["matmul_n"])
    grid = []
    for dk in dks:
        for n in ns:
            bar.set_postfix_str(f"d_k={dk} n={n}")
            res = measure(list(METHODS), n, dk, dk, max_bytes=max_bytes, peak_memory=True, **timing_kw)
            for t in res.values():
                rec = t.to_dict()
                rec.update(_cost_counts(t.method, n, dk, dk))
                grid.append(rec)
            bar.update(1)
    xo_points = []
    for dk in xo_dks:
        for causal in xo_causal:
            names = ["csq-quadratic-causal", "csq-linear-causal"] if causal else ["csq-quadratic", "csq-linear"]
            ahead = 0
            for n in cfg["crossover_ns"]:
                bar.set_postfix_str(f"crossover d_k={dk} n={n}{' causal' if causal else ''}")
                res = measure(names, n, dk, dk, max_bytes=max_bytes, **timing_kw)
                q, lin = res[names[0]].best, res[names[1]].best
                xo_points.append({"dk": dk, "n": n, "causal": causal, "quadratic": q, "linear": lin,
                                  **{f"{k}_{m}": v for m in ("quadratic", "linear")
                                     for k, v in _cost_counts(names[0 if m == "quadratic" else 1], n, dk, dk).items()
                                     if k in ("matmul", "elementwise", "loops")}})
                bar.update(1)
                ahead = ahead + 1 if (q is not None and lin is not None and q > 3 * lin) else 0
                if ahead >= 2:  # linear clearly and stably ahead: the crossover is behind us
                    bar.update(len(cfg["crossover_ns"]) - 1 - cfg["crossover_ns"].index(n))
                    break
    mm_after = matmul_rate(cfg["matmul_n"])
    # the throughput target: the linear form at the largest size, interleaved with the matmul
    rate_check = None
    if max(ns) >= 32768 and 64 in dks:
        bar.set_postfix_str("FLOP rate: linear form vs matmul, interleaved")
        rate_check = flop_rate_check(32768, 64, cfg["matmul_n"])
    bar.close()
    result = {
        "profile": profile,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "jax": jax.__version__, "backend": jax.default_backend(),
                    "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "dtype": "float32",
        "started": started,
        "seconds": None,
        "ns": list(ns), "dks": list(dks),
        "matmul": {"before": mm_before, "after": mm_after,
                   "flops_per_second": max(mm_before["flops_per_second"], mm_after["flops_per_second"])},
        "grid": grid,
        "crossover_points": xo_points,
        "flop_rate_check": rate_check,
        "balance_in_code": dict(vars(fl.THIS_MACHINE)),
    }
    result.update(analyse(result))
    result["seconds"] = time.time() - started
    return result


def _grid_lookup(grid, method, n, dk):
    for r in grid:
        if r["method"] == method and r["n"] == n and r["dk"] == dk:
            return r
    return None


def analyse(result: dict) -> dict:
    """Exponents, ratios, crossovers, targets: everything :func:`run` derives from the timings."""
    from theorem.symbolic import flops as fl

    grid, ns, dks = result["grid"], result["ns"], result["dks"]
    mm_rate = result["matmul"]["flops_per_second"]
    out: dict = {}
    # exponents of n (upper half of the n range where measured) and of d_k (at the largest common n)
    exps = {}
    for m in METHODS:
        for dk in dks:
            pts = [(r["n"], r["seconds_min"]) for r in grid if r["method"] == m and r["dk"] == dk and r["seconds_min"]]
            pts = [p for p in pts if p[0] >= 1024] if len([p for p in pts if p[0] >= 1024]) >= 2 else pts[-2:]
            if len(pts) >= 2:
                fit = fit_exponent(*zip(*pts))
                fit["n_range"] = [pts[0][0], pts[-1][0]]
                exps.setdefault(m, {})[str(dk)] = fit
    out["n_exponents"] = exps
    d_exps = {}
    for m in METHODS:
        common = [n for n in ns if all((_grid_lookup(grid, m, n, dk) or {}).get("seconds_min") for dk in dks)]
        if common and len(dks) >= 2:
            n = max(common)
            ys = [_grid_lookup(grid, m, n, dk)["seconds_min"] for dk in dks]
            fit = fit_exponent(dks, ys)
            flops = [_grid_lookup(grid, m, n, dk)["flops"] for dk in dks]
            fit["model_exponent"] = fit_exponent(dks, flops)["exponent"]
            fit["n"] = n
            big = [d for d in dks if d >= 16]
            if len(big) >= 2:
                fit["upper"] = fit_exponent(big, [_grid_lookup(grid, m, n, d)["seconds_min"] for d in big])
                fit["upper"]["model_exponent"] = fit_exponent(big, [_grid_lookup(grid, m, n, d)["flops"] for d in big])["exponent"]
            d_exps[m] = fit
    out["dk_exponents"] = d_exps
    # ratios at each size: softmax-dpa / csq-linear etc.
    ratios = []
    for dk in dks:
        for n in ns:
            row = {"dk": dk, "n": n}
            lin = (_grid_lookup(grid, "csq-linear", n, dk) or {}).get("seconds_min")
            linc = (_grid_lookup(grid, "csq-linear-causal", n, dk) or {}).get("seconds_min")
            for m in METHODS:
                t = (_grid_lookup(grid, m, n, dk) or {}).get("seconds_min")
                row[m] = t
            row["dpa_over_linear"] = row["softmax-dpa"] / lin if row["softmax-dpa"] and lin else None
            row["jnp_over_linear"] = row["softmax-jnp"] / lin if row["softmax-jnp"] and lin else None
            row["quadratic_over_linear"] = row["csq-quadratic"] / lin if row["csq-quadratic"] and lin else None
            row["causal_over_noncausal"] = linc / lin if linc and lin else None
            rec = _grid_lookup(grid, "csq-linear", n, dk)
            row["linear_flop_rate"] = rec["flops"] / lin if lin else None
            row["linear_fraction_of_matmul"] = row["linear_flop_rate"] / mm_rate if lin else None
            ratios.append(row)
    out["ratios"] = ratios
    # crossovers
    xos = []
    pts = result["crossover_points"]
    for dk in sorted({p["dk"] for p in pts}):
        for causal in sorted({p["causal"] for p in pts if p["dk"] == dk}):
            sel = [p for p in pts if p["dk"] == dk and p["causal"] == causal]
            meas = measured_crossover([p["n"] for p in sel], [p["quadratic"] for p in sel], [p["linear"] for p in sel])
            flop = fl.crossover_value("csq", dk, dk, causal, fl.PURE_FLOPS)
            model = fl.crossover_value("csq", dk, dk, causal, fl.THIS_MACHINE)
            rec = {"dk": dk, "causal": causal, "measured": meas, "flop_count_n_star": flop,
                   "model_n_star": model, "model_balance": fl.THIS_MACHINE.source}
            if meas["n_star"]:
                rec["model_over_measured"] = model / meas["n_star"]
                rec["flop_over_measured"] = flop / meas["n_star"]
            xos.append(rec)
    out["crossovers"] = xos
    # the fitted machine balance (refit on this run's data)
    try:
        fit = fl.fit_balance(grid, pts)
        bal = fl.MachineBalance(rho_q=fit["rho_q"], rho_l=fit["rho_l"], omega=fit["omega"], kappa=fit["kappa"],
                                rho_mem=fit["rho_mem"], source="refit on this run")
        fit["refit_crossovers"] = [
            {"dk": x["dk"], "causal": x["causal"], "n_star": fl.crossover_value("csq", x["dk"], x["dk"], x["causal"], bal),
             "measured": x["measured"].get("n_star")} for x in xos]
    except Exception as err:  # keep the run's data even if a fit fails
        fit = {"error": f"{type(err).__name__}: {err}"}
    out["balance_fit"] = fit
    # memory: XLA temporaries at the largest n each method was compiled for
    from theorem.symbolic.flops import feature_dim

    mem = []
    for dk in dks:
        peak, at = {}, {}
        for m in METHODS:
            recs = [r for r in grid if r["method"] == m and r["dk"] == dk and r.get("peak_rss_bytes") is not None]
            if recs:
                r = max(recs, key=lambda r: r["n"])
                peak[m], at[m] = r["peak_rss_bytes"], r["n"]
        mem.append({"dk": dk, "peak_rss_bytes": peak, "n": at, "n_by_n_bytes": {m: 4 * at[m] ** 2 for m in at},
                    "state_bytes": 4 * int(feature_dim("csq", dk)) * (dk + 1)})
    out["memory"] = mem
    # targets
    out["targets"] = targets(out, result)
    return out


def targets(analysis: dict, result: dict) -> list[dict]:
    """The issue's performance targets, each with its measured figure and whether it is met."""
    rows = []
    ratios = analysis["ratios"]

    def ratio_at(n, dk, key):
        for r in ratios:
            if r["n"] == n and r["dk"] == dk:
                return r.get(key)
        return None

    n_big = 16384
    v = ratio_at(n_big, 16, "dpa_over_linear")
    rows.append({"target": "n=16384, d_k=16, non-causal: CSQ linear ≥ 100× faster than jax.nn.dot_product_attention",
                 "measured": v, "threshold": 100, "met": None if v is None else v >= 100})
    for x in analysis["crossovers"]:
        r = x.get("model_over_measured")
        rows.append({"target": f"cost model predicts the crossover within 2× (d_k={x['dk']}{', causal' if x['causal'] else ''})",
                     "measured": r, "threshold": [0.5, 2.0],
                     "met": None if r is None else 0.5 <= r <= 2.0,
                     "detail": {"measured_n_star": x["measured"].get("n_star"), "model_n_star": x["model_n_star"],
                                "flop_count_n_star": x["flop_count_n_star"], "status": x["measured"]["status"]}})
    for dk in result["dks"]:
        v = ratio_at(n_big, dk, "causal_over_noncausal")
        rows.append({"target": f"causal chunked within 3× of non-causal at n=16384 (d_k={dk})",
                     "measured": v, "threshold": 3, "met": None if v is None else v <= 3})
    rc = result.get("flop_rate_check")
    v = rc["fraction"] if rc else ratio_at(32768, 64, "linear_fraction_of_matmul")
    rows.append({"target": "n=32768, d_k=64: linear form ≥ 40% of a large float32 matmul's FLOP rate",
                 "measured": v, "threshold": 0.4, "met": None if v is None else v >= 0.4,
                 "detail": rc and {k: rc[k] for k in ("linear_flops_per_second", "matmul_flops_per_second")}})
    return rows


# ---------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dks = result["dks"]
    fig, axes = plt.subplots(1, len(dks) + 1, figsize=(4.2 * (len(dks) + 1), 3.8))
    for ax, dk in zip(axes, dks):
        for m, meta in METHODS.items():
            pts = [(r["n"], r["seconds_min"]) for r in result["grid"] if r["method"] == m and r["dk"] == dk and r["seconds_min"]]
            if pts:
                ax.loglog(*zip(*pts), "o-" if "linear" in m else "s--", label=meta.label, ms=3)
        ax.set_title(f"d_k = d_v = {dk}")
        ax.set_xlabel("n")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds (min over calls)")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    for x in result["crossovers"]:
        if x["measured"].get("n_star"):
            mk = "^" if x["causal"] else "o"
            ax.loglog(x["dk"], x["measured"]["n_star"], "k" + mk, label=f"measured{' causal' if x['causal'] else ''}")
            ax.loglog(x["dk"], x["model_n_star"], "C1" + mk, mfc="none", label=f"cost model{' causal' if x['causal'] else ''}")
            ax.loglog(x["dk"], x["flop_count_n_star"], "C2" + mk, mfc="none", label=f"FLOP count{' causal' if x['causal'] else ''}")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7)
    ax.set_title("crossover n* (CSQ linear vs quadratic)")
    ax.set_xlabel("d_k")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(result: dict) -> str:
    lines = []
    mm = result["matmul"]
    lines.append(f"bench attention ({result['profile']}, float32, {result['machine']['backend']}, "
                 f"{result['machine']['cpus']} CPUs, load {result['machine']['load_average']}) in {result['seconds']:.0f} s")
    lines.append(f"  matmul {mm['before']['size']}² float32: {mm['flops_per_second'] / 1e9:.1f} GFLOP/s (best of before/after)")
    lines.append("  time per call (ms), and ratios measured in this run:")
    hdr = f"  {'d_k':>4} {'n':>6} " + " ".join(f"{m:>14}" for m in METHODS) + f" {'dpa/lin':>8} {'causal/nc':>9} {'lin %mm':>7}"
    lines.append(hdr)
    for r in result["ratios"]:
        cells = " ".join(f"{r[m] * 1e3:14.3f}" if r[m] else f"{'-':>14}" for m in METHODS)
        f = lambda x, fmt: (format(x, fmt) if x is not None else "-")  # noqa: E731
        lines.append(f"  {r['dk']:>4} {r['n']:>6} {cells} {f(r['dpa_over_linear'], '8.1f'):>8} "
                     f"{f(r['causal_over_noncausal'], '9.2f'):>9} {f(r['linear_fraction_of_matmul'] and 100 * r['linear_fraction_of_matmul'], '7.1f'):>7}")
    lines.append("  exponent of n (fit of log t on log n, n ≥ 1024; model: quadratic 2, linear 1):")
    for m, per in result["n_exponents"].items():
        lines.append("    " + f"{m:>22}: " + ", ".join(f"d_k={dk}: {v['exponent']:.2f}" for dk, v in per.items()))
    lines.append("  exponent of d_k at the largest common n (measured vs the FLOP model's):")
    for m, v in result["dk_exponents"].items():
        extra = ""
        if "upper" in v:
            extra = f"; d_k ≥ 16: {v['upper']['exponent']:.2f} (model {v['upper']['model_exponent']:.2f})"
        lines.append(f"    {m:>22}: {v['exponent']:.2f} (model {v['model_exponent']:.2f}) at n={v['n']}{extra}")
    lines.append("  crossover n* of CSQ linear vs quadratic: measured | cost model (auto) | pure FLOP count")
    for x in result["crossovers"]:
        m = x["measured"]
        ms = f"{m['n_star']:.0f}" if m.get("n_star") else f"{m['status']} {m.get('bound', '')}"
        ratio = f"  (model/measured {x['model_over_measured']:.2f})" if x.get("model_over_measured") else ""
        lines.append(f"    d_k={x['dk']:>3}{' causal' if x['causal'] else '       '}: {ms:>10} | {x['model_n_star']:9.0f} | "
                     f"{x['flop_count_n_star']:9.0f}{ratio}")
    bf = result.get("balance_fit", {})
    if "rho_q" in bf:
        keys = ("rho_q", "rho_l", "rho_mem", "omega", "kappa")
        code = result["balance_in_code"]
        lines.append("  machine balance refit on this run: " + ", ".join(f"{k}={bf[k]:.3g}" for k in keys)
                     + f" (relative residual rms {bf['relative_residual_rms']:.2f}); in code: "
                     + ", ".join(f"{k}={code[k]:.3g}" for k in keys))
        if "refit_crossovers" in bf:
            lines.append("  crossover with the refit balance: " + ", ".join(
                f"d_k={x['dk']}{' causal' if x['causal'] else ''}: {x['n_star']:.0f}" for x in bf["refit_crossovers"]))
    mem = result.get("memory", [])
    if mem:
        lines.append("  peak memory of one call above the memory before it (RSS high-water mark), at the largest n run:")
        for m in mem:
            lines.append(f"    d_k={m['dk']:>3}: " + ", ".join(f"{k} {v / 2**20:.1f} MiB (n={m['n'][k]}; n×n float32 "
                                                         f"{m['n_by_n_bytes'][k] / 2**20:.0f} MiB)"
                                                         for k, v in m["peak_rss_bytes"].items())
                         + f"; state of the linear form {m['state_bytes'] / 2**10:.1f} KiB")
    lines.append("  targets:")
    for t in result["targets"]:
        v = t["measured"]
        vs = "-" if v is None else (f"{v:.3g}")
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"    [{met:>12}] {t['target']}: {vs}")
    return "\n".join(lines)


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
    g.add_argument("--quick", action="store_true", help="small grid, under a minute")
    g.add_argument("--full", action="store_true", help="the full grid (the default)")
    ap.add_argument("--n", type=_csv_ints("--n"), help="comma-separated sequence lengths (overrides the profile)")
    ap.add_argument("--dk", type=_csv_ints("--dk"), help="comma-separated head dimensions (overrides the profile)")
    ap.add_argument("--max-gib", type=float, default=4.0, help="skip programs needing more temporaries (GiB; default 4)")
    ap.add_argument("--no-crossover", action="store_true", help="skip the crossover sweep")
    ap.add_argument("--out", default="out", help="folder for bench_attention_<profile>.json and .png (default out/)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON instead of the summary")
    ap.add_argument("--no-plot", action="store_true", help="do not write the plot")
    try:
        args = ap.parse_args(argv)
    except SystemExit as err:  # --help
        return int(err.code or 0)
    if not (args.max_gib > 0):
        raise ValueError(f"--max-gib must be > 0, got {args.max_gib}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    profile = "quick" if args.quick else "full"
    result = run(profile, ns=args.n, dks=args.dk, max_gib=args.max_gib, crossover=not args.no_crossover)
    from theorem.report import _jsonable

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench_attention_{profile}.json"
    path.write_text(json.dumps(_jsonable(result), indent=1))
    if not args.no_plot:
        plot(result, out / f"bench_attention_{profile}.png")
    if args.json:
        print(json.dumps(_jsonable(result)))
    else:
        print(summary(result))
        print(f"wrote {path}" + ("" if args.no_plot else f" and {path.with_suffix('.png')}"))
    return 0
