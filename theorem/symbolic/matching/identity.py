r"""SymPy derivations behind the matching readings (claims T4, T6).

Notation: one query :math:`q`, a key :math:`k`, :math:`\lambda = 1/\sqrt{d_k}`,
:math:`a = \lVert q\rVert^2`, :math:`\rho = \lVert k\rVert^2`, :math:`r = \lVert q-k\rVert^2`,
score :math:`s = \lambda\, q\cdot k`.  Each function performs its derivation at run time and
returns a frozen record whose ``holds`` is computed.

* :func:`softmax_rbf_identity` — (c): :math:`q\cdot k = -\tfrac12\lVert q-k\rVert^2 + \tfrac12\lVert k\rVert^2
  + \tfrac12\lVert q\rVert^2` for general :math:`d` (indexed sums), and softmax's shift
  invariance at explicit sizes; together
  :math:`\operatorname{softmax}_j(\lambda q\cdot k_j) =
  \operatorname{softmax}_j(\lambda(-\lVert q-k_j\rVert^2 + \lVert k_j\rVert^2)/2)`.
* :func:`factorization` — whether a kernel's weight, as a function of :math:`(r, \rho)` at a
  fixed query, splits as *RBF part × key-norm part* (up to a per-query factor, which row
  normalization cancels).  Criterion: :math:`\partial_r\partial_\rho \log f \equiv 0`.
  Softmax splits; poly2 and CSQ do not.
* :func:`monotone_region` — where the kernel's weight increases with its score
  (:math:`f'(t) > 0`, solved as a set).
* :func:`contrast_gap` — the smallest gap :math:`\Delta^*` giving the best key half of the
  mass against :math:`n-1` equal distractors at level :math:`L`, solved per kernel.
* :func:`centered_pair_sum_variance` — :math:`\operatorname{Var}(\zeta_i+\zeta_j-2\bar\zeta) = 2-4/n`
  for iid unit-variance :math:`\zeta`, behind the CSQ violation-rate closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .derivations import Derivation, softmax_row

__all__ = [
    "softmax_rbf_identity",
    "Factorization",
    "factorization",
    "FACTORIZATION_KERNELS",
    "equal_norm_reduction",
    "MonotoneRegion",
    "monotone_region",
    "ContrastGap",
    "contrast_gap",
    "CONTRAST_KERNELS",
    "contrast_gap_value",
    "centered_pair_sum_variance",
]

# the symbols shared by the derivations
N = sp.Symbol("n", positive=True)
L = sp.Symbol("L", real=True)  # distractor level (score; rbf: RBF score)
DELTA = sp.Symbol("Delta", real=True)
C = sp.Symbol("c", positive=True)
T = sp.Symbol("t", real=True)


# ------------------------------------------------------------------------------------
# (c) the identity
# ------------------------------------------------------------------------------------


def _expand_sums(expr: sp.Expr) -> sp.Expr:
    """Distribute every ``Sum`` over the terms of its expanded summand, constants pulled out."""

    def split(s: sp.Sum) -> sp.Expr:
        return sp.Add(*[sp.factor_terms(sp.Sum(term, *s.limits)) for term in sp.Add.make_args(sp.expand(s.function))])

    return sp.expand(expr.replace(lambda x: isinstance(x, sp.Sum), split))


def softmax_rbf_identity(row_sizes: tuple[int, ...] = (1, 2, 3, 4)) -> Derivation:
    r"""(c): softmax of dot products = softmax of (RBF score + key-norm term).

    1. For symbolic :math:`d` (indexed sums):
       :math:`\sum_i q_ik_i - \big(-\tfrac12\sum_i(q_i-k_i)^2 + \tfrac12\sum_i k_i^2\big) = \tfrac12\sum_i q_i^2`,
       a term that does not depend on the key.
    2. At explicit row lengths: :math:`\operatorname{softmax}(s + c\mathbf 1) = \operatorname{softmax}(s)`.

    Hence the two softmax rows agree for every query, every key set and every scale
    :math:`\lambda` (the scale multiplies both sides of 1).
    """
    d = sp.Symbol("d", integer=True, positive=True)
    i = sp.Idx("i")
    q, k = sp.IndexedBase("q", real=True), sp.IndexedBase("k", real=True)

    def total(e):
        return sp.Sum(e, (i, 1, d))

    dot = total(q[i] * k[i])
    rbf_plus_norm = -total((q[i] - k[i]) ** 2) / 2 + total(k[i] ** 2) / 2
    remainder = sp.simplify(_expand_sums(dot - rbf_plus_norm - total(q[i] ** 2) / 2))
    general_ok = remainder == 0
    remainder_free_of_k = not _expand_sums(dot - rbf_plus_norm).has(k)

    shift = sp.Symbol("c", real=True)
    shift_ok, notes = True, []
    for n in row_sizes:
        s = sp.Matrix(n, 1, lambda j, _: sp.Symbol(f"s_{j}", real=True))
        diff = softmax_row(s + shift * sp.ones(n, 1)) - softmax_row(s)
        ok = all(sp.simplify(sp.expand(v)) == 0 for v in diff)
        shift_ok &= ok
        notes.append(f"n={n}: {'=' if ok else '≠'}")
    return Derivation(
        name="softmax_rbf_identity",
        statement_latex=(
            r"\operatorname{softmax}_j\!\big(\lambda\,q\cdot k_j\big) = "
            r"\operatorname{softmax}_j\!\big(-\tfrac{\lambda}{2}\lVert q-k_j\rVert^2 + \tfrac{\lambda}{2}\lVert k_j\rVert^2\big)"
        ),
        general="general d (indexed sums) for the score identity; explicit row lengths for shift invariance",
        checked_sizes=tuple(row_sizes),
        holds=bool(general_ok and remainder_free_of_k and shift_ok),
        detail=(
            f"q·k − (−‖q−k‖²/2 + ‖k‖²/2) − ‖q‖²/2 simplifies to {remainder}; "
            f"the difference depends on the query only: {remainder_free_of_k}; "
            f"softmax(s + c·1) = softmax(s): {', '.join(notes)}"
        ),
    )


# ------------------------------------------------------------------------------------
# does the weight split into RBF part × key-norm part?
# ------------------------------------------------------------------------------------

R_SQ, RHO, A_SQ = sp.symbols("r rho a", positive=True)  # ‖q−k‖², ‖k‖², ‖q‖²
LAM = sp.Symbol("lambda", positive=True)  # 1/√d_k
BETA = sp.Symbol("beta", real=True)  # CSQ's per-query constant c − λ q·k̄


def _score_in_distances() -> sp.Expr:
    r""":math:`s = \lambda q\cdot k = \lambda(a + \rho - r)/2`."""
    return LAM * (A_SQ + RHO - R_SQ) / 2


#: the weight of each score kernel as a function of its score ``s`` (CSQ: with per-query β)
FACTORIZATION_KERNELS: dict[str, sp.Expr] = {
    "softmax": sp.exp(T),
    "poly2": T**2,
    "csq": (T + BETA) ** 2,
}


@dataclass(frozen=True)
class Factorization:
    """Whether ``f(s)`` with ``s = λ(a + ρ − r)/2`` equals g(r)·h(ρ)·(query factor).

    ``mixed_partial`` is :math:`\\partial_r\\partial_\\rho \\log f` (zero iff it splits, for
    positive f); ``holds`` says the computed verdict agrees with ``splits``.
    """

    kernel: str
    weight: str
    mixed_partial: str
    splits: bool
    factors: str
    holds: bool


def factorization(kernel: str) -> Factorization:
    r"""Test whether the kernel's weight is an RBF weight times a key-norm weight.

    A positive :math:`F(r,\rho)` equals :math:`g(r)h(\rho)` iff
    :math:`\partial_r\partial_\rho\log F = 0`.  For softmax,
    :math:`e^{s} = e^{-\lambda r/2}\,e^{\lambda\rho/2}\,e^{\lambda a/2}` (verified by expansion);
    for :math:`s^2` and :math:`(s+\beta)^2` the mixed partial is
    :math:`2\cdot(\lambda/2)^2/(s+\beta)^2 \ne 0`, so no such identity exists.
    """
    if kernel not in FACTORIZATION_KERNELS:
        raise ValueError(f"kernel: choose one of {', '.join(FACTORIZATION_KERNELS)}, got {kernel!r}")
    f = FACTORIZATION_KERNELS[kernel].subs(T, _score_in_distances())
    mixed = sp.simplify(sp.diff(sp.log(f), R_SQ, RHO))
    splits = mixed == 0
    factors = "none"
    holds = True
    if splits:
        g, h, query = sp.exp(-LAM * R_SQ / 2), sp.exp(LAM * RHO / 2), sp.exp(LAM * A_SQ / 2)
        holds = sp.simplify(sp.expand(f - g * h * query, power_exp=True)) == 0
        factors = f"{g} · {h} · {query}"
    else:  # certify "not identically zero" at a point
        point = {R_SQ: 1, RHO: 2, A_SQ: 3, LAM: 1, BETA: sp.Rational(1, 3)}
        holds = sp.nsimplify(mixed.subs(point)) != 0
    return Factorization(kernel, str(FACTORIZATION_KERNELS[kernel]), str(mixed), bool(splits), factors, bool(holds))


def equal_norm_reduction() -> Derivation:
    r"""With every key of norm :math:`\sqrt\rho`, a score kernel's weight is a function of
    :math:`r` alone and :math:`\partial_r f(s) = -\tfrac{\lambda}{2} f'(s)`: nearer ⇔ larger score,
    so (b) holds exactly where (a) does."""
    s = _score_in_distances()
    ok = True
    notes = []
    for name, f in FACTORIZATION_KERNELS.items():
        lhs = sp.diff(f.subs(T, s), R_SQ)
        rhs = -LAM / 2 * sp.diff(f, T).subs(T, s)
        agree = sp.simplify(lhs - rhs) == 0
        ok &= agree
        notes.append(f"{name}: {'=' if agree else '≠'}")
    return Derivation(
        name="equal_norm_reduction",
        statement_latex=r"\partial_r f\big(\lambda(a+\rho-r)/2\big) = -\tfrac{\lambda}{2} f'(s)",
        general="symbolic a, ρ, r, λ",
        checked_sizes=(),
        holds=bool(ok),
        detail="; ".join(notes),
    )


# ------------------------------------------------------------------------------------
# where the weight increases with the score
# ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonotoneRegion:
    """The set of ``t`` where ``f'(t) > 0`` (``everywhere``: all reals)."""

    kernel: str
    weight: str
    derivative: str
    region: str
    everywhere: bool


@lru_cache(maxsize=None)
def monotone_region(kernel: str) -> MonotoneRegion:
    r"""Solve :math:`f'(t) > 0` over the reals for the weight :math:`f` of a score kernel.

    ``t`` is the quantity the kernel exponentiates or squares: the score (softmax, poly2),
    the centered shifted score :math:`\tilde s + c` (CSQ), the RBF score (rbf).
    """
    weights = {"softmax": sp.exp(T), "rbf": sp.exp(T), "poly2": T**2, "csq": T**2}
    if kernel not in weights:
        raise ValueError(f"kernel: choose one of {', '.join(weights)}, got {kernel!r}")
    f = weights[kernel]
    df = sp.diff(f, T)
    region = sp.solve_univariate_inequality(df > 0, T, relational=False)
    return MonotoneRegion(kernel, str(f), str(df), str(region), region == sp.S.Reals)


# ------------------------------------------------------------------------------------
# (d) contrast
# ------------------------------------------------------------------------------------

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


def _phi_elu(x: float) -> float:
    import math

    return math.exp(x) if x < 0 else 1.0 + x


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


# ------------------------------------------------------------------------------------
# variance behind the CSQ violation rate
# ------------------------------------------------------------------------------------


def centered_pair_sum_variance(explicit_sizes: tuple[int, ...] = (3, 4, 5, 8)) -> Derivation:
    r""":math:`\operatorname{Var}(\zeta_i + \zeta_j - 2\bar\zeta) = 2 - 4/n` for iid unit-variance :math:`\zeta`.

    General :math:`n`: the coefficients are :math:`1 - 2/n` (twice) and :math:`-2/n`
    (:math:`n-2` times); the sum of their squares simplifies to :math:`2 - 4/n`.  Explicit
    sizes: the coefficient vector of :math:`\zeta_0 + \zeta_1 - \tfrac2n\sum_l\zeta_l`
    is built term by term and its squared norm compared.
    """
    n = sp.Symbol("n", positive=True, integer=True)
    general = sp.simplify(2 * (1 - 2 / n) ** 2 + (n - 2) * (2 / n) ** 2)
    target = 2 - 4 / n
    ok = sp.simplify(general - target) == 0
    notes = []
    for m in explicit_sizes:
        z = sp.symbols(f"z0:{m}", real=True)
        combo = sp.expand(z[0] + z[1] - sp.Rational(2, m) * sum(z))
        var = sum(combo.coeff(v) ** 2 for v in z)
        agree = sp.simplify(var - target.subs(n, m)) == 0
        ok &= agree
        notes.append(f"n={m}: {var}")
    return Derivation(
        name="centered_pair_sum_variance",
        statement_latex=r"\operatorname{Var}(\zeta_i+\zeta_j-2\bar\zeta) = 2 - \tfrac{4}{n}",
        general="general n",
        checked_sizes=tuple(explicit_sizes),
        holds=bool(ok),
        detail=f"general: {general}; explicit: {', '.join(notes)}",
    )
