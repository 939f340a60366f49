"""The bench's sweep: every method over the grid of n and d_k, the crossover grid, the matmul yardstick
before and after, and the linear form's FLOP rate beside a matmul's."""

from __future__ import annotations

import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from theorem.bench.analysis import analyse
from theorem.bench.profiles import PROFILES
from theorem.numeric.attention_timing import (METHODS, SETTLE_SECONDS, compile_method, cost_counts, matmul_rate,
                                              measure, state_emit_fraction)
from theorem.numeric.linear_jaxpr import count_flops
from theorem.symbolic import flops as fl
from theorem.util.machine import MachineBalance, this_machine

__all__ = ["run", "flop_rate_check"]


def _grad_program(name: str, args):
    """``jax.grad`` of a fixed linear functional of method ``name``'s output, w.r.t. q, k and v (AOT-compiled)."""
    f = METHODS[name].fn()
    w = jnp.asarray(np.random.default_rng(3).standard_normal(args[2].shape), args[2].dtype)

    def loss(q, k, v):
        return jnp.sum(w * f(q, k, v))
    grad = jax.grad(loss, argnums=(0, 1, 2))
    return jax.jit(grad).lower(*args).compile(), grad


def flop_rate_check(n: int, dk: int, matmul_n: int, rounds: int = 5, gradient: bool = True) -> dict:
    """The linear form's FLOP rate (non-causal and causal) beside a square float32 matmul's, the programs
    called alternately so that the machine's load hits them alike, with a pause (untimed) after each
    multi-threaded matmul.  Two counts: the closed form's total (``fraction``, as before) and the state
    plus emit products on the symmetric features, 4·n·D·(d_v+1) (``state_emit_fraction``, issue 15).

    Each call is timed on the wall clock and in the process's CPU seconds (all threads): on a machine shared
    with other jobs a program's CPU seconds move far less than its wall seconds, so the fractions are given
    both ways (``*_cpu``).  ``gradient``: ``jax.grad`` through each linear form is timed in the same rounds;
    its time over the forward's is set beside the ratio of the traced programs' operation counts
    (:func:`~theorem.numeric.linear_jaxpr.count_flops`, products and other operations)."""
    rng = np.random.default_rng(2)
    a = jnp.asarray(rng.standard_normal((matmul_n, matmul_n)), jnp.float32)
    mm = jax.jit(jnp.matmul).lower(a, a).compile()
    progs = {"matmul": (mm, (a, a))}
    mems, counted = {}, {}
    for name in ("csq-linear", "csq-linear-causal"):
        compiled, mems[name], args = compile_method(name, n, dk, dk)
        progs[name] = (compiled, args)
        if gradient:
            gcompiled, grad = _grad_program(name, args)
            progs[name + ":grad"] = (gcompiled, args)
            fwd, bwd = count_flops(METHODS[name].fn(), *args), count_flops(grad, *args)
            counted[name] = {"matmul": bwd.matmul / fwd.matmul, "total": bwd.total / fwd.total}
    times = {k: [] for k in progs}
    cpu = {k: [] for k in progs}
    for f, xs in progs.values():
        jax.block_until_ready(f(*xs))
    time.sleep(SETTLE_SECONDS)
    for _ in range(rounds):
        for name, (f, xs) in progs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            jax.block_until_ready(f(*xs))
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if name == "matmul":
                time.sleep(SETTLE_SECONDS)
    mm_rate = 2 * matmul_n**3 / min(times["matmul"])
    mm_rate_cpu = 2 * matmul_n**3 / max(min(cpu["matmul"]), 1e-9)
    lin_flops = cost_counts("csq-linear", n, dk, dk)["flops"]
    lin_rate = lin_flops / min(times["csq-linear"])
    out = {"n": n, "dk": dk, "matmul_n": matmul_n, "linear_flops": lin_flops, "seconds": times, "cpu_seconds": cpu,
           "linear_flops_per_second": lin_rate, "matmul_flops_per_second": mm_rate, "fraction": lin_rate / mm_rate,
           "matmul_flops_per_cpu_second": mm_rate_cpu,
           "linear_temp_bytes": mems["csq-linear"].temp_size_in_bytes,
           "state_emit_flops": float(fl.state_emit_flops("csq", dk, dk, n))}
    for name, key in (("csq-linear", "state_emit_fraction"), ("csq-linear-causal", "state_emit_fraction_causal")):
        out[key] = state_emit_fraction(n, dk, dk, min(times[name]), mm_rate)
        out[key + "_cpu"] = state_emit_fraction(n, dk, dk, min(cpu[name]), mm_rate_cpu)
        if gradient:
            out[key.replace("state_emit_fraction", "grad_ratio")] = {
                "wall": min(times[name + ":grad"]) / min(times[name]),
                "cpu": min(cpu[name + ":grad"]) / min(cpu[name]),
                "counted": counted[name]}
    return out


def run(profile: str = "full", *, ns=None, dks=None, max_gib: float = 4.0, crossover: bool = True,
        progress: bool = True, balance: MachineBalance | None = None) -> dict:
    """Run the benchmark; returns the JSON-ready result (:func:`theorem.bench.report_text.summary` prints it).

    ``balance``: the cost model's balance the measured crossovers are set beside (this machine's
    calibrated one when not given).
    """
    balance = balance or this_machine()
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
                rec.update(cost_counts(t.method, n, dk, dk))
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
                                     for k, v in cost_counts(names[0 if m == "quadratic" else 1], n, dk, dk).items()
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
        "balance_in_code": dict(vars(balance)),
    }
    result.update(analyse(result, balance))
    result["seconds"] = time.time() - started
    return result
