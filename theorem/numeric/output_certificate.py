r"""Exact certificate of the output map's dimension at the user's own input (python-flint).

The closed form (:mod:`theorem.symbolic.output_rank`) is ``β = min(w, n'·p)``: ``w`` the weights map's
dimension, ``n'`` the distinct tokens, ``p = rank(X W_V)``; ``rank J_O ≤ β`` holds for every input.  At the
input itself (float64 numbers are dyadic rationals) this module computes:

* ``w`` exactly (:func:`theorem.numeric.certificate.exact_rank`, map ``weights``), ``n'`` by exact row
  equality, ``p`` as the rank over ``Q`` of ``X W_V``: the bound ``β`` is then exact;
* **poly2 / CSQ**: ``rank J_O`` itself over ``Q`` (the weights are rational at rational inputs) — a proof of
  the dimension at that input, whether or not it equals ``β``;
* **softmax**: ``J_O`` in ball arithmetic (FLINT's ``arb``, 192 bits): rows ``(i, b)`` are
  ``Vᵀ (diag(a_i) − a_i a_iᵀ) ∂S_i/∂θ`` with ``a_i = softmax(S_i/√d_k)`` enclosed in balls.  A ``β × β``
  minor (rows and columns chosen by pivoted QR of the midpoints) whose determinant ball excludes 0 proves
  ``rank J_O ≥ β``; with the bound, ``rank J_O = β`` exactly.  If the ball contains 0 nothing is claimed.

A certified ``rank J_O = β`` at one ``(θ, W_V)`` also proves ``β`` for almost every ``(θ, W_V)`` at those
tokens (the entries are analytic in them: :mod:`theorem.symbolic.output_rank`).  Inputs whose weights
Jacobian ``J_A`` has more than ``max_entries`` entries (``n²·|θ|``) are not certified (the exact matrices are
built entry by entry; about a second at the limit); the result says so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import flint
import numpy as np
import scipy.linalg

from theorem.kernels import Kernel, Softmax
from theorem.numeric.certificate import exact_jacobian, exact_parts, modular_rank, stack_row_blocks, to_fmpq
from theorem.symbolic.output_rank import evaluate_output_bound

__all__ = ["OutputCertificate", "ball_rank_at_least", "certify_output", "MAX_ENTRIES", "PRECISION_BITS"]

MAX_ENTRIES = 10_000  # entries of the n² × |θ| weights Jacobian J_A (≈ 1 s of FLINT at the limit)
PRECISION_BITS = 192


@dataclass(frozen=True)
class OutputCertificate:
    """The output map's dimension at one input: exact (``rank``) or not certified (``rank is None``)."""

    rank: int | None
    bound: int | None  # β = min(w, n'·p), exact
    w: int | None  # None when only w ≥ n'·p was needed (a modular rank proves it)
    n_distinct: int
    p: int | None
    method: str
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _distinct_rows(x: np.ndarray) -> int:
    """Number of distinct rows, by exact equality (the float64 entries are exact rationals)."""
    return int(np.unique(np.asarray(x, dtype=np.float64), axis=0).shape[0])


def ball_rank_at_least(jac: flint.arb_mat, k: int) -> bool:
    """True when a ``k × k`` minor of ``jac`` (rows and columns picked by pivoted QR of the midpoints) has a
    determinant ball that excludes 0: a proof that ``rank ≥ k``."""
    if k == 0:
        return True
    mid = np.array([[float(v.mid()) for v in row] for row in jac.tolist()])
    if min(mid.shape) < k:
        return False
    cols = scipy.linalg.qr(mid, pivoting=True, mode="r")[1][:k]
    rows = scipy.linalg.qr(mid[:, cols].T, pivoting=True, mode="r")[1][:k]
    minor = flint.arb_mat(k, k, [jac[int(r), int(c)] for r in rows for c in cols])
    return not minor.det().contains(0)


def _softmax_output_jacobian(x: np.ndarray, w_v: np.ndarray, dk: int, **params) -> flint.arb_mat:
    """``J_O`` (rows ``(i, b)``, columns θ) in balls, without the common ``1/√d_k`` of ``∂S/∂θ``."""
    n = x.shape[0]
    scores, jac = exact_parts(x, Softmax(), **params)
    vt = flint.arb_mat((to_fmpq(x) * to_fmpq(w_v)).transpose())
    root = flint.arb(dk).sqrt()
    blocks = []
    for i in range(n):
        s = [flint.arb(scores[i, j]) / root for j in range(n)]
        top = max(float(v.mid()) for v in s)
        e = [(v - top).exp() for v in s]
        z = sum(e[1:], e[0])
        a = [v / z for v in e]
        rj = flint.arb_mat(n, n, [(a[r] if r == c else 0) - a[r] * a[c] for r in range(n) for c in range(n)])
        blocks.append(vt * rj)
    return stack_row_blocks(blocks, flint.arb_mat(jac), n)


def certify_output(x: np.ndarray, kernel: Kernel, w_v: np.ndarray, *, m: np.ndarray | None = None,
                   w_q: np.ndarray | None = None, w_k: np.ndarray | None = None,
                   max_entries: int = MAX_ENTRIES) -> OutputCertificate:
    """The certificate of the module docstring for the head ``(x, m | (w_q, w_k), w_v)`` and ``kernel``.

    ``β`` needs ``w`` only when ``n'·p`` exceeds it: a modular rank of ``J_A`` (a lower bound on ``w``) at least
    ``n'·p`` settles ``β = n'·p`` without the exact rank of the ``n² × |θ|`` matrix ``J_A``.
    """
    start = time.perf_counter()
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    params = {"m": m} if m is not None else {"w_q": w_q, "w_k": w_k}
    dk = d if m is not None else np.asarray(w_q).shape[1]
    n_distinct = _distinct_rows(x)
    size = n * n * (d * d if m is not None else 2 * d * dk)

    def done(rank, bound, w, p, method):
        return OutputCertificate(rank, bound, w, n_distinct, p, method, round(time.perf_counter() - start, 4))

    if size > max_entries:
        return done(None, None, None, None, f"not certified at this size: J_A has {size} entries (> {max_entries})")
    old = flint.ctx.prec
    flint.ctx.prec = PRECISION_BITS
    try:
        p = (to_fmpq(x) * to_fmpq(w_v)).rank()
        j_a = exact_jacobian(x, Softmax() if isinstance(kernel, Softmax) else kernel, "weights", **params)
        if j_a is None:
            return done(None, None, None, p, f"not certified: the weights of {kernel.describe()} are not rational "
                                             "at rational inputs (CSQ needs centring and a perfect-square d_k), "
                                             "or a row of T sums to 0")
        w_low = modular_rank(j_a)
        w = None if w_low >= n_distinct * p else j_a.rank()  # None: only w ≥ n'·p is needed (and proved)
        bound = n_distinct * p if w is None else evaluate_output_bound(w, n_distinct, p)
        if not isinstance(kernel, Softmax):
            j_o = exact_jacobian(x, kernel, "output", w_v=w_v, **params)
            if j_o is None:  # e.g. CSQ at a d_k that is not a perfect square: its weights' stand-in has no output
                return done(None, bound, w, p, f"not certified: the output Jacobian of {kernel.describe()} is not "
                                               "rational at rational inputs (CSQ needs a perfect-square d_k)")
            if modular_rank(j_o) == bound:
                return done(bound, bound, w, p, "modular rank of J_O meets the proved upper bound min(w, n'·p)")
            return done(j_o.rank(), bound, w, p, "exact rank over Q (FLINT fmpq_mat)")
        jac = _softmax_output_jacobian(x, np.asarray(w_v), dk, **params)
        if ball_rank_at_least(jac, bound):
            return done(bound, bound, w, p, f"ball arithmetic ({PRECISION_BITS} bits): a {bound}×{bound} minor "
                                            "is nonzero, meeting the proved upper bound min(w, n'·p)")
        return done(None, bound, w, p, "not certified: the ball determinant of the chosen minor contains 0")
    finally:
        flint.ctx.prec = old
