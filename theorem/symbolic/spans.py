r"""Closed forms for the spans "explored" along a training trajectory and across data (T1, T5).

Setting (docs/pullback.md, section "What the parameters explore"): θ = M ∈ R^{d×d}, the weights map
``A(M; X) = normalize(κ(X M Xᵀ/√d))`` and, at one point, the pulled-back space

.. math:: P(M, X) = \{\partial_M \langle G, A(M; X)\rangle : G \in \mathbb{R}^{n\times n}\}.

Two unions of these spaces:

* **across data**: :math:`P_{\mathrm{data}} = \sum_{i=1}^{m} P(M, X_i)` at one point ``M``;
* **along a trajectory** :math:`(M_t, X_t)_{t < T}` (the points a fit visits, the data it met):
  :math:`P_{\le T} = \sum_{t<T} P(M_t, X_t)`; the *gradients met*
  :math:`G_{\le T} = \operatorname{span}\{\nabla_M L(M_t; X_t)\}_{t<T}` lie in it, so
  :math:`\dim G_{\le T} \le \min(T, \dim P_{\le T})`.

Invariants of the data (the keyword names of :func:`evaluate` in brackets):

* ``r`` — the dimension of the common row space ``R = row X_i`` (every ``X_i`` has the same one; rank-d
  tokens have ``R = R^d``, LayerNorm'd tokens without affine ``R = 1_d^⊥``);
* ``rho_u`` — :math:`\rho_\cup = \operatorname{rank}[H X_1; \dots; H X_m]`, ``H = I − 11ᵀ/n`` (one matrix:
  ``ρ = r − e``); :math:`r - \rho_\cup = \dim\{c \in R : X_i c \in \operatorname{span} 1\ \forall i\}`;
* ``par`` — ``[the projections P_R M_t P_R are all parallel]`` (1 for one point, 0 as soon as two of the
  points visited differ in direction); ``T`` — the trajectory length.

Closed forms (proved in docs/pullback.md):

==============================  ======================================  ===================================
kernel                           across data, one point                  along a trajectory (union)
==============================  ======================================  ===================================
softmax, CSQ (centred, c > 0)    :math:`r\,\rho_\cup`                    :math:`r\,\rho_\cup` (every T)
poly2 (some X_i with m(X_i)=1)   :math:`r^2 - 1`                         :math:`r^2 - \mathrm{par}`
==============================  ======================================  ===================================

Softmax's deficit does not depend on θ: the range of the row Jacobian ``diag(a) − a aᵀ`` is ``1^⊥`` at
every ``a > 0``, so ``P(M, X) = R ⊗ row(HX)`` at every M.  poly2's does: ``P(M, X)^⊥ ∩ (R ⊗ R) = span(P_R M
P_R)`` (the scale direction ``A(αM) = A(M)``), which moves with M.
"""

from __future__ import annotations

import random

import sympy as sp

from .derivations import Derivation

__all__ = ["r", "rho_u", "par", "T", "SPAN_KERNELS", "SENSES", "span_formula", "gradient_ceiling", "evaluate",
           "stacked_softmax_pullback", "prove_span_formulas"]

_nonneg = {"integer": True, "nonnegative": True}
r = sp.Symbol("r", **_nonneg)  #: dim of the common row space of the X_i
rho_u = sp.Symbol("rho_u", **_nonneg)  #: rank of the stacked centred tokens [H X_1; …; H X_m]
par = sp.Symbol("par", **_nonneg)  #: [the projected M_t are all parallel]
T = sp.Symbol("T", integer=True, positive=True)  #: trajectory length

SPAN_KERNELS: tuple[str, ...] = ("softmax", "csq", "poly2")
SENSES: tuple[str, ...] = ("data", "trajectory")

_FORMULAS: dict[tuple[str, str], sp.Expr] = {
    ("softmax", "data"): r * rho_u,
    ("softmax", "trajectory"): r * rho_u,
    ("csq", "data"): r * rho_u,
    ("csq", "trajectory"): r * rho_u,
    ("poly2", "data"): r**2 - 1,
    ("poly2", "trajectory"): r**2 - par,
}


def span_formula(kernel: str, sense: str) -> sp.Expr:
    """The dimension of the union of pulled-back spaces for ``kernel`` (``softmax``, ``csq``, ``poly2``) and
    ``sense`` (``data``: over token matrices at one point; ``trajectory``: over the points and data a fit met)."""
    key = (kernel, sense)
    if key not in _FORMULAS:
        raise KeyError(f"no span closed form for kernel={kernel!r}, sense={sense!r} "
                       f"(known: {', '.join('/'.join(k) for k in _FORMULAS)})")
    return _FORMULAS[key]


def gradient_ceiling(union: sp.Expr | int) -> sp.Expr:
    r""":math:`\min(T, \dim P_{\le T})`: the most the gradients met in ``T`` steps can span (``union``: the
    expression or value of :math:`\dim P_{\le T}`)."""
    return sp.Min(T, sp.sympify(union))


_NAMES = {s.name: s for s in (r, rho_u, par, T)}


def evaluate(expr: sp.Expr, **invariants: int) -> int:
    """The integer value of ``expr`` at the invariants (names as in the module doc); missing or unknown
    names and inconsistent values (``rho_u > r``, ``par ∉ {0, 1}``) raise ``ValueError``."""
    unknown = set(invariants) - set(_NAMES)
    if unknown:
        raise ValueError(f"unknown invariant(s) {sorted(unknown)}; known: {sorted(_NAMES)}")
    v = {k: int(val) for k, val in invariants.items()}
    if any(val < 0 for val in v.values()):
        raise ValueError(f"invariants must be nonnegative, got {invariants}")
    if "par" in v and v["par"] not in (0, 1):
        raise ValueError(f"par is an indicator, got {v['par']}")
    if "rho_u" in v and "r" in v and v["rho_u"] > v["r"]:
        raise ValueError(f"rho_u = {v['rho_u']} exceeds r = {v['r']}")
    value = sp.sympify(expr).subs({_NAMES[k]: val for k, val in v.items()})
    missing = sorted(s.name for s in value.free_symbols)
    if missing:
        raise ValueError(f"missing invariant(s) {missing} to evaluate {expr}")
    return int(value)


# ---------------------------------------------------------------------------------
# exact checks: the across-data closed form on rational tokens
# ---------------------------------------------------------------------------------


def stacked_softmax_pullback(xs: list[sp.Matrix]) -> sp.Matrix:
    r"""Exact spanning set of :math:`\sum_i \{X_i^\top B X_i : B\mathbf 1 = 0\}` (one row per vec), the
    M-independent softmax pulled-back space of each :math:`X_i` (``B`` over the basis ``e_a (e_b − e_n)ᵀ``)."""
    rows = []
    for x in xs:
        n = x.rows
        for a in range(n):
            for b in range(n - 1):
                bmat = sp.zeros(n, n)
                bmat[a, b], bmat[a, n - 1] = 1, -1
                rows.append(list(x.T * bmat * x))
    return sp.Matrix(rows)


def _centred(x: sp.Matrix) -> sp.Matrix:
    n = x.rows
    return (sp.eye(n) - sp.ones(n, n) / n) * x


def _examples(seed: int) -> list[tuple[str, list[sp.Matrix]]]:
    """Integer token sets with a common row space: generic, 1 ∈ col X_i with one shared c, with two cs."""
    rng = random.Random(seed)
    mat = lambda a, b: sp.Matrix(a, b, lambda *_: rng.randint(-3, 3))  # noqa: E731

    def with_ones(c: list[int], n: int, d: int) -> sp.Matrix:
        # rows x_i with x_i·c = 1 (so X c = 1): a free part plus a correction along the last coordinate
        x = mat(n, d)
        for i in range(n):
            x[i, d - 1] = sp.Rational(1 - sum(x[i, j] * c[j] for j in range(d - 1)), c[d - 1])
        return x

    return [
        ("generic (1 ∉ col X_i)", [mat(5, 3), mat(5, 3)]),
        ("X_i c = 1, one shared c", [with_ones([1, 2, 1], 5, 3), with_ones([1, 2, 1], 5, 3)]),
        ("X_i c_i = 1, two different c_i", [with_ones([1, 2, 1], 5, 3), with_ones([2, -1, 1], 5, 3)]),
        ("one matrix, X c = 1", [with_ones([1, 1, 2], 4, 3)]),
    ]


def prove_span_formulas(seed: int = 0) -> Derivation:
    r"""Exact checks of the θ-independent closed form :math:`\dim \sum_i P(X_i) = r\,\rho_\cup` (softmax,
    common row space) on rational tokens, and of poly2's scale invariance :math:`A(\alpha M) = A(M)`."""
    results = []
    for label, xs in _examples(seed):
        dim = stacked_softmax_pullback(xs).rank()
        rr = sp.Matrix.vstack(*xs).rank()
        common = all(x.rank() == rr for x in xs)
        rho = sp.Matrix.vstack(*[_centred(x) for x in xs]).rank()
        results.append((label, dim, evaluate(span_formula("softmax", "data"), r=rr, rho_u=rho), common))
    # poly2 weights are homogeneous of degree 0 in M (one row, n = 3, d = 2, symbolic tokens, M and α)
    x = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"x_{i}{j}", real=True))
    mm = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"m_{i}{j}", real=True))
    alpha = sp.Symbol("alpha", positive=True)

    def row(m):
        s = (x * m * x.T).row(0)
        t = [v**2 for v in s]
        return [v / sum(t) for v in t]

    scale_ok = all(sp.simplify(a - b) == 0 for a, b in zip(row(alpha * mm), row(mm)))
    holds = all(dim == pred and common for _, dim, pred, common in results) and scale_ok
    return Derivation(
        name="span_formulas",
        statement_latex=r"\dim\sum_i\{X_i^\top B X_i : B\mathbf 1 = 0\} = r\,\rho_\cup,\quad "
                        r"A_{\mathrm{poly2}}(\alpha M) = A_{\mathrm{poly2}}(M)",
        general="proved in docs/pullback.md; checked exactly (rational ranks) on explicit token sets",
        checked_sizes=tuple((len(xs), xs[0].rows, xs[0].cols) for _, xs in _examples(seed)),
        holds=holds,
        detail="; ".join(f"{label}: exact dim {dim}, r·ρ_∪ = {pred}" for label, dim, pred, _ in results)
               + f"; poly2 row homogeneous of degree 0: {scale_ok}",
    )
