"""Small exact-arithmetic helpers shared by the derivations.

Everything here works on explicit ``sympy.Matrix`` objects (fixed sizes), so the
comparisons are exact: a difference is zero iff every entry expands to ``0``.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

__all__ = [
    "symbol_matrix",
    "vec",
    "entrywise_gradient",
    "matrices_equal",
    "difference_entries",
]


def symbol_matrix(name: str, rows: int, cols: int) -> sp.MatrixBase:
    """An explicit ``rows×cols`` matrix of independent real symbols ``name_{ij}``."""
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def vec(a: sp.MatrixBase) -> sp.MatrixBase:
    r"""Column-major vectorization: :math:`\operatorname{vec}(A)` stacks the columns of ``A``.

    ``vec(A)[i + j·rows] = A[i, j]``.
    """
    return sp.Matrix([a[i, j] for j in range(a.cols) for i in range(a.rows)])


def entrywise_gradient(scalar: sp.Expr, param: sp.MatrixBase) -> sp.MatrixBase:
    r"""The matrix :math:`(\partial f/\partial P_{ab})_{ab}`, one derivative per entry of ``P``."""
    return param.applyfunc(lambda p: sp.diff(scalar, p))


def difference_entries(
    lhs: sp.MatrixBase, rhs: sp.MatrixBase, simplifier: Callable[[sp.Expr], sp.Expr] = sp.expand
) -> list[sp.Expr]:
    """The nonzero entries of ``simplifier(lhs − rhs)``; a shape mismatch raises ``ValueError``."""
    if lhs.shape != rhs.shape:
        raise ValueError(f"shapes differ: {lhs.shape} vs {rhs.shape}")
    return [v for v in (simplifier(x) for x in (lhs - rhs)) if v != 0]


def matrices_equal(
    lhs: sp.MatrixBase, rhs: sp.MatrixBase, simplifier: Callable[[sp.Expr], sp.Expr] = sp.expand
) -> bool:
    """Exact equality: same shape and every entry of ``lhs − rhs`` simplifies to ``0``.

    ``sp.expand`` decides equality of polynomials; pass ``sp.simplify`` for rational or
    exponential entries.  A shape mismatch is *unequal*, not an error.
    """
    if lhs.shape != rhs.shape:
        return False
    return not difference_entries(lhs, rhs, simplifier)
