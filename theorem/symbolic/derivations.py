r"""Matrix-calculus derivations for one attention head, done by SymPy at run time.

Notation: tokens :math:`X \in \mathbb{R}^{n\times d}`, bilinear form
:math:`M \in \mathbb{R}^{d\times d}` (or :math:`M = W_Q W_K^\top` with
:math:`W_Q, W_K \in \mathbb{R}^{d\times d_k}`), scores :math:`S = X M X^\top`
(the constant :math:`1/\sqrt{d_k}` is omitted throughout: it rescales every gradient
by the same nonzero number and changes no span or rank), upstream gradient
:math:`G = \partial L/\partial S`, one row of weights :math:`a = \kappa(s)/\sum\kappa(s)`.

Each public ``*()`` function performs its derivation and returns a :class:`Derivation`
whose ``holds`` is the conjunction of the checks that were actually run.  Two kinds
of evidence are combined:

* *general* — an identity between ``MatrixSymbol`` expressions, for symbolic
  :math:`n, d, d_k` (SymPy's matrix calculus);
* *component* — the same identity at explicit small sizes with a ``Matrix`` of
  independent symbols, differentiating entry by entry; exact after ``expand``/``cancel``.

Each check is a reusable ``check_*`` function that takes the *candidate* formula as an
argument, so a wrong candidate can be fed through the very same comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.matrices import kronecker_product

from ._matrices import entrywise_gradient, matrices_equal, symbol_matrix, vec

__all__ = [
    "Derivation",
    "backward_pullback",
    "forward_jacobian_kronecker",
    "softmax_jacobian",
    "poly2_row_jacobian",
    "factorized_gradients",
    "all_derivations",
    "general_identity",
    "check_pullback_components",
    "check_forward_jacobian",
    "check_row_jacobian",
    "check_factorized_components",
    "softmax_row",
    "poly2_row",
    "PULLBACK_SIZES",
    "ROW_SIZES",
]

#: explicit (n, d) sizes for the component checks of the M-form
PULLBACK_SIZES: tuple[tuple[int, int], ...] = ((1, 1), (2, 3), (3, 2), (3, 3))
#: explicit (n, d, d_k) sizes for the factorized component checks
FACTORIZED_SIZES: tuple[tuple[int, int, int], ...] = ((1, 1, 1), (2, 3, 1), (3, 2, 2), (2, 2, 3))
#: explicit row lengths n for the row-Jacobian checks
ROW_SIZES: tuple[int, ...] = (1, 2, 3, 4)

MatrixCandidate = Callable[..., sp.Matrix]


def _agrees(truth: sp.MatrixBase, candidate: Callable[[], sp.Matrix], simplifier=sp.expand) -> bool:
    """Exact comparison; a candidate that cannot even be formed (``ShapeError``) disagrees."""
    try:
        value = candidate()
    except sp.ShapeError:
        return False
    return matrices_equal(truth, value, simplifier=simplifier)


@dataclass(frozen=True)
class Derivation:
    """The record of one derivation.

    ``statement_latex`` is the identity; ``general`` says for which sizes it was shown
    symbolically (or ``"explicit sizes only"``); ``checked_sizes`` lists the explicit
    sizes of the component checks; ``holds`` is computed; ``detail`` says what ran.
    """

    name: str
    statement_latex: str
    general: str
    checked_sizes: tuple
    holds: bool
    detail: str


# ---------------------------------------------------------------------------------
# reusable comparisons (each takes the candidate under test)
# ---------------------------------------------------------------------------------


def general_identity(lhs: sp.MatrixExpr, rhs: sp.MatrixExpr) -> bool:
    """``True`` iff ``simplify(lhs − rhs)`` is the zero matrix (symbolic shapes allowed).

    Mismatched shapes are *not* equal (SymPy would raise ``ShapeError``).
    """
    if lhs.shape != rhs.shape:
        return False
    diff = sp.simplify(lhs - rhs)
    return bool(getattr(diff, "is_ZeroMatrix", False)) or diff == 0


def check_pullback_components(
    candidate: MatrixCandidate, sizes: Sequence[tuple[int, int]] = PULLBACK_SIZES
) -> tuple[bool, str]:
    r"""Compare :math:`\partial/\partial M_{ab}\sum_{ij} G_{ij}S_{ij}` with ``candidate(X, G, M)``.

    ``S = X M Xᵀ`` with all of ``X`` (n×d), ``G`` (n×n), ``M`` (d×d) independent symbols.
    Returns ``(all sizes agree, per-size report)``; a candidate whose shapes do not fit
    at some size disagrees there.
    """
    ok, notes = True, []
    for n, d in sizes:
        x, g, m = symbol_matrix("x", n, d), symbol_matrix("g", n, n), symbol_matrix("m", d, d)
        s = x * m * x.T
        loss = sum((g[i, j] * s[i, j] for i in range(n) for j in range(n)), sp.S.Zero)
        agree = _agrees(entrywise_gradient(loss, m), lambda: candidate(x, g, m))
        ok &= agree
        notes.append(f"(n,d)=({n},{d}): {'=' if agree else '≠'}")
    return ok, ", ".join(notes)


def check_forward_jacobian(
    candidate: Callable[[sp.MatrixBase], sp.Matrix], sizes: Sequence[tuple[int, int]] = PULLBACK_SIZES
) -> tuple[bool, str]:
    r"""Compare the Jacobian :math:`\partial\,\mathrm{vec}(XMX^\top)/\partial\,\mathrm{vec}(M)` with ``candidate(X)``.

    ``vec`` is column-major (columns stacked).  The Jacobian is computed entry by entry
    with ``Matrix.jacobian`` on explicit symbols.
    """
    ok, notes = True, []
    for n, d in sizes:
        x, m = symbol_matrix("x", n, d), symbol_matrix("m", d, d)
        jac = vec(x * m * x.T).jacobian(vec(m))
        agree = _agrees(jac, lambda: candidate(x))
        ok &= agree
        notes.append(f"(n,d)=({n},{d}): {'=' if agree else '≠'}")
    return ok, ", ".join(notes)


def softmax_row(s: sp.MatrixBase) -> sp.MatrixBase:
    r""":math:`a_j = e^{s_j} / \sum_k e^{s_k}` for a column vector ``s``."""
    e = s.applyfunc(sp.exp)
    return e / sum(e, sp.S.Zero)


def poly2_row(t: sp.MatrixBase) -> sp.MatrixBase:
    r""":math:`a_j = t_j^2 / \sum_k t_k^2` for a column vector ``t``."""
    sq = t.applyfunc(lambda v: v**2)
    return sq / sum(sq, sp.S.Zero)


def check_row_jacobian(
    row_map: Callable[[sp.MatrixBase], sp.Matrix],
    candidate: Callable[[sp.MatrixBase, sp.Matrix], sp.Matrix],
    sizes: Sequence[int] = ROW_SIZES,
) -> tuple[bool, str]:
    r"""Compare :math:`\partial a/\partial s` of ``a = row_map(s)`` with ``candidate(s, a)``.

    Exact: each entry of the difference is put over a common denominator (``cancel``),
    treating :math:`e^{s_j}` as independent generators.
    """
    ok, notes = True, []
    for n in sizes:
        s = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"s_{i}", real=True))
        a = row_map(s)
        agree = _agrees(a.jacobian(s), lambda: candidate(s, a), simplifier=sp.cancel)
        ok &= agree
        notes.append(f"n={n}: {'=' if agree else '≠'}")
    return ok, ", ".join(notes)


def check_factorized_components(
    candidate_q: MatrixCandidate,
    candidate_k: MatrixCandidate,
    sizes: Sequence[tuple[int, int, int]] = FACTORIZED_SIZES,
) -> tuple[bool, str]:
    r"""Compare the entrywise gradients of :math:`\sum_{ij}G_{ij}(XW_QW_K^\top X^\top)_{ij}`.

    ``candidate_q(X, G, W_Q, W_K)`` is compared with :math:`\partial L/\partial W_Q` and
    ``candidate_k(X, G, W_Q, W_K)`` with :math:`\partial L/\partial W_K`, at each
    ``(n, d, d_k)``.
    """
    ok, notes = True, []
    for n, d, k in sizes:
        x, g = symbol_matrix("x", n, d), symbol_matrix("g", n, n)
        wq, wk = symbol_matrix("q", d, k), symbol_matrix("k", d, k)
        s = x * wq * wk.T * x.T
        loss = sp.expand(sum((g[i, j] * s[i, j] for i in range(n) for j in range(n)), sp.S.Zero))
        agree_q = _agrees(entrywise_gradient(loss, wq), lambda: candidate_q(x, g, wq, wk))
        agree_k = _agrees(entrywise_gradient(loss, wk), lambda: candidate_k(x, g, wq, wk))
        ok &= agree_q and agree_k
        notes.append(
            f"(n,d,dk)=({n},{d},{k}): W_Q {'=' if agree_q else '≠'}, W_K {'=' if agree_k else '≠'}"
        )
    return ok, ", ".join(notes)


def _general_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
    return sp.symbols("n d d_k", integer=True, positive=True)


def _ones(n: int) -> sp.MatrixBase:
    return sp.ones(n, 1)


# ---------------------------------------------------------------------------------
# the derivations
# ---------------------------------------------------------------------------------


def backward_pullback() -> Derivation:
    r"""Backward pullback of the score gradient to the bilinear form.

    For :math:`L = \operatorname{tr}(G^\top X M X^\top) = \sum_{ij} G_{ij} S_{ij}`,
    :math:`\partial L/\partial M = X^\top G X` for all :math:`n, d`.
    Hence every gradient w.r.t. :math:`M` lies in :math:`\{X^\top G X\}`.
    """
    n, d, _ = _general_symbols()
    x, m, g = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("M", d, d), sp.MatrixSymbol("G", n, n)
    general_ok = general_identity(sp.Trace(g.T * x * m * x.T).diff(m), x.T * g * x)
    comp_ok, notes = check_pullback_components(lambda X, G, M: X.T * G * X)
    return Derivation(
        name="backward_pullback",
        statement_latex=r"\frac{\partial}{\partial M}\operatorname{tr}(G^\top X M X^\top) = X^\top G X",
        general="general n, d (MatrixSymbol)" if general_ok else "general form NOT confirmed",
        checked_sizes=PULLBACK_SIZES,
        holds=general_ok and comp_ok,
        detail=f"MatrixSymbol diff {'agrees' if general_ok else 'DISAGREES'}; components: {notes}",
    )


def _integer_rank_examples() -> list[sp.MatrixBase]:
    """Small integer matrices of exact ranks 1, 2 (and one of rank 3) for the ⊗ rank law."""
    return [
        sp.Matrix([[1, 2, 3], [2, 4, 6]]),  # rank 1
        sp.Matrix([[1], [-2], [0]]),  # rank 1
        sp.Matrix([[1, 0, 1], [0, 1, 1], [1, 1, 2]]),  # rank 2 (row3 = row1 + row2)
        sp.Matrix([[2, -1], [4, -2], [0, 3]]),  # rank 2
        sp.Matrix([[1, 2, 0], [0, 1, 3], [2, 0, 1]]),  # rank 3
    ]


def forward_jacobian_kronecker() -> Derivation:
    r"""Forward map :math:`M \mapsto S = XMX^\top` as a matrix.

    With column-major :math:`\operatorname{vec}`,
    :math:`\operatorname{vec}(XMX^\top) = (X \otimes X)\operatorname{vec}(M)` (from
    :math:`\operatorname{vec}(ABC) = (C^\top\otimes A)\operatorname{vec}(B)`), and
    :math:`\operatorname{rank}(X\otimes X) = \operatorname{rank}(X)^2`.  (For this
    symmetric sandwich the row-major convention gives the same matrix
    :math:`X \otimes X`.)
    """
    jac_ok, notes = check_forward_jacobian(lambda X: kronecker_product(X, X))
    ranks = []
    for a in _integer_rank_examples():
        r = a.rank()
        ranks.append((a.shape, r, kronecker_product(a, a).rank()))
    rank_ok = all(rk == r**2 for _, r, rk in ranks)
    rank_notes = "; ".join(f"{shape}: rank {r}, rank ⊗ {rk}" for shape, r, rk in ranks)
    return Derivation(
        name="forward_jacobian_kronecker",
        statement_latex=(
            r"\operatorname{vec}(XMX^\top) = (X\otimes X)\operatorname{vec}(M),\quad"
            r"\operatorname{rank}(X\otimes X) = \operatorname{rank}(X)^2"
        ),
        general="explicit sizes only (vec is column-major)",
        checked_sizes=PULLBACK_SIZES,
        holds=jac_ok and rank_ok,
        detail=f"Jacobian vs X⊗X: {notes}; exact ranks: {rank_notes}",
    )


def _softmax_closed_form(_s: sp.MatrixBase, a: sp.MatrixBase) -> sp.MatrixBase:
    return sp.diag(*a) - a * a.T


def _rational_simplex_point(n: int) -> sp.MatrixBase:
    """Positive rationals summing to 1: :math:`a_i = 2i/(n(n+1))`, i = 1..n."""
    total = sp.Rational(n * (n + 1), 2)
    return sp.Matrix([sp.Rational(i, 1) / total for i in range(1, n + 1)])


def softmax_jacobian() -> Derivation:
    r"""Row softmax Jacobian and its null space.

    :math:`\partial a/\partial s = \operatorname{diag}(a) - aa^\top`,
    :math:`J\mathbf{1} = 0`, and at any point with all :math:`a_i > 0`,
    :math:`\operatorname{rank} J = n-1`, so :math:`\ker J = \operatorname{span}(\mathbf{1})`.
    The rank is checked exactly at rational probability vectors (every positive
    probability vector is a softmax image, :math:`s = \log a`).
    """
    jac_ok, notes = check_row_jacobian(softmax_row, _softmax_closed_form)
    null_ok, rank_notes = True, []
    for n in ROW_SIZES:
        s = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"s_{i}", real=True))
        a = softmax_row(s)
        null_ok &= all(sp.cancel(v) == 0 for v in a.jacobian(s) * _ones(n))
        a0 = _rational_simplex_point(n)
        j0 = _softmax_closed_form(a0, a0)
        kernel = j0.nullspace()
        spans_one = len(kernel) == 1 and matrices_equal(kernel[0] / kernel[0][0], _ones(n))
        null_ok &= j0.rank() == n - 1 and spans_one
        rank_notes.append(f"n={n}: rank {j0.rank()}, ker=span(1) {spans_one}")
    return Derivation(
        name="softmax_jacobian",
        statement_latex=(
            r"\frac{\partial a}{\partial s} = \operatorname{diag}(a) - aa^\top,\quad"
            r"\ker = \operatorname{span}(\mathbf{1}),\ \operatorname{rank} = n-1"
        ),
        general="explicit sizes only",
        checked_sizes=ROW_SIZES,
        holds=jac_ok and null_ok,
        detail=f"Jacobian: {notes}; J·1 = 0 and exact rank at rational a: {'; '.join(rank_notes)}",
    )


def _poly2_closed_form(t: sp.MatrixBase, a: sp.MatrixBase) -> sp.MatrixBase:
    z = sum((v**2 for v in t), sp.S.Zero)
    return (2 / z) * (sp.diag(*t) - a * t.T)


def poly2_row_jacobian() -> Derivation:
    r"""Row Jacobian of the degree-2 kernel :math:`a_j = t_j^2/Z`, :math:`Z = \sum_k t_k^2`.

    :math:`\partial a/\partial t = \tfrac{2}{Z}(\operatorname{diag}(t) - a t^\top)`,
    :math:`Jt = 0`; at a point with :math:`z` zero entries (and :math:`t \ne 0`) the
    rank is :math:`n - 1 - z`: a zero :math:`t_j` zeroes both row and column :math:`j`.
    """
    jac_ok, notes = check_row_jacobian(poly2_row, _poly2_closed_form)
    rank_ok, rank_notes = True, []
    for n in ROW_SIZES:
        t = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"t_{i}", real=True))
        jac = poly2_row(t).jacobian(t)
        rank_ok &= all(sp.cancel(v) == 0 for v in jac * t)
        for zeros in range(n):  # keep at least one nonzero entry so Z > 0
            point = [sp.S.Zero] * zeros + [sp.Rational(k + 1, 3) for k in range(n - zeros)]
            point = point[1::2] + point[0::2]  # spread the zeros out
            j0 = jac.subs(dict(zip(t, point)))
            r0 = j0.rank()
            rank_ok &= r0 == n - 1 - zeros
            rank_notes.append(f"n={n}, {zeros} zero(s): rank {r0}")
    return Derivation(
        name="poly2_row_jacobian",
        statement_latex=(
            r"\frac{\partial a}{\partial t} = \frac{2}{Z}\left(\operatorname{diag}(t) - a t^\top\right),\quad"
            r"Jt = 0,\ \operatorname{rank} = n - 1 - \#\{j: t_j = 0\}"
        ),
        general="explicit sizes only",
        checked_sizes=ROW_SIZES,
        holds=jac_ok and rank_ok,
        detail=f"Jacobian: {notes}; J·t = 0 and exact ranks: {'; '.join(rank_notes)}",
    )


def factorized_gradients() -> Derivation:
    r"""Gradients of the factorized head.

    For :math:`L = \operatorname{tr}(G^\top X W_Q W_K^\top X^\top)`:
    :math:`\partial L/\partial W_Q = X^\top G X W_K` and
    :math:`\partial L/\partial W_K = X^\top G^\top X W_Q`.
    """
    n, d, k = _general_symbols()
    x, g = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("G", n, n)
    wq, wk = sp.MatrixSymbol("W_Q", d, k), sp.MatrixSymbol("W_K", d, k)
    loss = sp.Trace(g.T * x * wq * wk.T * x.T)
    general_ok = general_identity(loss.diff(wq), x.T * g * x * wk) and general_identity(
        loss.diff(wk), x.T * g.T * x * wq
    )
    comp_ok, notes = check_factorized_components(
        lambda X, G, Q, K: X.T * G * X * K, lambda X, G, Q, K: X.T * G.T * X * Q
    )
    return Derivation(
        name="factorized_gradients",
        statement_latex=(
            r"\frac{\partial L}{\partial W_Q} = X^\top G X W_K,\quad"
            r"\frac{\partial L}{\partial W_K} = X^\top G^\top X W_Q"
        ),
        general="general n, d, d_k (MatrixSymbol)" if general_ok else "general form NOT confirmed",
        checked_sizes=FACTORIZED_SIZES,
        holds=general_ok and comp_ok,
        detail=f"MatrixSymbol diff {'agrees' if general_ok else 'DISAGREES'}; components: {notes}",
    )


def all_derivations() -> list[Derivation]:
    """Run every derivation of this module, in order."""
    return [
        backward_pullback(),
        forward_jacobian_kronecker(),
        softmax_jacobian(),
        poly2_row_jacobian(),
        factorized_gradients(),
    ]
