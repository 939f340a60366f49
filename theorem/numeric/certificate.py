r"""Exact certificates: the rank of a pulled-back map over :math:`\mathbb{Q}`, at rational inputs.

Every float64 number is a dyadic rational, so the tokens and parameters a measurement used are exact
rational inputs; at them the rank of the Jacobian is a number we can compute without rounding (FLINT's
``fmpq_mat``).  A count certified here is a proof at that input; the float64 measurement sits beside it.

Which Jacobian, exactly:

* **scores**, θ = M: ``∂S_ij/∂M_ab = x_ia x_jb`` (``X ⊗ X``); θ = (W_Q, W_K): ``∂S_ij/∂W_Q[a,c] = x_ia k_jc``,
  ``∂S_ij/∂W_K[a,c] = q_ic x_ja``.  The common factor ``1/√d_k`` is dropped: it does not change the rank.
* **softmax weights**: ``∂A_i/∂S_i = diag(a_i) − a_i a_iᵀ``, whose kernel is ``span(1)`` for *every* strictly
  positive ``a_i`` (it is a weighted Laplacian); a product ``R J_S`` with a block-diagonal ``R`` has rank
  ``rank J_S − dim(ker R ∩ im J_S)``, which depends on ``R`` only through its kernel.  So the rank is
  certified with the rational ``R_i = I − 11ᵀ/n`` in place of the transcendental ``diag(a) − aaᵀ``.
* **poly2 weights**: ``A`` does not change when ``S`` is scaled, so ``S = X M Xᵀ`` (rational) is used; the
  row Jacobian ``(2/Z_i)(diag(f_i) − a_i f_iᵀ)``, ``f_i = S_i``, ``Z_i = Σ_j f_ij²``, is rational.
* **CSQ weights** (centred, shift ``c``): ``f_i = C S_i + c`` with ``C = I − 11ᵀ/n``, row Jacobian
  ``(2/Z_i)(diag(f_i) − a_i f_iᵀ) C``; rational when ``√d_k`` is (``d_k`` a perfect square), else not certified.

:func:`exact_rank` returns None when a certificate is not available (another kernel or map, an irrational
scale), never a guess.
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np

from theorem.kernels import CSQ, Kernel, Poly2, Softmax

__all__ = ["to_fmpq", "exact_rank", "certifiable"]


def to_fmpq(a: np.ndarray) -> flint.fmpq_mat:
    """The exact rational matrix of a float64 array (every float is a dyadic rational) or of an object
    array of ``Fraction`` (:mod:`theorem.numeric.exact_tokens`)."""
    a = np.asarray(a)
    m, n = a.shape
    vals = a.ravel()
    if a.dtype != object:
        vals = [Fraction(float(v)) for v in vals]
    return flint.fmpq_mat(m, n, [flint.fmpq(v.numerator, v.denominator) for v in vals])


def _scores_jacobian(x: flint.fmpq_mat, q: flint.fmpq_mat | None, k: flint.fmpq_mat | None,
                     d: int, n: int, dk: int | None) -> flint.fmpq_mat:
    """Rows (i, j), columns θ, without the common 1/√d_k."""
    if dk is None:
        return flint.fmpq_mat(n * n, d * d, [x[i, a] * x[j, b] for i in range(n) for j in range(n)
                                             for a in range(d) for b in range(d)])
    entries = []
    for i in range(n):
        for j in range(n):
            entries += [x[i, a] * k[j, c] for a in range(d) for c in range(dk)]
            entries += [q[i, c] * x[j, a] for a in range(d) for c in range(dk)]
    return flint.fmpq_mat(n * n, 2 * d * dk, entries)


def _perfect_square_root(m: int) -> int | None:
    r = math.isqrt(m)
    return r if r * r == m else None


def certifiable(kernel: Kernel, map: str, dk: int) -> bool:
    """Whether :func:`exact_rank` can certify this kernel and map."""
    if map == "scores":
        return True
    if map != "weights":
        return False
    if isinstance(kernel, (Softmax, Poly2)):
        return True
    return isinstance(kernel, CSQ) and kernel.center and _perfect_square_root(dk) is not None


def _row_block(kernel: Kernel, s_row: list, n: int) -> flint.fmpq_mat | None:
    """The exact row Jacobian ``∂A_i/∂S_i`` (n×n), or the rational stand-in of the module docstring."""
    ones = flint.fmpq(1, n)
    if isinstance(kernel, Softmax):
        return flint.fmpq_mat(n, n, [(1 if r == c else 0) - ones for r in range(n) for c in range(n)])
    if isinstance(kernel, Poly2):
        f = list(s_row)
        centre = None
    else:
        mean = sum(s_row) / n
        f = [v - mean + kernel._rational_shift for v in s_row]  # set by exact_rank
        centre = flint.fmpq_mat(n, n, [(1 if r == c else 0) - ones for r in range(n) for c in range(n)])
    z = sum(v * v for v in f)
    if z == 0:
        return None  # the row is 0/0: the map is undefined there
    a = [v * v / z for v in f]
    block = flint.fmpq_mat(n, n, [2 * ((f[r] if r == c else 0) - a[r] * f[c]) / z for r in range(n) for c in range(n)])
    return block if centre is None else block * centre


class _ShiftedCSQ:
    """A CSQ kernel with its shift as an exact rational (in units where S = X M Xᵀ has no 1/√d_k)."""

    def __init__(self, kernel: CSQ, root: int):
        self.center = kernel.center
        self._rational_shift = flint.fmpq(*Fraction(float(kernel.shift)).as_integer_ratio()) * root


def exact_rank(x: np.ndarray, kernel: Kernel, map: str, *, m: np.ndarray | None = None,
               w_q: np.ndarray | None = None, w_k: np.ndarray | None = None) -> int | None:
    """The exact rank over Q of the Jacobian of θ ↦ S (``map="scores"``) or θ ↦ A (``"weights"``), at the
    rational tokens ``x`` (float64 or Fraction entries) and parameters (``m`` for the M form, or ``w_q,
    w_k``); None when not certifiable."""
    x = np.asarray(x)
    n, d = x.shape
    dk = d if m is not None else np.asarray(w_q).shape[1]
    if not certifiable(kernel, map, dk):
        return None
    xq = to_fmpq(x)
    if m is not None:
        param_dk = None
        scores = xq * to_fmpq(m) * xq.transpose()
        q = k = None
    else:
        param_dk = dk
        q, k = xq * to_fmpq(w_q), xq * to_fmpq(w_k)
        scores = q * k.transpose()
    jac = _scores_jacobian(xq, q, k, d, n, param_dk)
    if map == "scores":
        return jac.rank()
    row_kernel: object = kernel
    if isinstance(kernel, CSQ):
        row_kernel = _ShiftedCSQ(kernel, _perfect_square_root(dk))
    blocks = []
    for i in range(n):
        block = _row_block(row_kernel, [scores[i, j] for j in range(n)], n)  # type: ignore[arg-type]
        if block is None:
            return None
        blocks.append(block)
    cols = jac.ncols()
    rows = []
    for i, block in enumerate(blocks):
        part = flint.fmpq_mat(n, cols, [jac[i * n + r, c] for r in range(n) for c in range(cols)])
        rows.append(block * part)
    stacked = flint.fmpq_mat(n * n, cols, [rows[i][r, c] for i in range(n) for r in range(n) for c in range(cols)])
    return stacked.rank()
