"""The matrices whose rank is measured: ``T``, ``A``, the feature lifts, and the factorized outputs.

Every kernel formula comes from :mod:`theorem.kernels`; this module only evaluates it in float64
(scoped, :func:`theorem.util.precision.float64`) and returns NumPy arrays.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float

from theorem.kernels import Kernel
from theorem.numeric.attention_rank.inputs import Head, check_kernel, factors
from theorem.numeric.attention_rank import kernel_parts as parts

__all__ = ["unnormalized_matrix", "attention_matrix", "feature_lifts", "factorized_output",
           "causal_factorized_output"]

QK = Head | Float[np.ndarray, "n dk"]


def unnormalized_matrix(kernel: Kernel | str, head_or_q: QK, k: Float[np.ndarray, "n dk"] | None = None,
                        causal: bool = False) -> Float[np.ndarray, "n n"]:
    """``T`` (masked when causal) as :meth:`theorem.kernels.Kernel.unnormalized_qk` computes it, float64.

    ``A = D⁻¹ T`` with ``D = diag(T 1)``.  For softmax the kernel's ``T`` is ``exp(S − max_j S_ij)``: a
    positive row scaling of ``exp S`` (same ``A``, same rank) that does not overflow.
    """
    kernel = check_kernel(kernel)
    q, kk, _, _ = factors(head_or_q, k)
    return parts.unnormalized(kernel, q, kk, causal)


def attention_matrix(kernel: Kernel | str, head_or_q: QK, k: Float[np.ndarray, "n dk"] | None = None,
                     causal: bool = False) -> Float[np.ndarray, "n n"]:
    """``A`` as :meth:`theorem.kernels.Kernel.weights` computes it (float64)."""
    kernel = check_kernel(kernel)
    q, kk, _, _ = factors(head_or_q, k)
    return parts.weights(kernel, q, kk, causal)


def feature_lifts(
    kernel: Kernel | str, head_or_q: QK, k: Float[np.ndarray, "n dk"] | None = None
) -> tuple[Float[np.ndarray, "n D"], Float[np.ndarray, "n D"]] | None:
    """``(L_Q, L_K)`` with ``T = L_Q L_Kᵀ`` exactly (non-causal); ``None`` for softmax."""
    kernel = check_kernel(kernel)
    q, kk, _, _ = factors(head_or_q, k)
    return parts.lifts(kernel, q, kk)


def _lifts_and_values(kernel, head_or_q, k, v):
    """The query/key lifts ``(L_Q, L_K)`` and ``v`` as float64 (n, d_v), checked."""
    pair = feature_lifts(kernel, head_or_q, k)
    if pair is None:
        raise ValueError("kernel: softmax has no finite feature lift")
    lq, lk = pair
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != lq.shape[0]:
        raise ValueError(f"v must have shape (n, d_v) with n = {lq.shape[0]}, got {v.shape}")
    return lq, lk, v


def factorized_output(
    kernel: Kernel | str, head_or_q: QK, k: Float[np.ndarray, "n dk"] | None, v: Float[np.ndarray, "n dv"]
) -> Float[np.ndarray, "n dv"]:
    """``A V`` from the lifts in ``O(n·D·d_v)``: ``(L_Q (L_Kᵀ V)) / (L_Q (L_Kᵀ 1))``.

    The exact algorithm that a finite lift allows (Katharopoulos et al. 2020 for ``φ``
    features); it never forms the n×n matrix.  Non-causal; not for softmax.
    """
    lq, lk, v = _lifts_and_values(kernel, head_or_q, k, v)
    num = lq @ (lk.T @ v)
    den = lq @ lk.sum(axis=0)
    return num / den[:, None]


def causal_factorized_output(
    kernel: Kernel | str, head_or_q: QK, k: Float[np.ndarray, "n dk"] | None, v: Float[np.ndarray, "n dv"]
) -> Float[np.ndarray, "n dv"]:
    """Causal ``A V`` by prefix sums over the lifts, ``O(n·D·d_v)`` time (Katharopoulos et al. 2020).

    ``out_i = ℓ_Q(q_i)ᵀ Σ_{j≤i} ℓ_K(k_j) v_jᵀ / ℓ_Q(q_i)ᵀ Σ_{j≤i} ℓ_K(k_j)``.  For linear, poly2 and
    uncentred CSQ (a centred CSQ re-centres every prefix, so its key lift is not fixed).  The
    causal ``A`` it computes has rank ``n`` whenever every ``T_ii > 0``: a full-rank attention
    matrix applied in time linear in ``n``.
    """
    kernel = check_kernel(kernel)
    if kernel.centers_keys:
        raise ValueError("kernel: a centred CSQ has no fixed key lift under a causal mask")
    lq, lk, v = _lifts_and_values(kernel, head_or_q, k, v)
    state = np.cumsum(lk[:, :, None] * v[:, None, :], axis=0)  # (n, D, d_v): Σ_{j≤i} ℓ_K(k_j) v_jᵀ
    norm = np.cumsum(lk, axis=0)  # (n, D)
    num = np.einsum("nd,ndv->nv", lq, state)
    den = np.einsum("nd,nd->n", lq, norm)
    return num / den[:, None]
