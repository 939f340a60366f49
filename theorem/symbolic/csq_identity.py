r"""The feature-map identities behind the linear form of CSQ, proved by SymPy at run time.

**Uncentered.** For :math:`q, k \in \mathbb{R}^{d}` and :math:`c \in \mathbb{R}`,

.. math::

    (q\cdot k + c)^2 = \phi(q, c)\cdot\psi(k),\qquad
    \phi = \big(w_{ab}\,q_a q_b\big)_{a\le b} \oplus 2c\,q \oplus c^2,\quad
    \psi = \big(k_a k_b\big)_{a\le b} \oplus k \oplus 1,\quad w_{ab} = 2 - \delta_{ab},

with :math:`D = d(d+1)/2 + d + 1 = (d+1)(d+2)/2` features — the symmetric second-order monomials
of the augmented vectors :math:`[q, c]` and :math:`[k, 1]`, which is how the code builds them.

**Centered (CSQ).** For a query :math:`q` that sees keys :math:`k_1..k_m` (all keys, or a
prefix when causal) with mean :math:`\bar k`, values :math:`v_j`, any reference point
:math:`\mu`, :math:`k'_j = k_j - \mu`, :math:`s > 0`:

.. math::

    \sum_j \big(s\,q\cdot(k_j - \bar k) + c\big)^2 [v_j, 1]
      = \phi(s q, e)^\top \sum_j \psi(k'_j)[v_j, 1]^\top,
    \qquad e = c - s\,q\cdot \tfrac{1}{m}\textstyle\sum_j k'_j ,

so the running sums of :math:`\psi(k')[v, 1]^\top` — i.e. of :math:`1, k, k\otimes k`
(symmetric) and of :math:`v, k v^\top, (k\otimes k) v^\top` — are all the state needed,
:math:`e` included (its :math:`\sum_j k'_j` and :math:`m` are the ones-column of the state).

Two kinds of proof, as in :mod:`.derivations`:

* **general d** — an index-form argument whose every step SymPy checks: the square of a
  sum of :math:`d` terms equals the weighted sum over :math:`a \le b`, by induction on
  :math:`d` (base case, splitting off the last index, pulling constants out of sums,
  Kronecker deltas); the linear term; the feature count :math:`\sum_{b\le d}\sum_{a\le b} 1`;
  the centering rewrite (linearity and :math:`\partial/\partial\mu = 0`); and the state
  factorization (the query features do not depend on the summed index);
* **explicit** — full polynomial expansion at :math:`d = 1..6` (and, for the centered identity,
  a causal sequence of three tokens so every prefix :math:`m = 1, 2, 3` is checked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from theorem.kernels.features import sym2_pairs

from .derivations import Derivation

__all__ = [
    "EXPLICIT_DIMS",
    "square_features",
    "check_square_identity",
    "check_centered_identity",
    "general_square_identity",
    "general_centered_identity",
    "feature_count",
    "square_identity",
    "centered_identity",
    "all_identities",
]

#: explicit head dimensions of the expansion checks
EXPLICIT_DIMS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)


def _vec(name: str, d: int) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{a}", real=True) for a in range(d)]


def _pairs(d: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(d) for b in range(a, d)]


def square_features(q: Sequence[sp.Expr], k: Sequence[sp.Expr], c: sp.Expr) -> tuple[list, list]:
    r"""``(φ(q, c), ψ(k))`` exactly as :class:`theorem.kernels.features.SquaredFeatures` builds them:
    the symmetric second-order monomials of the augmented vectors :math:`[q, c]` and :math:`[k, 1]`, in the
    implementation's order (:func:`~theorem.kernels.features.sym2_pairs`), weights :math:`2-\delta_{ab}`
    on the query side."""
    xq, xk = list(q) + [c], list(k) + [sp.S.One]
    ia, ib = sym2_pairs(len(xq))
    phi = [(1 if a == b else 2) * xq[a] * xq[b] for a, b in zip(ia, ib)]
    psi = [xk[a] * xk[b] for a, b in zip(ia, ib)]
    return phi, psi


FeatureMap = Callable[[Sequence[sp.Expr], Sequence[sp.Expr], sp.Expr], tuple[list, list]]


def check_square_identity(d: int, features: FeatureMap = square_features) -> bool:
    r"""Exact: :math:`(q\cdot k + c)^2 - \phi(q,c)\cdot\psi(k)` expands to 0 at dimension ``d``."""
    q, k, c = _vec("q", d), _vec("k", d), sp.Symbol("c", real=True)
    phi, psi = features(q, k, c)
    if len(phi) != len(psi):
        return False
    lhs = (sum(qa * ka for qa, ka in zip(q, k)) + c) ** 2
    return sp.expand(lhs - sum(p * s for p, s in zip(phi, psi))) == 0


def check_centered_identity(d: int, tokens: int = 3, features: FeatureMap = square_features) -> bool:
    r"""Exact, for a causal sequence of ``tokens`` keys: at every prefix :math:`m` and every key
    :math:`j \le m`, :math:`(s q\cdot(k_j-\bar k_m)+c)^2 = \phi(sq, e_m)\cdot\psi(k_j-\mu)` with
    :math:`e_m = c - s q\cdot\frac1m\sum_{j\le m}\psi(k_j-\mu)_{\text{first order}}\big/\sum_{j\le m}\psi(k_j-\mu)_{\text{const}}`
    read off the state.  Both sides of the output identity are linear in the :math:`v_j`, so
    weight-by-weight equality is the identity for the numerator and the denominator."""
    q = _vec("q", d)
    mu = _vec("mu", d)
    keys = [_vec(f"k{j}", d) for j in range(tokens)]
    c, s = sp.Symbol("c", real=True), sp.Symbol("s", positive=True)
    sq = [s * x for x in q]
    for m in range(1, tokens + 1):
        seen = keys[:m]
        kbar = [sum(kj[a] for kj in seen) / m for a in range(d)]
        psis = [features(sq, [kj[a] - mu[a] for a in range(d)], c)[1] for kj in seen]
        state_1 = [sum(p[r] for p in psis) for r in range(len(psis[0]))]  # Σ_j ψ(k_j − μ)·1
        pairs = list(zip(*sym2_pairs(d + 1)))  # entry (a, d) of ψ is k_a·1, entry (d, d) is 1·1
        first = [state_1[pairs.index((a, d))] for a in range(d)]
        count = state_1[pairs.index((d, d))]
        e = c - sum(sq[a] * first[a] for a in range(d)) / count
        phi = features(sq, [sp.S.Zero] * d, e)[0]
        for kj, psi in zip(seen, psis):
            if len(phi) != len(psi):
                return False
            lhs = (s * sum(q[a] * (kj[a] - kbar[a]) for a in range(d)) + c) ** 2
            if sp.expand(lhs - sum(p * x for p, x in zip(phi, psi))) != 0:
                return False
    return True


# ---------------------------------------------------------------------------------------
# general d: the index-form argument, every step checked
# ---------------------------------------------------------------------------------------

_d = sp.Symbol("d", positive=True, integer=True)
_a, _b, _j = sp.symbols("a b j", positive=True, integer=True)
_q, _k, _mu, _kbar, _v = (sp.IndexedBase(x) for x in ("q", "k", "mu", "kbar", "v"))
_c = sp.Symbol("c", real=True)


def _is_zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


def _square_steps() -> list[tuple[str, bool]]:
    d, a, b, q, k, c = _d, _a, _b, _q, _k, _c
    f = q[a] * k[a]
    X = lambda hi: sp.Sum(f, (a, 1, hi))  # noqa: E731  X_d = q·k over the first d coordinates
    w = 2 - sp.KroneckerDelta(a, b)
    g = w * q[a] * q[b] * k[a] * k[b]  # summand of Q_d = Σ_{b≤d} Σ_{a≤b} g
    y = q[d + 1] * k[d + 1]
    Xs, Qs, ys = sp.symbols("X Q y")
    h = sp.Function("h")
    steps = [
        ("binomial: (X + c)² = X² + 2cX + c²", sp.expand((Xs + c) ** 2 - (Xs**2 + 2 * c * Xs + c**2)) == 0),
        ("summand factors: w_ab q_a q_b k_a k_b = (w_ab q_a q_b)(k_a k_b)",
         sp.expand(g - (w * q[a] * q[b]) * (k[a] * k[b])) == 0),
        ("base d = 1: Q_1 = g(1,1) = (q_1 k_1)² = X_1²",
         _is_zero(sp.Sum(sp.Sum(g, (a, 1, b)), (b, 1, 1)).doit() - X(1).doit() ** 2)),
        ("split the last index: Σ_{b≤d+1} h(b) = Σ_{b≤d} h(b) + h(d+1), h(b) = Σ_{a≤b} g(a,b) the column sum",
         _is_zero(sp.Sum(h(b), (b, 1, d)) + sp.Sum(h(b), (b, d + 1, d + 1)) - sp.Sum(h(b), (b, 1, d + 1)))
         and sp.Sum(h(b), (b, d + 1, d + 1)).doit() == h(d + 1)),
        ("new column splits: Σ_{a≤d+1} g(a,d+1) = Σ_{a≤d} g(a,d+1) + g(d+1,d+1)",
         _is_zero(sp.Sum(g.subs(b, d + 1), (a, 1, d)) + sp.Sum(g.subs(b, d + 1), (a, d + 1, d + 1))
                  - sp.Sum(g.subs(b, d + 1), (a, 1, d + 1)))),
        ("off-diagonal weight 2 (Kronecker δ vanishes for a ≤ d): Σ_{a≤d} g(a,d+1) = 2 y X_d",
         _is_zero(sp.Sum(g.subs(b, d + 1), (a, 1, d)) - 2 * y * X(d))),
        ("diagonal weight 1: g(d+1,d+1) = y²",
         _is_zero(sp.Sum(g.subs(b, d + 1), (a, d + 1, d + 1)).doit() - y**2)),
        ("X_{d+1} = X_d + y",
         _is_zero(X(d) + sp.Sum(f, (a, d + 1, d + 1)) - X(d + 1)) and _is_zero(sp.Sum(f, (a, d + 1, d + 1)).doit() - y)),
        ("induction: Q_d = X_d² and Q_{d+1} = Q_d + 2yX_d + y² give Q_{d+1} = (X_d + y)²",
         sp.expand((Qs + 2 * ys * Xs + ys**2).subs(Qs, Xs**2) - (Xs + ys) ** 2) == 0),
        ("linear term: 2c X_d = Σ_a (2c q_a) k_a", _is_zero(sp.Sum(2 * c * q[a] * k[a], (a, 1, d)) - 2 * c * X(d))),
    ]
    return steps


def feature_count() -> dict[str, sp.Expr]:
    r""":math:`D_2 = \sum_{b=1}^{d}\sum_{a=1}^{b} 1` and :math:`D = D_2 + d + 1`, summed by SymPy for symbolic :math:`d`."""
    bb = sp.Symbol("bb", positive=True, integer=True)
    d2 = sp.factor(sp.summation(sp.summation(1, (_a, 1, bb)), (bb, 1, _d)))
    total = sp.factor(d2 + _d + 1)
    return {"d2": d2, "D": total, "full_square": _d**2 + _d + 1, "saved": sp.factor(_d**2 + _d + 1 - total)}


def general_square_identity() -> Derivation:
    """The uncentered identity for symbolic ``d`` (index-form induction, each step checked)."""
    steps = _square_steps()
    count = feature_count()
    count_ok = sp.simplify(count["d2"] - _d * (_d + 1) / 2) == 0 and sp.simplify(count["D"] - (_d + 1) * (_d + 2) / 2) == 0
    steps.append((f"feature count: D₂ = Σ_b Σ_(a≤b) 1 = {count['d2']}, D = {count['D']}", count_ok))
    holds = all(ok for _, ok in steps)
    return Derivation(
        name="general_square_identity",
        statement_latex=r"(q\cdot k + c)^2 = \sum_{a\le b}(2-\delta_{ab})q_aq_b\,k_ak_b + \sum_a 2c\,q_a\,k_a + c^2",
        general="symbolic d (induction on d, SymPy Sum/Indexed)",
        checked_sizes=(),
        holds=holds,
        detail="; ".join(f"{name}: {'✓' if ok else '✗'}" for name, ok in steps),
    )


def _centered_steps() -> list[tuple[str, bool]]:
    d, a, b, j, q, k, mu, kbar, v, c = _d, _a, _b, _j, _q, _k, _mu, _kbar, _v, _c
    m = sp.Symbol("m", positive=True, integer=True)
    s = sp.Symbol("s", positive=True)
    centered = sp.Sum(q[a] * (k[j, a] - kbar[a]), (a, 1, d))
    shifted = sp.Sum(q[a] * (k[j, a] - mu[a]), (a, 1, d)) - sp.Sum(q[a] * (kbar[a] - mu[a]), (a, 1, d))
    e = c - s * sp.Sum(q[a] * (kbar[a] - mu[a]), (a, 1, d))
    # the state's first-order block: Σ_j (k_j − μ) = m (k̄ − μ) when k̄ is the mean of the m keys
    kbar_def = sp.Sum(k[j, b], (j, 1, m)) / m
    a_ij = s * sp.Sum(q[a] * (k[j, a] - mu[a]), (a, 1, d))
    phi_sym, psi_j = sp.symbols("phi psi_j")
    steps = [
        ("centering with a reference point: q·(k_j − k̄) = q·(k_j − μ) − q·(k̄ − μ)", _is_zero(centered - shifted)),
        ("the weight does not depend on μ: ∂/∂μ_b [s q·(k_j−μ) − s q·(k̄−μ)] = 0",
         _is_zero(sp.diff(s * shifted, mu[b]))),
        ("so s q·(k_j − k̄) + c = a_ij + e_i with a_ij = s q·(k_j−μ), e_i = c − s q·(k̄−μ)",
         _is_zero(s * centered + c - (a_ij + e))),
        ("e_i does not involve the summed key k_j (only q, s, c, μ and k̄)",
         not any(isinstance(x, sp.Indexed) and x.base == k for x in e.atoms(sp.Indexed))),
        ("k̄ − μ from the state: Σ_j (k_j − μ)/m = k̄ − μ",
         _is_zero(sp.Sum(k[j, b] - mu[b], (j, 1, m)) / m - (kbar_def - mu[b]))),
        ("the query features pull out of the sum over keys: Σ_j φ·ψ_j v_j = φ·Σ_j ψ_j v_j",
         _is_zero(sp.Sum(phi_sym * psi_j * v[j], (j, 1, m)) - phi_sym * sp.Sum(psi_j * v[j], (j, 1, m)))),
    ]
    return steps


def general_centered_identity() -> Derivation:
    """The centered identity for symbolic ``d`` and ``m`` (reduces to the square identity with ``c → e_i``)."""
    square = general_square_identity()
    steps = _centered_steps()
    steps.append(("square identity with c → e_i (general d)", square.holds))
    holds = all(ok for _, ok in steps)
    return Derivation(
        name="general_centered_identity",
        statement_latex=(r"\sum_j (s\,q\cdot(k_j-\bar k)+c)^2[v_j,1] = \phi(sq, e)^\top\sum_j\psi(k_j-\mu)[v_j,1]^\top,"
                         r"\ e = c - s\,q\cdot(\bar k-\mu)"),
        general="symbolic d, m (SymPy Sum/Indexed)",
        checked_sizes=(),
        holds=holds,
        detail="; ".join(f"{name}: {'✓' if ok else '✗'}" for name, ok in steps),
    )


def square_identity(dims: Sequence[int] = EXPLICIT_DIMS) -> Derivation:
    """General-d argument plus explicit expansion at each ``d`` in ``dims``."""
    general = general_square_identity()
    explicit = {d: check_square_identity(d) for d in dims}
    return Derivation(
        name="square_identity",
        statement_latex=general.statement_latex,
        general=general.general,
        checked_sizes=tuple(dims),
        holds=general.holds and all(explicit.values()),
        detail=general.detail + " | explicit: " + ", ".join(f"d={d}: {'=' if ok else '≠'}" for d, ok in explicit.items()),
    )


def centered_identity(dims: Sequence[int] = EXPLICIT_DIMS, tokens: int = 3) -> Derivation:
    """General-d argument plus explicit expansion at each ``d`` over a causal sequence of ``tokens`` keys."""
    general = general_centered_identity()
    explicit = {d: check_centered_identity(d, tokens) for d in dims}
    return Derivation(
        name="centered_identity",
        statement_latex=general.statement_latex,
        general=general.general,
        checked_sizes=tuple(dims),
        holds=general.holds and all(explicit.values()),
        detail=general.detail + f" | explicit (prefixes m = 1..{tokens}): "
        + ", ".join(f"d={d}: {'=' if ok else '≠'}" for d, ok in explicit.items()),
    )


def all_identities() -> list[Derivation]:
    return [square_identity(), centered_identity()]
