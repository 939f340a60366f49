r"""Exact rank of the softmax attention matrix, certified in exact arithmetic.

**The reduction.**  Take rational tokens ``X`` and rational weights (``M``, or ``W_Q, W_K``),
so the scores without their scale, ``S = X M Xᵀ`` (or ``X W_Q W_Kᵀ Xᵀ``), are rational.  Let
``L`` be the common denominator of the row-shifted scores and ``E_ij = L·(S_ij − min_j S_ij)
∈ ℤ_{≥0}``.  With ``σ = 1/√d_k`` (algebraic) and ``w = exp(σ/L)``,

``A = D⁻¹ exp(σ S) = D'⁻¹ P(w)``,   ``P(z)_ij = z^{E_ij}``,

for positive diagonal ``D, D'`` (the row shift is a positive row scaling), so
``rank A = rank P(w)``.  By the Lindemann–Weierstrass theorem ``w = e^{σ/L}`` is
transcendental (``σ/L`` is algebraic and nonzero), so evaluation at ``w`` is injective on
``ℚ[z]`` and every minor of ``P(w)`` vanishes iff it vanishes as a polynomial in ``z``:

``rank A = rank_{ℚ(z)} P(z)``.

**Computing it exactly.**  ``rank P(z₀) ≤ rank_{ℚ(z)} P`` for every integer ``z₀`` (a minor
nonzero at ``z₀`` is a nonzero polynomial), with exact integer arithmetic.  Conversely a
nonzero ``k``-minor has degree at most the sum ``D_k`` of the ``k`` largest row maxima of
``E``, hence at most ``D_k`` integer roots: if ``rank P(z₀) < k`` at ``D_k + 1`` distinct
points, ``rank_{ℚ(z)} P < k``.  An upper bound also comes from structure: rows of ``S``
that differ by a constant give equal rows of ``E`` (proportional rows of ``A``), columns
likewise, so ``rank ≤ min(#distinct rows of E, #column classes)``.  The certificate stops as
soon as the evaluation bound meets the structural one.

**What it shows.**  At the explicit sizes of :data:`GENERIC_SIZES`, one rational point
with rank ``n`` proves that the softmax attention matrix has rank ``n`` for almost every
``(X, W)`` of that size: ``det A`` is real-analytic in ``(X, W)`` and not identically zero.
Including ``d = d_k = 1`` (scores of rank 1): ``exp`` of a rank-one matrix is already full
rank.  For every size at once, :func:`gaussian_kernel_identity` checks the identity
``e^{x·y} = e^{|x|²/2} e^{|y|²/2} e^{−|x−y|²/2}``: with ``M = I`` (or ``M`` symmetric positive
definite) ``exp(X M Xᵀ)`` is a positive diagonal congruence of a Gaussian-kernel Gram
matrix, which is positive definite for distinct points (Schoenberg 1938; Micchelli 1986) —
rank ``n`` whenever the tokens are distinct, so generically in ``M`` as well.

Where it is **not** full rank: repeated tokens (rank = number of distinct tokens,
:func:`repeated_token_certificates`), and special weights that make score rows differ by
constants (:func:`special_weights_certificate`: distinct tokens, rank 1).  A causal mask
makes ``A`` triangular with positive diagonal: rank ``n`` for every input.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import reduce

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "SoftmaxRankCertificate",
    "IdentityCheck",
    "GENERIC_SIZES",
    "certify_softmax_rank",
    "exponent_matrix",
    "polynomial_rank",
    "generic_full_rank_certificates",
    "repeated_token_certificates",
    "special_weights_certificate",
    "gaussian_kernel_identity",
    "all_certificates",
]

#: explicit sizes (n, d, d_k) — d_k = None is the M form — certified generically full rank
GENERIC_SIZES: tuple[tuple[int, int, int | None], ...] = (
    (2, 1, 1),
    (3, 1, 1),
    (4, 1, 1),
    (5, 1, 1),
    (4, 2, 1),
    (5, 2, 2),
    (6, 2, None),
    (6, 3, 2),
    (5, 4, None),
    (7, 2, 2),
)

#: evaluation points tried before the exhaustive degree argument is needed
_POINTS = (2, 3, 5, 7, 11, 13)
_MAX_POINTS = 4000


@dataclass(frozen=True)
class SoftmaxRankCertificate:
    """The exact rank of one softmax attention matrix, and how it was established.

    ``rank`` is ``rank_{ℚ(z)} P(z) = rank A`` when ``certified`` (lower bound from
    evaluations equals an upper bound), else ``None`` with ``lower ≤ rank A ≤ upper``.
    ``holds`` says whether the certified rank equals ``expected``.
    """

    name: str
    n: int
    d: int
    dk: int | None
    tokens: tuple[tuple[str, ...], ...]
    weights: tuple[tuple[tuple[str, ...], ...], ...]  # (M,) or (W_Q, W_K)
    scale: str
    denominator: int
    exponents: tuple[tuple[int, ...], ...]
    distinct_tokens: int
    lower: int
    upper: int
    points: tuple[int, ...]
    rank: int | None
    expected: int | None
    holds: bool
    detail: str

    @property
    def certified(self) -> bool:
        return self.rank is not None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "n": self.n,
            "d": self.d,
            "d_k": self.dk,
            "tokens": [list(r) for r in self.tokens],
            "weights": [[list(r) for r in w] for w in self.weights],
            "exact_rank": self.rank,
            "expected": self.expected,
            "distinct_tokens": self.distinct_tokens,
            "bounds": [self.lower, self.upper],
            "evaluation_points": list(self.points),
            "holds": self.holds,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class IdentityCheck:
    """A symbolic identity checked by SymPy (``holds`` computed, never typed in)."""

    name: str
    statement: str
    holds: bool
    detail: str


# ---------------------------------------------------------------------------------
# exact arithmetic helpers
# ---------------------------------------------------------------------------------


def _rational_matrix(a, name: str) -> sp.Matrix:
    try:
        m = sp.Matrix(a)
    except Exception as err:  # noqa: BLE001 - report the argument
        raise ValueError(f"{name}: not a matrix ({err})") from None
    if m.rows == 0 or m.cols == 0:
        raise ValueError(f"{name}: empty matrix")
    out = m.applyfunc(sp.nsimplify) if any(isinstance(v, sp.Float) for v in m) else m
    if not all(v.is_Rational for v in out):
        raise ValueError(f"{name}: entries must be rational numbers (exact), got {out}")
    return out


def _integer_rank(rows: list[list[int]]) -> int:
    """Exact rank of an integer matrix (SymPy DomainMatrix over ℚ)."""
    if not rows or not rows[0]:
        return 0
    return DomainMatrix([[QQ(v) for v in r] for r in rows], (len(rows), len(rows[0])), QQ).rank()


def exponent_matrix(scores: sp.Matrix) -> tuple[list[list[int]], int]:
    """``(E, L)`` with ``E_ij = L·(S_ij − min_j S_ij)`` nonnegative integers, ``L`` the least
    common denominator."""
    shifted = [[scores[i, j] - min(scores.row(i)) for j in range(scores.cols)] for i in range(scores.rows)]
    dens = [sp.Rational(v).q for row in shifted for v in row]
    lcm = reduce(lambda a, b: a * b // math.gcd(a, b), dens, 1)
    e = [[int(sp.Rational(v) * lcm) for v in row] for row in shifted]
    return e, lcm


def _classes(rows: list[tuple]) -> int:
    return len(set(rows))


def _structural_upper(e: list[list[int]]) -> int:
    """``min(#distinct rows of E, #column classes)`` (columns equal up to a constant)."""
    n, m = len(e), len(e[0])
    rows = _classes([tuple(r) for r in e])
    cols = _classes([tuple(e[i][j] - e[0][j] for i in range(n)) for j in range(m)])
    return min(rows, cols)


def polynomial_rank(e: list[list[int]]) -> tuple[int, int, tuple[int, ...], bool]:
    """``(lower, upper, points, exact)`` for ``rank_{ℚ(z)} [z^{E_ij}]`` (module doc).

    Evaluates at small primes first; while the evaluation bound ``ℓ`` stays below the
    structural one, it evaluates at all integers ``2 … D + 1`` (``D`` the degree bound of an
    ``(ℓ+1)``-minor): if none raises the rank, ``rank = ℓ`` exactly.  ``exact`` is False only
    when that would need more than 4000 points.
    """
    if not e or not e[0]:
        return 0, 0, (), True
    upper = _structural_upper(e)
    ranks: dict[int, int] = {}

    def at(z0: int) -> int:
        if z0 not in ranks:
            ranks[z0] = _integer_rank([[z0**v for v in row] for row in e])
        return ranks[z0]

    lower = 0
    for z0 in _POINTS:
        lower = max(lower, at(z0))
        if lower == upper:
            return lower, upper, tuple(ranks), True
    while True:
        degree = sum(sorted((max(r) for r in e), reverse=True)[: lower + 1])
        if degree + 1 > _MAX_POINTS:
            return lower, upper, tuple(ranks), False
        raised = False
        for z0 in range(2, degree + 3):  # degree + 1 distinct points
            if at(z0) > lower:
                lower = at(z0)
                raised = True
                break
        if lower == upper or not raised:
            return lower, lower if not raised else upper, tuple(ranks), True


def _fmt(m: sp.Matrix) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(m[i, j]) for j in range(m.cols)) for i in range(m.rows))


# ---------------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------------


def certify_softmax_rank(
    x,
    *,
    m=None,
    w_q=None,
    w_k=None,
    expected: int | None = None,
    name: str = "softmax attention",
) -> SoftmaxRankCertificate:
    """Exact ``rank A`` for ``A = softmax(X M Xᵀ/√d)`` or ``softmax(X W_Q W_Kᵀ Xᵀ/√d_k)``.

    ``x`` and the weights must be rational (integers, ``Fraction``, SymPy rationals; a float is
    replaced by the rational ``sympy.nsimplify`` finds for it).
    ``expected`` (default: the number of distinct tokens) is what ``holds`` compares with.
    """
    xm = _rational_matrix(x, "x")
    n, d = xm.shape
    if m is not None:
        if w_q is not None or w_k is not None:
            raise ValueError("give either m or (w_q, w_k), not both")
        mm = _rational_matrix(m, "m")
        if mm.shape != (d, d):
            raise ValueError(f"m: needs shape ({d}, {d}), got {mm.shape}")
        scores = xm * mm * xm.T
        dk, weights, scale = None, (_fmt(mm),), f"1/sqrt({d})"
    else:
        if w_q is None or w_k is None:
            raise ValueError("give m, or both w_q and w_k")
        wq, wk = _rational_matrix(w_q, "w_q"), _rational_matrix(w_k, "w_k")
        if wq.shape != wk.shape or wq.rows != d:
            raise ValueError(f"w_q, w_k: need equal shapes (d, d_k) with d = {d}, got {wq.shape}, {wk.shape}")
        scores = xm * wq * wk.T * xm.T
        dk, weights, scale = wq.cols, (_fmt(wq), _fmt(wk)), f"1/sqrt({wq.cols})"
    e, lcm = exponent_matrix(scores)
    distinct = len({tuple(xm.row(i)) for i in range(n)})
    lower, upper, points, exact = polynomial_rank(e)
    rank = lower if exact else None
    target = distinct if expected is None else int(expected)
    holds = rank is not None and rank == target
    how = (
        f"rank P(z₀) = {lower} at z₀ ∈ {list(points)} meets the structural bound {upper}"
        if exact and lower == upper
        else (f"rank P(z₀) ≤ {lower} at {len(points)} points, more than the degree of any "
              f"{lower + 1}-minor: rank_ℚ(z) P = {lower}" if exact else f"{lower} ≤ rank ≤ {upper}")
    )
    detail = (f"w = exp({scale}/{lcm}) is transcendental (Lindemann–Weierstrass), so rank A = "
              f"rank_ℚ(z) [z^E]; {how}")
    return SoftmaxRankCertificate(
        name, n, d, dk, _fmt(xm), weights, scale, lcm, tuple(tuple(r) for r in e), distinct,
        lower, upper, points, rank, target, holds, detail,
    )


def _distinct_integer_tokens(rng: random.Random, n: int, d: int, lo: int = -2, hi: int = 2) -> list[list[int]]:
    seen: set[tuple[int, ...]] = set()
    rows = []
    while len(rows) < n:
        row = tuple(rng.randint(lo, hi) for _ in range(d))
        if row not in seen:
            seen.add(row)
            rows.append(list(row))
    return rows


def _nonzero_integer_matrix(rng: random.Random, r: int, c: int) -> list[list[int]]:
    while True:
        m = [[rng.randint(-1, 1) for _ in range(c)] for _ in range(r)]
        if any(v for row in m for v in row):
            return m


def generic_full_rank_certificates(
    sizes: tuple[tuple[int, int, int | None], ...] = GENERIC_SIZES, seed: int = 0
) -> list[SoftmaxRankCertificate]:
    """One exact rational point per size with ``rank A = n`` (distinct integer tokens).

    A point is redrawn (deterministically) when it is one of the special ones; the
    certificate records the point used.  One full-rank point proves generic rank ``n`` at
    that size (module doc).
    """
    rng = random.Random(seed)
    out = []
    for n, d, dk in sizes:
        if n > (5**d):
            raise ValueError(f"sizes: n = {n} distinct tokens need more than 5^{d} integer points")
        cert = None
        for _ in range(20):
            x = _distinct_integer_tokens(rng, n, d)
            if dk is None:
                cert = certify_softmax_rank(x, m=_nonzero_integer_matrix(rng, d, d), expected=n,
                                            name=f"generic point n={n}, d={d}, M form")
            else:
                cert = certify_softmax_rank(
                    x, w_q=_nonzero_integer_matrix(rng, d, dk), w_k=_nonzero_integer_matrix(rng, d, dk),
                    expected=n, name=f"generic point n={n}, d={d}, d_k={dk}",
                )
            if cert.holds:
                break
        out.append(cert)
    return out


def repeated_token_certificates(seed: int = 1) -> list[SoftmaxRankCertificate]:
    """Tokens with repeats: the exact rank is the number of distinct tokens, not ``n``."""
    rng = random.Random(seed)
    out = []
    for n, d, repeats in ((2, 1, 1), (4, 2, 1), (5, 2, 2), (6, 3, 3)):
        base = _distinct_integer_tokens(rng, n - repeats, d)
        x = base + [base[i % len(base)] for i in range(repeats)]
        cert = None
        for _ in range(20):
            cert = certify_softmax_rank(x, m=_nonzero_integer_matrix(rng, d, d),
                                        name=f"repeated tokens n={n}, d={d}, {repeats} repeat(s)")
            if cert.holds:
                break
        out.append(cert)
    return out


def special_weights_certificate(n: int = 4) -> SoftmaxRankCertificate:
    """Distinct tokens ``(1, a_i)`` and ``M = [[0, 0], [1, 0]]``: ``S_ij = a_i`` (constant rows),
    so ``A = 11ᵀ/n`` has rank 1 — full rank needs generic weights, not only distinct tokens."""
    if n < 2:
        raise ValueError(f"n must be ≥ 2, got {n}")
    x = [[1, i] for i in range(n)]
    return certify_softmax_rank(x, m=[[0, 0], [1, 0]], expected=1, name=f"special weights, n={n}")


def gaussian_kernel_identity(d: int = 3) -> IdentityCheck:
    """SymPy check of ``e^{x·y} = e^{|x|²/2} e^{|y|²/2} e^{−|x−y|²/2}`` for symbolic ``x, y ∈ R^d``."""
    if d < 1:
        raise ValueError(f"d must be ≥ 1, got {d}")
    x = sp.symbols(f"x0:{d}", real=True)
    y = sp.symbols(f"y0:{d}", real=True)
    dot = sum(a * b for a, b in zip(x, y))
    nx = sum(a * a for a in x)
    ny = sum(b * b for b in y)
    dist = sum((a - b) ** 2 for a, b in zip(x, y))
    lhs = sp.exp(dot)
    rhs = sp.exp(nx / 2) * sp.exp(ny / 2) * sp.exp(-dist / 2)
    holds = sp.simplify(sp.powsimp(rhs / lhs, force=True)) == 1
    return IdentityCheck(
        "gaussian-kernel factorization",
        "exp(x·y) = exp(|x|²/2)·exp(|y|²/2)·exp(−|x−y|²/2)",
        bool(holds),
        f"checked by SymPy for symbolic x, y ∈ R^{d}: exp(X Xᵀ) = D G D with D = diag(e^{{|x_i|²/2}}) "
        "and G the Gaussian-kernel Gram matrix, positive definite for distinct rows "
        "(Schoenberg 1938; Micchelli 1986)",
    )


def all_certificates() -> dict[str, list]:
    """Every certificate of this module, grouped."""
    return {
        "generic": generic_full_rank_certificates(),
        "repeated": repeated_token_certificates(),
        "special_weights": [special_weights_certificate()],
        "identity": [gaussian_kernel_identity()],
    }
