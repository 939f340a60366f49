r"""(d) Contrast, derived: the smallest gap :math:`\Delta^*` giving the best key half of the mass
against :math:`n-1` equal distractors at level :math:`L`, solved per kernel (claims T4.d, T6.c).

The half-mass condition is :math:`T(L+\Delta) = (n-1)\,T(L)` for the kernel's unnormalized
weight :math:`T`; the measurement beside it is :func:`theorem.numeric.matching.measure_contrast_gap`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from theorem.symbolic.matching.symbols import C, DELTA, L, N

__all__ = ["CONTRAST_KERNELS", "ContrastGap", "contrast_gap", "contrast_gap_value", "PHI_ELU"]

CONTRAST_KERNELS = ("softmax", "rbf", "poly2", "csq", "csq-uncentered", "linear")


@dataclass(frozen=True)
class ContrastGap:
    r"""The smallest gap :math:`\Delta^*(n, L, c)` giving the best key mass :math:`\ge 1/2`.

    ``expr`` is a SymPy expression in ``n``, ``L`` (distractor level) and ``c`` (CSQ shift);
    ``equation`` what was solved; ``asymptotic`` the leading behaviour as :math:`n\to\infty`;
    ``holds``: the expression solves the equation and is the smallest nonnegative root at
    every sample point checked.
    """

    kernel: str
    expr: sp.Expr
    equation: str
    asymptotic: str
    holds: bool
    detail: str

    def latex(self) -> str:
        return sp.latex(self.expr)


def _weights_equation(kernel: str, level: sp.Expr) -> sp.Expr:
    """``T(best) − (n−1)·T(distractor)``, whose zero is half the mass (``n − 1`` equal distractors)."""
    best, other = level + DELTA, level
    if kernel in ("softmax", "rbf"):
        return sp.exp(best) - (N - 1) * sp.exp(other)
    if kernel == "poly2":
        return best**2 - (N - 1) * other**2
    if kernel == "csq-uncentered":
        return (best + C) ** 2 - (N - 1) * (other + C) ** 2
    if kernel == "csq":
        mean = (best + (N - 1) * other) / N
        return (best - mean + C) ** 2 - (N - 1) * (other - mean + C) ** 2
    raise ValueError(f"kernel: no single equation for {kernel!r}")


_SAMPLES = [
    {N: n, L: level, C: c}
    for n in (3, 4, 7, 50, 1001)
    for level in (sp.Rational(-7, 2), sp.Rational(-1, 3), sp.Rational(1, 2), 3)
    for c in (sp.Rational(1, 4), 3)
]


def _mass_below_half_before(kernel: str, expr: sp.Expr, point: dict) -> bool:
    """The weight equation is < 0 (mass < 1/2) at 16 gaps in [0, Δ*) and the root is ≥ 0."""
    value = float(expr.subs(point))
    if value < -1e-12:
        return False
    eq = _weights_equation(kernel, L).subs({N: point[N], L: point[L], C: point[C]})
    return all(float(eq.subs(DELTA, value * j / 16)) < 0 for j in range(16))


def _linear_gap() -> sp.Expr:
    r"""elu+1 in one dimension, query 1: weight ∝ φ(k), φ(x) = eˣ (x < 0), 1 + x (x ≥ 0).

    Half the mass needs :math:`\varphi(L+\Delta) = y := (n-1)\varphi(L)`; the branch of
    :math:`\varphi^{-1}` is the exponential one when :math:`y \le 1`, the linear one otherwise.
    """
    y_neg, y_pos = (N - 1) * sp.exp(L), (N - 1) * (1 + L)  # y for L < 0, L ≥ 0
    exp_branch = sp.solve(sp.Eq(sp.exp(L + DELTA), y_neg), DELTA)
    lin_neg = sp.solve(sp.Eq(1 + L + DELTA, y_neg), DELTA)
    lin_pos = sp.solve(sp.Eq(1 + L + DELTA, y_pos), DELTA)
    if not (len(exp_branch) == len(lin_neg) == len(lin_pos) == 1):
        raise ArithmeticError(f"linear: expected one root per branch, got {exp_branch}, {lin_neg}, {lin_pos}")
    return sp.Piecewise(
        (sp.simplify(exp_branch[0]), (L < 0) & (y_neg <= 1)),
        (lin_neg[0], L < 0),
        (sp.factor(lin_pos[0]), True),
    )


_X = sp.Symbol("x", real=True)
#: the elu+1 feature map in one dimension, φ(x) = eˣ (x < 0), 1 + x (x ≥ 0): the symbolic twin of
#: :meth:`theorem.kernels.LinearElu.feature_map`, evaluated below in float64 through SymPy
PHI_ELU = sp.Piecewise((sp.exp(_X), _X < 0), (1 + _X, True))


def _phi_elu(x: float) -> float:
    return float(PHI_ELU.subs(_X, sp.Float(x, 30)))


@lru_cache(maxsize=None)
def contrast_gap(kernel: str) -> ContrastGap:
    r"""Derive :math:`\Delta^*` for ``kernel`` (n keys: the best one and n − 1 equal distractors).

    The half-mass condition is :math:`T(L+\Delta) = (n-1)\,T(L)` (with CSQ's centering done
    on the symbolic score vector).  SymPy solves it; the root kept is the smallest
    nonnegative one, checked at 40 sample points :math:`(n, L, c)` together with the mass
    staying below 1/2 on :math:`[0, \Delta^*)`.  Defined for :math:`n \ge 3` (at :math:`n = 2`
    equal keys already share the mass evenly).
    """
    if kernel not in CONTRAST_KERNELS:
        raise ValueError(f"kernel: choose one of {', '.join(CONTRAST_KERNELS)}, got {kernel!r}")
    if kernel == "linear":
        expr = _linear_gap()
        ok, bad = True, []
        for p in _SAMPLES:
            val = float(expr.subs(p))
            lhs, rhs = _phi_elu(float(p[L]) + val), (float(p[N]) - 1) * _phi_elu(float(p[L]))
            good = val >= 0 and abs(lhs - rhs) <= 1e-9 * rhs
            ok &= good
            if not good:
                bad.append(p)
        return ContrastGap(
            kernel, expr, "φ(L + Δ) = (n − 1)·φ(L), φ = elu + 1 (one dimension, q = 1)",
            "log(n − 1) while (n − 1)e^L ≤ 1; (n − 2)(1 + L) ~ n for L ≥ 0", bool(ok),
            f"solved branch by branch; checked at {len(_SAMPLES)} points" + (f"; failed at {bad}" if bad else ""),
        )
    eq = _weights_equation(kernel, L)
    roots = sp.solve(eq, DELTA)
    m = sp.sqrt(N - 1)
    # closed forms in a readable shape; each must equal one of SymPy's roots (or their max)
    readable = {
        "softmax": sp.log(N - 1),
        "rbf": sp.log(N - 1),
        "poly2": m * sp.Abs(L) - L,
        "csq-uncentered": m * sp.Abs(L + C) - (L + C),
        "csq": N * C * (m - 1) / (N - 1 + m),
    }[kernel]
    # the smallest nonnegative root: one root is ≥ 0, the other ≤ 0 (their product is ≤ 0)
    smallest = roots[0] if len(roots) == 1 else sp.Max(*roots)
    same_as_root = all(
        abs(float(readable.subs(p)) - float(smallest.subs(p))) <= 1e-9 * max(1.0, abs(float(smallest.subs(p))))
        for p in _SAMPLES
    )
    solves = all(
        abs(float(eq.subs(DELTA, readable).subs(p))) <= 1e-9 * max(1.0, abs(float(eq.subs(DELTA, 0).subs(p))))
        for p in _SAMPLES
    )
    first = all(_mass_below_half_before(kernel, readable, p) for p in _SAMPLES)
    ok = same_as_root and solves and first
    if kernel in ("softmax", "rbf"):
        asymptotic = f"Δ*/log n → {sp.limit(readable / sp.log(N), N, sp.oo)}"
    elif kernel == "csq":
        asymptotic = f"Δ*/√n → {sp.limit(readable / sp.sqrt(N), N, sp.oo)} (c√n)"
    else:
        u = L if kernel == "poly2" else L + C
        asymptotic = f"Δ*/√n → |{u}|"
    note = (
        f"SymPy roots {roots}; readable form = smallest nonnegative root: {same_as_root}; "
        f"solves the equation: {solves}; mass < 1/2 on [0, Δ*): {first} (at {len(_SAMPLES)} points)"
    )
    return ContrastGap(kernel, readable, f"{sp.sstr(eq)} = 0", asymptotic, bool(ok), note)


def contrast_gap_value(kernel: str, n: int, level: float, shift: float = 1.0) -> float:
    """:func:`contrast_gap` evaluated at ``n``, ``level`` (and CSQ shift ``c``)."""
    if n < 3:
        raise ValueError(f"n: the contrast gap is defined for n ≥ 3, got {n}")
    expr = contrast_gap(kernel).expr
    return float(expr.subs({N: n, L: sp.Float(level, 30), C: sp.Float(shift, 30)}).evalf(30))


@dataclass(frozen=True)
class ContrastCrossover:
    r"""Where CSQ's gap :math:`\Delta^*(n, c)` meets softmax's :math:`\log(n-1)` at a fixed shift ``c``.

    ``n_star``: the real root :math:`n^* \ge 3` of :math:`\Delta^*_{CSQ}(n, c) = \log(n-1)` (None when
    CSQ already needs the larger gap at :math:`n = 3`); ``sharper_up_to``: the largest integer ``n`` at
    which CSQ needs the smaller gap (0 when none); ``scaling``: the limit of
    :math:`\Delta^*_{CSQ}/\log n` as :math:`n\to\infty` when the shift scales as ``c(n)`` (SymPy), by label.
    """

    shift: float
    n_star: float | None
    sharper_up_to: int
    scaling: dict[str, str]


_B = sp.Symbol("beta", real=True)
_C0 = sp.Symbol("c_0", positive=True)

#: shift schedules c(n) whose effect on the gap is derived in :func:`contrast_crossover`
SHIFT_SCHEDULES: dict[str, sp.Expr] = {
    "c = c0 (fixed)": _C0,
    "c = c0·log(n)/√n": _C0 * sp.log(N) / sp.sqrt(N),
    "c = c0/√n": _C0 / sp.sqrt(N),
    "c = c0·√n": _C0 * sp.sqrt(N),
}


@lru_cache(maxsize=None)
def contrast_crossover(shift: float = 1.0) -> ContrastCrossover:
    r"""Solve :math:`\Delta^*_{CSQ}(n, c) = \log(n - 1)` for real :math:`n \ge 3` (bisection to 1e-12 on
    the SymPy expressions), and the limit of :math:`\Delta^*_{CSQ}/\log n` under each shift schedule of
    :data:`SHIFT_SCHEDULES`.  The difference is negative at :math:`n = 3` for small ``c`` and grows like
    :math:`c\sqrt n`; the bracket is widened until it changes sign and the root checked unique on the
    integers of :math:`[3, 4 n^*]`."""
    if not shift > 0:
        raise ValueError(f"shift: CSQ's contrast crossover needs c > 0, got {shift}")
    gap = contrast_gap("csq").expr.subs(C, sp.Float(shift, 30))
    diff = sp.lambdify(N, gap - sp.log(N - 1), "mpmath")
    scaling = {
        label: str(sp.limit(contrast_gap("csq").expr.subs(C, sched) / sp.log(N), N, sp.oo))
        for label, sched in SHIFT_SCHEDULES.items()
    }
    if diff(3) >= 0:
        return ContrastCrossover(shift, None, 0, scaling)
    lo, hi = 3.0, 6.0
    while diff(hi) < 0:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if diff(mid) < 0 else (lo, mid)
        if hi - lo <= 1e-12 * hi:
            break
    n_star = 0.5 * (lo + hi)
    signs = [diff(m) < 0 for m in range(3, int(4 * n_star) + 2)]
    if signs != sorted(signs, reverse=True):
        raise ArithmeticError(f"csq contrast at c = {shift}: more than one crossing with log(n − 1) in [3, {4 * n_star:.0f}]")
    return ContrastCrossover(shift, float(n_star), sum(signs) + 2, scaling)
