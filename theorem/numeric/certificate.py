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
* **poly2 / CSQ output**: row ``i`` of ``dO`` is ``Vᵀ (∂A_i/∂S_i) dS_i`` with ``V = X W_V``: the same rational
  row Jacobians, left-multiplied by the rational ``Vᵀ``.  (Softmax's output is not rational:
  :mod:`theorem.numeric.output_certificate` certifies it in ball arithmetic.)
* **CSQ weights** (centred, shift ``c``): ``f_i = C S_i + c`` with ``C = I − 11ᵀ/n``, row Jacobian
  ``(2/Z_i)(diag(f_i) − a_i f_iᵀ) C``; rational when ``√d_k`` is (``d_k`` a perfect square).  Otherwise, with a
  shift ``c > 0``, the entries ``f_ij = u_ij + c√d_k`` (``u_i = C S_i``, rational) are irrational, hence never
  0, and the kernel of the row Jacobian is ``{v : C v ∈ span f_i} = span(1)`` (``C v ⊥ 1`` while
  ``1ᵀ f_i = n c √d_k ≠ 0``): the same kernel as softmax's, so the weights rank is certified with the same
  rational stand-in ``R_i = C``.  (The output map sees ``R_i`` itself, not only its kernel: not certified there.)

:func:`exact_rank` returns None when a certificate is not available (another kernel or map, an irrational
scale), never a guess.
"""

from __future__ import annotations

import math
from fractions import Fraction

import flint
import numpy as np

from theorem.kernels import CSQ, Kernel, Poly2, Softmax

__all__ = ["to_fmpq", "exact_rank", "exact_jacobian", "exact_parts", "modular_rank", "stack_row_blocks", "certifiable"]


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
    if map not in ("weights", "output"):
        return False
    if isinstance(kernel, Poly2) or (isinstance(kernel, Softmax) and map == "weights"):
        return True
    if not (isinstance(kernel, CSQ) and kernel.center):
        return False
    return _perfect_square_root(dk) is not None or (map == "weights" and _shift_positive(kernel))


def _shift_positive(kernel: CSQ) -> bool:
    try:
        return float(kernel.shift) > 0
    except TypeError:  # a traced shift: no certificate
        return False


def _row_block(kernel: object, s_row: list, n: int) -> flint.fmpq_mat | None:
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


def exact_parts(x: np.ndarray, kernel: Kernel, *, m: np.ndarray | None = None, w_q: np.ndarray | None = None,
                w_k: np.ndarray | None = None) -> tuple[flint.fmpq_mat, flint.fmpq_mat]:
    """``(scores, J_S)`` in exact rationals: ``S = X M Xᵀ`` or ``(X W_Q)(X W_K)ᵀ`` (without ``1/√d_k``) and the
    scores Jacobian, rows ``(i, j)`` and columns θ, also without ``1/√d_k``."""
    x = np.asarray(x)
    n, d = x.shape
    xq = to_fmpq(x)
    if m is not None:
        return xq * to_fmpq(m) * xq.transpose(), _scores_jacobian(xq, None, None, d, n, None)
    q, k = xq * to_fmpq(w_q), xq * to_fmpq(w_k)
    return q * k.transpose(), _scores_jacobian(xq, q, k, d, n, np.asarray(w_q).shape[1])


def exact_jacobian(x: np.ndarray, kernel: Kernel, map: str, *, m: np.ndarray | None = None,
                   w_q: np.ndarray | None = None, w_k: np.ndarray | None = None,
                   w_v: np.ndarray | None = None) -> flint.fmpq_mat | None:
    """The Jacobian of :func:`exact_rank` as an exact rational matrix (the rational stand-in for softmax's
    weights), or None when not certifiable."""
    x = np.asarray(x)
    n, d = x.shape
    dk = d if m is not None else np.asarray(w_q).shape[1]
    if not certifiable(kernel, map, dk):
        return None
    scores, jac = exact_parts(x, kernel, m=m, w_q=w_q, w_k=w_k)
    if map == "scores":
        return jac
    row_kernel: object = kernel
    if isinstance(kernel, CSQ):
        root = _perfect_square_root(dk)
        # irrational √d_k, shift c > 0 (weights only): the centring stand-in, see the module docstring
        row_kernel = Softmax() if root is None else _ShiftedCSQ(kernel, root)
    left = None
    if map == "output":
        if w_v is None:
            raise ValueError("w_v: the output map needs the value map W_V")
        left = (to_fmpq(x) * to_fmpq(w_v)).transpose()  # Vᵀ: row i of dO is Vᵀ (∂A_i/∂S_i) dS_i
    blocks = []
    for i in range(n):
        block = _row_block(row_kernel, [scores[i, j] for j in range(n)], n)  # type: ignore[arg-type]
        if block is None:
            return None
        blocks.append(block if left is None else left * block)
    return stack_row_blocks(blocks, jac, n)


def exact_rank(x: np.ndarray, kernel: Kernel, map: str, *, m: np.ndarray | None = None,
               w_q: np.ndarray | None = None, w_k: np.ndarray | None = None,
               w_v: np.ndarray | None = None) -> int | None:
    """The exact rank over Q of the Jacobian of θ ↦ S (``map="scores"``), θ ↦ A (``"weights"``) or θ ↦ A X W_V
    (``"output"``, poly2 and CSQ only: softmax's output Jacobian depends on the transcendental weights
    themselves, see :mod:`theorem.numeric.output_certificate`), at the rational tokens ``x`` (float64 or
    Fraction entries) and parameters (``m`` for the M form, or ``w_q, w_k``; ``w_v`` for the output);
    None when not certifiable."""
    jac = exact_jacobian(x, kernel, map, m=m, w_q=w_q, w_k=w_k, w_v=w_v)
    return None if jac is None else jac.rank()


PRIMES = (2**61 - 1, 2**31 - 1)


def modular_rank(mat: flint.fmpq_mat) -> int:
    """A lower bound on ``rank mat`` over Q: the largest rank of ``D·mat`` modulo the primes :data:`PRIMES`
    (``D`` the common denominator; reducing an integer matrix mod p can only lose rank).  Fast: the entries'
    size does not enter the elimination."""
    numer = mat.numer_denom()[0]
    return max(flint.nmod_mat(numer, p).rank() for p in PRIMES)


def stack_row_blocks(blocks: list, jac, n: int):
    """``[R_0 J_S[0]; R_1 J_S[1]; …]``: row block ``i`` of the scores Jacobian ``J_S`` (rows ``(i, j)``) left-
    multiplied by ``R_i`` (``∂A_i/∂S_i``, or ``Vᵀ ∂A_i/∂S_i`` for the output map); same matrix type as ``jac``."""
    cols = jac.ncols()
    kind = type(jac)
    rows = []
    for i, block in enumerate(blocks):
        part = kind(n, cols, [jac[i * n + r, c] for r in range(n) for c in range(cols)])
        rows.append(block * part)
    height = blocks[0].nrows() if blocks else 0
    return kind(n * height, cols, [rows[i][r, c] for i in range(n) for r in range(height) for c in range(cols)])
