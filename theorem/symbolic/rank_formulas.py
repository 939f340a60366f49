r"""Closed forms for the rank of the pulled-back gradient space.

The *pulled-back gradient space* of a map :math:`\theta \mapsto F(\theta)` at a point is
the span of all gradients :math:`\nabla_\theta \langle G, F(\theta)\rangle` over upstream
gradients :math:`G`; its dimension is the rank of the Jacobian :math:`\partial F/\partial\theta`.

Invariants of the tokens :math:`X \in \mathbb{R}^{n\times d}` (the keyword names that
:func:`evaluate` accepts are in brackets):

* ``r``   — :math:`r = \operatorname{rank} X`, and :math:`U = \operatorname{col} X \subseteq \mathbb{R}^n`;
* ``e``   — :math:`e = [\mathbf{1} \in U] \in \{0, 1\}`;
* ``rho`` — :math:`\rho = r - e = \operatorname{rank}\,(I - \mathbf{1}\mathbf{1}^\top/n)X`
  (accepted by :func:`evaluate` in place of ``e``);
* ``m``   — the number of connected components of the linear matroid on the nonzero rows
  :math:`x_i` of :math:`X` (independent rows: :math:`m = n`; rows in general position
  with :math:`n > r`: :math:`m = 1`);
* ``q1``, ``k1`` — :math:`q_1 = \operatorname{rank}(XW_Q)`, :math:`k_1 = \operatorname{rank}(XW_K)`;
* ``e_K`` — :math:`e_K = [\mathbf{1} \in \operatorname{col}(XW_K)]` (so :math:`e_K \le e`);
* ``d``, ``d_k`` — model and head dimensions (ambient dimensions only).

Predicted ranks (``param="M"``: :math:`\theta = M \in \mathbb{R}^{d\times d}`;
``param="factorized"``: :math:`\theta = (W_Q, W_K)`):

=============================  ==========================================================
scores, M                      :math:`r^2`
softmax / CSQ weights, M       :math:`r(r - e)`
poly2 weights, M               :math:`r^2 - m`
scores, factorized             :math:`r k_1 + r q_1 - q_1 k_1`
softmax weights, factorized    :math:`r k_1 + r q_1 - q_1 k_1 - \delta`
=============================  ==========================================================

with :math:`\delta = 0` if :math:`\mathbf{1}\notin U`, :math:`\delta = r` if
:math:`\mathbf{1} \in \operatorname{col}(XW_K)`, :math:`\delta = q_1` otherwise, i.e.
:math:`\delta = e_K\, r + (e - e_K)\, q_1`.  Ambient dimensions: :math:`d^2` (M) and
:math:`2 d d_k` (factorized); the paper's claimed value is :math:`d^2`.
"""

from __future__ import annotations

import random

import sympy as sp
from sympy.matrices import kronecker_product

from .derivations import Derivation

__all__ = [
    "r",
    "e",
    "rho",
    "m",
    "q1",
    "k1",
    "e_K",
    "d",
    "d_k",
    "delta",
    "KERNELS",
    "MAPS",
    "PARAMS",
    "formula",
    "available_formulas",
    "ambient_dimension",
    "paper_claimed_dimension",
    "evaluate",
    "latex_table",
    "exact_invariants",
    "kronecker_rank_examples",
    "prove_kronecker_rank_formula",
]

_nonneg = {"integer": True, "nonnegative": True}
r = sp.Symbol("r", **_nonneg)  #: rank X
e = sp.Symbol("e", **_nonneg)  #: [1 ∈ col X]
rho = sp.Symbol("rho", **_nonneg)  #: r − e, rank of the centered tokens
m = sp.Symbol("m", **_nonneg)  #: matroid components of the nonzero rows of X
q1 = sp.Symbol("q1", **_nonneg)  #: rank(X W_Q)
k1 = sp.Symbol("k1", **_nonneg)  #: rank(X W_K)
e_K = sp.Symbol("e_K", **_nonneg)  #: [1 ∈ col(X W_K)]
d = sp.Symbol("d", integer=True, positive=True)  #: model dimension
d_k = sp.Symbol("d_k", integer=True, positive=True)  #: head dimension

#: :math:`\delta = e_K r + (e - e_K) q_1`: rank lost to softmax's row-shift invariance, factorized
delta = e_K * r + (e - e_K) * q1

KERNELS: tuple[str, ...] = ("softmax", "poly2", "csq", "linear")
MAPS: tuple[str, ...] = ("scores", "weights")
PARAMS: tuple[str, ...] = ("M", "factorized")
_SCORE_KERNELS = ("softmax", "poly2", "csq")

_FACTORIZED_SCORES = r * k1 + r * q1 - q1 * k1

_FORMULAS: dict[tuple[str, str, str], sp.Expr] = {
    **{(kern, "scores", "M"): r**2 for kern in _SCORE_KERNELS},
    **{(kern, "scores", "factorized"): _FACTORIZED_SCORES for kern in _SCORE_KERNELS},
    ("softmax", "weights", "M"): r * (r - e),
    ("csq", "weights", "M"): r * (r - e),
    ("poly2", "weights", "M"): r**2 - m,
    ("softmax", "weights", "factorized"): _FACTORIZED_SCORES - delta,
}

#: for display only: the same expressions with δ kept as one symbol
_DISPLAY: dict[tuple[str, str, str], sp.Expr] = {
    ("softmax", "weights", "factorized"): sp.Add(_FACTORIZED_SCORES, -sp.Symbol("delta"), evaluate=False),
}


def available_formulas() -> list[tuple[str, str, str]]:
    """Every ``(kernel, map, param)`` with a closed form, in table order."""
    return list(_FORMULAS)


def formula(kernel: str, map: str, param: str = "M") -> sp.Expr:  # noqa: A002 - the CLI's word
    """The predicted rank of the pulled-back gradient space for ``(kernel, map, param)``.

    Raises ``KeyError`` (naming the known combinations) when no closed form is known.
    """
    key = (kernel, map, param)
    if key not in _FORMULAS:
        known = ", ".join("/".join(k) for k in _FORMULAS)
        why = ""
        if kernel not in KERNELS:
            why = f"unknown kernel {kernel!r}; "
        elif map not in MAPS + ("output",):
            why = f"unknown map {map!r}; "
        elif param not in PARAMS:
            why = f"unknown param {param!r}; "
        elif kernel == "linear":
            why = "the linear kernel is not a function of the scores S = XMXᵀ; "
        raise KeyError(f"no closed form for kernel={kernel!r}, map={map!r}, param={param!r} ({why}known: {known})")
    return _FORMULAS[key]


def ambient_dimension(param: str = "M") -> sp.Expr:
    r"""Number of parameters: :math:`d^2` for ``"M"``, :math:`2 d d_k` for ``"factorized"``."""
    if param == "M":
        return d**2
    if param == "factorized":
        return 2 * d * d_k
    raise KeyError(f"unknown param {param!r} (known: {', '.join(PARAMS)})")


def paper_claimed_dimension() -> sp.Expr:
    r"""The paper's claim T1: the pulled-back gradient space is "strictly" :math:`d^2`-dimensional."""
    return d**2


_NAMES = {s.name: s for s in (r, e, rho, m, q1, k1, e_K, d, d_k)}


def _check_consistent(v: dict[str, int]) -> None:
    """Reject invariants that no matrix can have (each rule is a necessary condition)."""
    for name in ("e", "e_K"):
        if name in v and v[name] not in (0, 1):
            raise ValueError(f"{name} is an indicator, got {v[name]}")
    if v.get("e_K", 0) > v.get("e", 1):
        raise ValueError("e_K = 1 needs e = 1 (col(X W_K) ⊆ col X)")
    if "r" in v:
        for name in ("q1", "k1", "m", "e", "rho"):
            if name in v and v[name] > v["r"]:
                raise ValueError(f"{name} = {v[name]} exceeds r = {v['r']}")
        if "rho" in v and "e" in v and v["rho"] != v["r"] - v["e"]:
            raise ValueError(f"rho = {v['rho']} but r − e = {v['r'] - v['e']}")


def evaluate(expr: sp.Expr, **invariants: int) -> int:
    """The integer value of ``expr`` at the given invariants (keyword names as in the module doc).

    ``rho`` may stand in for ``e`` (``e = r − rho``).  Unknown names, negative or
    inconsistent values, and missing invariants raise ``ValueError``.
    """
    unknown = set(invariants) - set(_NAMES)
    if unknown:
        raise ValueError(f"unknown invariant(s) {sorted(unknown)}; known: {sorted(_NAMES)}")
    v: dict[str, int] = {}
    for name, value in invariants.items():
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a nonnegative integer, got {value!r}")
        v[name] = int(value)
    if "rho" in v and "r" in v and "e" not in v:
        v["e"] = v["r"] - v["rho"]
    _check_consistent(v)
    value = sp.sympify(expr).subs({_NAMES[k]: val for k, val in v.items()})
    missing = sorted(s.name for s in value.free_symbols)
    if missing:
        raise ValueError(f"missing invariant(s) {missing} to evaluate {expr}")
    if not value.is_integer:
        raise ValueError(f"{expr} is not an integer at {invariants}: {value}")
    return int(value)


def latex_table() -> str:
    """A Markdown table (LaTeX maths) of every closed form, for the notebooks."""
    rows = [
        "| kernel | map | parameter | predicted rank | ambient dim. |",
        "|---|---|---|---|---|",
    ]
    for key, expr in _FORMULAS.items():
        shown = sp.latex(_DISPLAY.get(key, expr), order="none")
        kern, mp, param = key
        rows.append(f"| {kern} | {mp} | {param} | ${shown}$ | ${sp.latex(ambient_dimension(param))}$ |")
    rows.append(f"| *paper (T1)* | any | M | ${sp.latex(paper_claimed_dimension())}$ | $d^{{2}}$ |")
    legend = (
        r"$r=\operatorname{rank}X$, $e=[\mathbf 1\in\operatorname{col}X]$, "
        r"$m$ = matroid components of the nonzero rows of $X$, "
        r"$q_1=\operatorname{rank}XW_Q$, $k_1=\operatorname{rank}XW_K$, "
        rf"$\delta = {sp.latex(delta, order='none')}$ with $e_K=[\mathbf 1\in\operatorname{{col}}XW_K]$."
    )
    return "\n".join(rows) + "\n\n" + legend + "\n"


# ---------------------------------------------------------------------------------
# exact invariants of a rational matrix
# ---------------------------------------------------------------------------------


def _in_column_space(a: sp.MatrixBase, v: sp.MatrixBase) -> int:
    return int(a.cols > 0 and a.row_join(v).rank() == a.rank())


def _matroid_components(x: sp.MatrixBase) -> int:
    r"""Connected components of the linear matroid on the nonzero rows of ``x`` (exact).

    Uses the fundamental-circuit graph of a basis :math:`B`: a non-basis row joins the
    basis rows with nonzero coefficients in its expansion over :math:`B`; this bipartite
    graph has the same components as the matroid.
    """
    rows = [i for i in range(x.rows) if any(v != 0 for v in x.row(i))]
    if not rows:
        return 0
    pivots = x.extract(rows, list(range(x.cols))).T.rref()[1]  # a basis among the rows
    basis = [rows[p] for p in pivots]
    b = x.extract(basis, list(range(x.cols))).T  # columns = basis rows
    parent = {i: i for i in rows}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in rows:
        if i in basis:
            continue
        coeffs, _ = b.gauss_jordan_solve(x.row(i).T)  # unique: b has full column rank
        for j, c in zip(basis, coeffs):
            if c != 0:
                parent[find(i)] = find(j)
    return len({find(i) for i in rows})


def exact_invariants(
    x: sp.MatrixBase, w_q: sp.MatrixBase | None = None, w_k: sp.MatrixBase | None = None
) -> dict[str, int]:
    """The invariants ``r, e, m`` (and ``q1, k1, e_K`` when ``W_Q, W_K`` are given) of a rational ``X``."""
    x = sp.Matrix(x)
    ones = sp.ones(x.rows, 1)
    out = {"r": x.rank(), "e": _in_column_space(x, ones), "m": _matroid_components(x)}
    if w_q is not None and w_k is not None:
        xq, xk = x * sp.Matrix(w_q), x * sp.Matrix(w_k)
        out.update(q1=xq.rank(), k1=xk.rank(), e_K=_in_column_space(xk, ones))
    return out


# ---------------------------------------------------------------------------------
# rank(X ⊗ X) = rank(X)²
# ---------------------------------------------------------------------------------


def _random_integer_matrix(rng: random.Random, rows: int, cols: int, rank_at_most: int | None) -> sp.MatrixBase:
    """Entries in −3..3; a product of ``rows×k`` and ``k×cols`` factors when ``rank_at_most=k``."""
    def block(a: int, b: int) -> sp.MatrixBase:
        return sp.Matrix(a, b, lambda *_: rng.randint(-3, 3))

    if rank_at_most is None:
        return block(rows, cols)
    return block(rows, rank_at_most) * block(rank_at_most, cols)


def kronecker_rank_examples(seed: int = 0, count: int = 8) -> list[sp.MatrixBase]:
    """The zero 2×3 matrix and ``count`` random integer matrices (entries −3..3, shapes up to 4×4).

    Every other one is a product through an inner dimension of 1 or 2, so rank-deficient
    examples are always present.  Deterministic in ``seed``.
    """
    rng = random.Random(seed)
    mats = [sp.zeros(2, 3)]
    for i in range(count):
        rows, cols = rng.randint(1, 4), rng.randint(1, 4)
        mats.append(_random_integer_matrix(rng, rows, cols, None if i % 2 else rng.randint(1, 2)))
    return mats


def prove_kronecker_rank_formula(seed: int = 0, count: int = 8) -> Derivation:
    r"""Check :math:`\operatorname{rank}(X\otimes X) = \operatorname{rank}(X)^2` exactly.

    On :func:`kronecker_rank_examples` (``seed``, ``count``); all ranks are exact
    (rational arithmetic).
    """
    mats = kronecker_rank_examples(seed, count)
    results = [(a.shape, a.rank(), kronecker_product(a, a).rank()) for a in mats]
    holds = all(rk == rx**2 for _, rx, rk in results)
    return Derivation(
        name="kronecker_rank_formula",
        statement_latex=r"\operatorname{rank}(X\otimes X) = \operatorname{rank}(X)^2",
        general="explicit integer matrices only (exact rank)",
        checked_sizes=tuple(shape for shape, _, _ in results),
        holds=holds,
        detail="; ".join(f"{s}: rank {rx}, rank ⊗ {rk}" for s, rx, rk in results),
    )
