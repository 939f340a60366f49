"""First-order bounds on the rounding error of ``T`` and ``A`` computed in float64.

``T`` and its factors (the scores, the squared quantity ``f`` of poly2/CSQ, the features of elu+1)
come from the kernel (:mod:`theorem.numeric.attention_rank.kernel_parts`); only the error
arithmetic is here.
"""

from __future__ import annotations

import math

import numpy as np

from theorem.kernels import CSQ, Kernel, LinearElu, Softmax
from theorem.numeric.attention_rank.inputs import EPS, QK, check_kernel, factors
from theorem.numeric.attention_rank.kernel_parts import score_parts

__all__ = ["t_with_error", "undefined_rows", "weights_error_bound"]


def t_with_error(kernel: Kernel, q: np.ndarray, kk: np.ndarray, dq: np.ndarray, dkk: np.ndarray,
                 causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's ``T`` (softmax: shifted by the row max) and an entrywise first-order bound on its error.

    ``δq, δk`` bound the errors of the factors.  Scores: ``δS ≤ (d_k+2)·eps·|q||k|ᵀ/√d_k +
    (δq|k|ᵀ + |q|δkᵀ)/√d_k``.  Softmax: relative error ``δS_ij + δS_{i,argmax} + eps(|S_ij − max| + 1)``.
    Squared kernels (``T = f²``, ``f = S − mean + c``): ``δT = 2|f|δf + eps·f² + δf²`` with ``δf`` including
    the centering mean's error.  elu+1 (``T = φ_Q φ_Kᵀ``, ``|φ'| ≤ φ``): ``δT ≤ (d_k+4)·eps·T + (φ_Q∘δq)φ_Kᵀ
    + φ_Q(φ_K∘δk)ᵀ``.
    """
    n, dk = q.shape
    vis = np.tril(np.ones((n, n))) if causal else np.ones((n, n))
    parts = score_parts(kernel, q, kk, causal)
    t = parts.t
    if isinstance(kernel, LinearElu):
        fq, fk = parts.features
        dt = (dk + 4) * EPS * t + ((fq * dq) @ fk.T + fq @ (fk * dkk).T) * vis
        return t, dt
    if parts.s is None:
        raise ValueError(f"kernel: no rounding bound for {kernel.describe()}")
    s = parts.s
    sc = math.sqrt(dk)
    aq, ak = np.abs(q), np.abs(kk)
    ds = (dk + 2) * EPS * (aq @ ak.T) / sc + (dq @ ak.T + aq @ dkk.T) / sc
    if isinstance(kernel, Softmax):
        sm = np.where(vis > 0, s, -np.inf)
        arg = np.argmax(sm, axis=1)
        x = np.where(vis > 0, s - sm[np.arange(n), arg][:, None], 0.0)
        rel = ds + ds[np.arange(n), arg][:, None] + EPS * (np.abs(x) + 1.0)
        return t, t * rel
    if parts.f is None:
        raise ValueError(f"kernel: no rounding bound for {kernel.describe()}")
    f = parts.f
    c = float(kernel.shift) if isinstance(kernel, CSQ) else 0.0
    if kernel.centers_keys:
        cnt = vis.sum(axis=1, keepdims=True)
        mean_abs = np.abs(s + c - f) * vis  # |row mean| (f = S − mean + c)
        dmean = (vis * ds).sum(axis=1, keepdims=True) / cnt + (cnt + 1) * EPS * (
            (vis * np.abs(s)).sum(axis=1, keepdims=True) / cnt
        )
    else:
        mean_abs = np.zeros((n, n))
        dmean = np.zeros((n, 1))
    df = ds + dmean + 2 * EPS * (np.abs(s) + mean_abs + c)
    dt = (2 * np.abs(f) * df + EPS * f**2 + df**2) * vis
    return t, dt


def undefined_rows(kernel: Kernel | str, head_or_q: QK, k: np.ndarray | None = None,
                   causal: bool = False) -> np.ndarray:
    """Indices ``i`` where ``Σ_j T_ij`` is 0 or within its rounding error of 0 (``A_i`` is 0/0)."""
    kernel = check_kernel(kernel)
    q, kk, dq, dkk = factors(head_or_q, k)
    t, dt = t_with_error(kernel, q, kk, dq, dkk, causal)
    z = t.sum(axis=1)
    return np.flatnonzero(~(z > dt.sum(axis=1) + q.shape[0] * EPS * z))


def weights_error_bound(kernel: Kernel | str, head_or_q: QK, k: np.ndarray | None = None,
                        causal: bool = False) -> float:
    r"""First-order bound on ``‖fl(A) − A‖_F`` for ``A`` computed from the given factors.

    From :func:`t_with_error`, the row division adds ``δT/Z + A·(ΣδT + n·eps·Z)/Z + eps·A``.
    Used as the rank tolerance ``max(σ₁·n·eps, bound)``, it makes the measured rank a
    **lower bound** on the exact rank of ``A``: a counted ``σ_r(fl A) > bound ≥ ‖fl A − A‖₂``
    gives ``σ_r(A) > 0`` (Weyl).  ``inf`` when a row is undefined.
    """
    kernel = check_kernel(kernel)
    q, kk, dq, dkk = factors(head_or_q, k)
    n = q.shape[0]
    t, dt = t_with_error(kernel, q, kk, dq, dkk, causal)
    z = t.sum(axis=1, keepdims=True)
    if np.any(~(z > dt.sum(axis=1, keepdims=True))):
        return float("inf")
    a = t / z
    dz = dt.sum(axis=1, keepdims=True) + n * EPS * z
    da = dt / z + a * dz / (z - dz) + EPS * a
    return float(np.linalg.norm(da))
