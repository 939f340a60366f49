r"""The battery of named checks a kernel is put through (issue 14 §3).

A user kernel supplies its weight function (:meth:`~theorem.kernels.Kernel.unnormalized` for a score
kernel, :meth:`~theorem.kernels.Kernel.unnormalized_qk` otherwise), in ``jax.numpy`` so it can be
differentiated, and a feature map (:meth:`~theorem.kernels.Kernel.features`,
:meth:`~theorem.kernels.Kernel.feature_dim`) if it has one.  Each check uses only that; what needs more
(a null direction for the closed form, a feature map, a linear form) is reported ``not-available``.

===========================  ==============================================================================
check                        what it measures (``holds``)
===========================  ==============================================================================
``pullback_dimension``       dim of the pulled-back weights map at Gaussian tokens (n = 12, d = 4), beside
                             d² and the parametrization's bound (the scores map's dimension for a score
                             kernel, whose weights factor through S; the parameter count 2·d·d_k otherwise)
                             and the closed form where :func:`~theorem.numeric.predicted.predict_rank` has
                             one (holds: dimension = d²)
``monotonicity``             (a) dot-product monotonicity: a counterexample search (holds: none found)
``euclidean_matching``       (b) Euclidean matching: the same search (holds: none found)
``contrast``                 half-mass score gap Δ*(n) at distractor score 1, n = 10, 100, 1000, beside
                             softmax's log(n − 1) (holds: Δ*/log(n − 1) does not grow by more than 1.5×)
``eps_rank_growth``          ε-rank (ε = 1e-6) of A at n = 16, 64, 256, d_k = 4 (holds: it grows in n);
                             inconsistent when it exceeds the supplied feature width
``linear_time``              feature rank: the supplied feature width D (holds: a finite D exists)
``linear_equals_quadratic``  φ_Q φ_Kᵀ against the weight function, and the linear-time attention against
                             the quadratic one when the kernel has a linear form (holds: equal to 1e-10)
===========================  ==============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from theorem.attention import attention
from theorem.kernels import Kernel, UnknownKernelError, get_kernel
from theorem.numeric.eps_rank import eps_rank
from theorem.numeric.kernel_checks.result import KernelCheck
from theorem.numeric.matching import measure_contrast_gap, search_counterexample
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.util.precision import x64

__all__ = ["CHECKS", "check_kernel", "run_check", "PULLBACK_SHAPE", "CONTRAST_NS", "EPS_NS", "EPS", "EXACT_TOL"]

PULLBACK_SHAPE = (12, 4)  # n > d, Gaussian rows: rank X = d and 1 ∉ col X (the generic regime)
CONTRAST_NS = (10, 100, 1000)
CONTRAST_LEVEL = 1.0
EPS_NS = (16, 64, 256)
EPS_DK = 4
EPS = 1e-6
EXACT_TOL = 1e-10
SEARCH_EXAMPLES = 200
UNAVAILABLE = (NotImplementedError, UnknownKernelError)


def _tokens(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _measured(problem: PullbackProblem) -> tuple[int, str, float]:
    rank = measure_rank(problem).rank
    return rank.rank, rank.status, float(rank.gap)


def pullback_dimension(kernel: Kernel) -> KernelCheck:
    x = _tokens(*PULLBACK_SHAPE)
    n, d = x.shape
    dk = None if kernel.is_score_kernel else d
    weights = PullbackProblem(x, kernel, "weights", dk=dk)
    measured, status, gap = _measured(weights)
    if kernel.is_score_kernel:
        bound, bound_name = _measured(PullbackProblem(x, kernel, "scores"))[0], "dim of the scores map (r²)"
    else:
        bound, bound_name = weights.ambient_dim, "parameter count 2·d·d_k"
    if not kernel.is_score_kernel:
        predicted, formula = None, "not available (not a score kernel: no closed form)"
    else:
        try:
            pred = predict_rank(weights)
            predicted, formula = pred.rank, pred.formula
        except UNAVAILABLE as exc:
            predicted, formula = None, f"not available ({exc})"
    numbers = {"n": n, "d": d, "dk": dk, "measured": measured, "rank_status": status, "gap": gap,
               "d_squared": d * d, "bound": bound, "bound_name": bound_name, "predicted": predicted,
               "formula": formula}
    detail = (f"dim {measured} (rank {status}) vs d² = {d * d}, bound {bound} ({bound_name}), closed form "
              + (f"{predicted} ({formula})" if predicted is not None else formula))
    if status != "ok":
        return KernelCheck("pullback_dimension", "ok", None, numbers, detail + ": no rank is claimed")
    bad = measured > bound or (predicted is not None and predicted != measured)
    return KernelCheck("pullback_dimension", "inconsistent" if bad else "ok", measured == d * d, numbers, detail)


def _search(kernel: Kernel, reading: str, name: str, what: str) -> KernelCheck:
    res = search_counterexample(kernel, reading, max_examples=SEARCH_EXAMPLES)
    cex = res.counterexample
    detail = (f"{what}: no violation in {res.evaluated} cases" if cex is None else
              f"{what} violated at q = {cex['q']}, keys = {cex['keys']} (weights "
              f"{np.round(cex['weights'], 4).tolist()})")
    return KernelCheck(name, "ok", cex is None, {"cases": res.evaluated, "counterexample": cex}, detail)


def monotonicity(kernel: Kernel) -> KernelCheck:
    return _search(kernel, "a", "monotonicity", "dot-product monotonicity")


def euclidean_matching(kernel: Kernel) -> KernelCheck:
    return _search(kernel, "b", "euclidean_matching", "Euclidean matching")


def contrast(kernel: Kernel) -> KernelCheck:
    scalar = "" if kernel.is_score_kernel else " (scalar model d_k = 1, q = 1: not a score kernel)"
    rows = []
    for n in CONTRAST_NS:
        try:
            gap = measure_contrast_gap(kernel, n, CONTRAST_LEVEL)["gap"]
        except (ValueError, ArithmeticError) as exc:
            return KernelCheck("contrast", "not-available", None, {"n": n}, f"no half-mass gap{scalar}: {exc}")
        rows.append({"n": n, "gap": gap, "softmax": math.log(n - 1), "ratio": gap / math.log(n - 1)})
    grows = rows[-1]["ratio"] > 1.5 * max(1.0, rows[0]["ratio"])
    detail = "Δ* = " + ", ".join(f"{r['gap']:.4g} (n={r['n']}; log(n−1) = {r['softmax']:.4g})" for r in rows) + scalar
    return KernelCheck("contrast", "ok", not grows, {"level": CONTRAST_LEVEL, "rows": rows}, detail)


def _qk(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, EPS_DK)), rng.standard_normal((n, EPS_DK))


def eps_rank_growth(kernel: Kernel) -> KernelCheck:
    ranks = {}
    with x64():
        for n in EPS_NS:
            q, k = _qk(n)
            a = np.asarray(kernel.weights(jnp.asarray(q), jnp.asarray(k)))
            if not np.all(np.isfinite(a)):
                return KernelCheck("eps_rank_growth", "error", None, {"n": n}, f"weights not finite at n = {n}")
            ranks[n] = eps_rank(a, EPS).rank
    width = kernel.feature_dim(EPS_DK)
    numbers = {"eps": EPS, "dk": EPS_DK, "ranks": ranks, "feature_dim": width}
    detail = f"ε-rank (ε = {EPS:g}) " + ", ".join(f"{r} (n={n})" for n, r in ranks.items())
    bad = width is not None and max(ranks.values()) > width
    if width is not None:
        detail += f"; feature width D = {width}"
    grows = ranks[EPS_NS[-1]] > ranks[EPS_NS[0]]
    return KernelCheck("eps_rank_growth", "inconsistent" if bad else "ok", grows, numbers, detail)


def linear_time(kernel: Kernel) -> KernelCheck:
    width = kernel.feature_dim(EPS_DK)
    q, k = _qk(EPS_NS[0])
    with x64():
        feats = kernel.features(jnp.asarray(q), jnp.asarray(k))
    if width is None or feats is None:
        return KernelCheck("linear_time", "not-available", None, {"feature_dim": width},
                           "no feature map supplied (features/feature_dim give None): linear-time feasibility "
                           "unknown; eps_rank_growth bounds any ε-accurate feature width from below")
    widths = (int(feats[0].shape[-1]), int(feats[1].shape[-1]))
    numbers = {"feature_dim": width, "feature_widths": widths, "dk": EPS_DK,
               "state_per_head": f"D × d_v = {width} × d_v", "cost": f"O(n·D·d_v) = O(n·{width}·d_v)"}
    bad = widths != (width, width)
    return KernelCheck("linear_time", "inconsistent" if bad else "ok", not bad, numbers,
                       f"feature width D = {width} at d_k = {EPS_DK} (φ_Q, φ_K widths {widths}): "
                       f"O(n·D·d_v) time, D·d_v state")


def linear_equals_quadratic(kernel: Kernel) -> KernelCheck:
    q, k = _qk(32, seed=2)
    v = np.random.default_rng(3).standard_normal((32, 3))
    with x64():
        qj, kj, vj = jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)
        feats = kernel.features(qj, kj)
        if feats is None:
            return KernelCheck("linear_equals_quadratic", "not-available", None, {},
                               "no feature map supplied (features gives None)")
        t = np.asarray(kernel.unnormalized_qk(qj, kj))
        lift = np.asarray(feats[0]) @ np.asarray(feats[1]).T
        lift_err = float(np.max(np.abs(lift - t)) / np.max(np.abs(t)))
        numbers: dict = {"lift_rel_error": lift_err, "tolerance": EXACT_TOL}
        if kernel.linear_form(qj, kj) is not None:
            for causal in (False, True):
                quad = np.asarray(attention(qj, kj, vj, kernel=kernel, causal=causal, algorithm="quadratic"))
                lin = np.asarray(attention(qj, kj, vj, kernel=kernel, causal=causal, algorithm="linear"))
                numbers[f"attention_rel_error_causal={causal}"] = float(np.max(np.abs(lin - quad)) / np.max(np.abs(quad)))
    errs = [v for key, v in numbers.items() if key.endswith("error") or "rel_error" in key]
    ok = max(errs) <= EXACT_TOL
    detail = f"max |φ_Qφ_Kᵀ − T|/max T = {lift_err:.1e}" + (
        "" if len(errs) == 1 else f"; linear vs quadratic attention {max(errs[1:]):.1e} (causal and not)"
    ) + ("" if len(errs) > 1 else "; no linear form (theorem.attention's linear algorithm unavailable)")
    return KernelCheck("linear_equals_quadratic", "ok" if ok else "inconsistent", ok, numbers, detail)


CHECKS: dict[str, Callable[[Kernel], KernelCheck]] = {
    "pullback_dimension": pullback_dimension,
    "monotonicity": monotonicity,
    "euclidean_matching": euclidean_matching,
    "contrast": contrast,
    "eps_rank_growth": eps_rank_growth,
    "linear_time": linear_time,
    "linear_equals_quadratic": linear_equals_quadratic,
}


def run_check(kernel: Kernel | str, name: str) -> KernelCheck:
    """One named check; a kernel that lacks what it needs gives ``not-available``, one whose code raises
    gives ``error`` with the message — nothing is raised from inside the check."""
    if name not in CHECKS:
        raise ValueError(f"check: one of {', '.join(CHECKS)}, got {name!r}")
    kern = get_kernel(kernel) if isinstance(kernel, str) else kernel
    if not isinstance(kern, Kernel):
        raise TypeError(f"kernel: a theorem.kernels.Kernel or a kernel name, got {type(kernel).__name__}")
    try:
        return CHECKS[name](kern)
    except UNAVAILABLE as exc:
        return KernelCheck(name, "not-available", None, {}, f"the kernel does not supply it: {exc}")
    except Exception as exc:  # noqa: BLE001 — a user's kernel code: report, never raise from inside
        return KernelCheck(name, "error", None, {"exception": type(exc).__name__}, f"{type(exc).__name__}: {exc}")


def check_kernel(kernel: Kernel | str, checks: tuple[str, ...] | None = None) -> dict[str, KernelCheck]:
    """Run the battery (or the named ``checks``) on ``kernel``: ``{name: KernelCheck}`` in battery order."""
    names = tuple(CHECKS) if checks is None else tuple(checks)
    for name in names:
        if name not in CHECKS:
            raise ValueError(f"checks: unknown check {name!r}; choose from {', '.join(CHECKS)}")
    return {name: run_check(kernel, name) for name in names}
