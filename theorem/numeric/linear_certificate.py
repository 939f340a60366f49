r"""A certified lower bound on the pulled-back dimension of linear attention (elu+1) at a rational input.

``A_ij = T_ij / Z_i`` with ``T_ij = φ(q_i)·φ(k_j)``, ``Z_i = Σ_l T_il``, ``q = x W_Q``, ``k = x W_K`` (no scale)
and ``φ(z) = z + 1`` for ``z > 0``, ``e^z`` for ``z ≤ 0`` (C¹: ``φ'(0) = 1`` from both sides).  The pre-activations
are exact rationals at a rational input, so the branch of every entry is known exactly, and

``∂T_ij/∂W_Q[a,c] = x_ia φ'(q_ic) φ(k_jc)``, ``∂T_ij/∂W_K[a,c] = φ(q_ic) φ'(k_jc) x_ja``,
``∂A_ij = (∂T_ij − A_ij Σ_l ∂T_il) / Z_i``

are enclosed in balls (FLINT ``arb``).  A ``k × k`` minor whose determinant ball excludes 0 proves
``rank J_A ≥ k`` at that input: enough to prove the R3.c counterexample (a rank above ``d²``) exactly.
No upper bound is claimed (the entries are transcendental).
"""

from __future__ import annotations

import flint
import numpy as np

from theorem.numeric.certificate import to_fmpq
from theorem.numeric.output_certificate import PRECISION_BITS, ball_rank_at_least

__all__ = ["linear_rank_at_least"]


def _phi(z: flint.fmpq) -> tuple[flint.arb, flint.arb]:
    """``(φ(z), φ'(z))`` in balls, the branch chosen exactly from the rational ``z``."""
    if z > 0:
        return flint.arb(z) + 1, flint.arb(1)
    e = flint.arb(z).exp()
    return e, e


def linear_rank_at_least(x: np.ndarray, w_q: np.ndarray, w_k: np.ndarray, k: int) -> bool:
    """True when ``rank ∂ vec A/∂(W_Q, W_K) ≥ k`` is proved at the rational input (module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    dk = np.asarray(w_q).shape[1]
    old = flint.ctx.prec
    flint.ctx.prec = PRECISION_BITS
    try:
        xq = to_fmpq(x)
        q, kk = xq * to_fmpq(w_q), xq * to_fmpq(w_k)
        fq = [[_phi(q[i, c]) for c in range(dk)] for i in range(n)]
        fk = [[_phi(kk[j, c]) for c in range(dk)] for j in range(n)]
        xb = [[flint.arb(xq[i, a]) for a in range(d)] for i in range(n)]
        t = [[sum((fq[i][c][0] * fk[j][c][0] for c in range(dk)), flint.arb(0)) for j in range(n)] for i in range(n)]
        z = [sum(row[1:], row[0]) for row in t]
        cols = []
        for a in range(d):  # W_Q[a, c]
            for c in range(dk):
                cols.append([[xb[i][a] * fq[i][c][1] * fk[j][c][0] for j in range(n)] for i in range(n)])
        for a in range(d):  # W_K[a, c]
            for c in range(dk):
                cols.append([[fq[i][c][0] * fk[j][c][1] * xb[j][a] for j in range(n)] for i in range(n)])
        entries = []
        for i in range(n):
            for j in range(n):
                a_ij = t[i][j] / z[i]
                for dt in cols:
                    entries.append((dt[i][j] - a_ij * sum(dt[i][1:], dt[i][0])) / z[i])
        jac = flint.arb_mat(n * n, len(cols), entries)
        return ball_rank_at_least(jac, k)
    finally:
        flint.ctx.prec = old
