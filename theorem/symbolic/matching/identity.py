r"""SymPy derivations of the matching properties (claims T4, T6): the identity (c), the
RBF × key-norm factorization, and where a kernel's weight increases with its score.

Notation: one query :math:`q`, a key :math:`k`, :math:`\lambda = 1/\sqrt{d_k}`,
:math:`a = \lVert q\rVert^2`, :math:`\rho = \lVert k\rVert^2`, :math:`r = \lVert q-k\rVert^2`,
score :math:`s = \lambda\, q\cdot k`.  Each function performs its derivation at run time and
returns a frozen record whose ``holds`` is computed.

* :func:`softmax_rbf_identity` — (c): :math:`q\cdot k = -\tfrac12\lVert q-k\rVert^2 + \tfrac12\lVert k\rVert^2
  + \tfrac12\lVert q\rVert^2` for general :math:`d` (indexed sums), and softmax's shift
  invariance at explicit sizes;
* :func:`factorization` — whether a kernel's weight, as a function of :math:`(r, \rho)` at a
  fixed query, splits as *RBF part × key-norm part*.  Criterion: :math:`\partial_r\partial_\rho \log f \equiv 0`;
* :func:`equal_norm_reduction` — with equal key norms, nearer ⇔ larger score;
* :func:`monotone_region` — where the kernel's weight increases with its score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from theorem.symbolic.derivations import Derivation, softmax_row
from theorem.symbolic.matching.symbols import T

__all__ = [
    "softmax_rbf_identity",
    "Factorization",
    "factorization",
    "FACTORIZATION_KERNELS",
    "equal_norm_reduction",
    "MonotoneRegion",
    "monotone_region",
]


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
