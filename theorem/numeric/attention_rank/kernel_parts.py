"""The parts of a kernel that the rank measurements read, each taken from :mod:`theorem.kernels`.

* :func:`unnormalized` — the kernel's ``T`` (:meth:`~theorem.kernels.Kernel.unnormalized_qk`;
  softmax: ``exp(S − max_j S_ij)``, a positive row scaling of ``exp S`` with the same ``A`` and rank);
* :func:`lifts` — the exact feature lift ``T = L_Q L_Kᵀ`` (non-causal,
  :meth:`~theorem.kernels.Kernel.features`) and its width (:meth:`~theorem.kernels.Kernel.feature_dim`);
* :func:`score_parts` — what the rounding-error bound needs: the scores ``S``, the kernel's ``T``,
  the quantity ``f`` the squared kernels square (``T = f²``: poly2 ``S``, CSQ
  :meth:`~theorem.kernels.CSQ.shifted_scores`) and the features of a feature kernel.

No formula of a kernel is written here: only float64 evaluation (scoped) and conversion to NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jaxtyping import Float

from theorem.kernels import CSQ, Kernel, Poly2, scaled_scores
from theorem.util.precision import float64

__all__ = ["unnormalized", "lifts", "lift_dim", "score_parts", "ScoreParts"]


@float64
def unnormalized(kernel: Kernel, q: Float[np.ndarray, "n dk"], k: Float[np.ndarray, "n dk"],
                 causal: bool) -> Float[np.ndarray, "n n"]:
    """The kernel's ``T`` (masked when causal), float64 NumPy."""
    return np.asarray(kernel.unnormalized_qk(jnp.asarray(q), jnp.asarray(k), causal=causal))


@float64
def weights(kernel: Kernel, q: Float[np.ndarray, "n dk"], k: Float[np.ndarray, "n dk"],
            causal: bool) -> Float[np.ndarray, "n n"]:
    """The kernel's ``A`` (:meth:`~theorem.kernels.Kernel.weights`), float64 NumPy."""
    return np.asarray(kernel.weights(jnp.asarray(q), jnp.asarray(k), causal=causal))


@float64
def lifts(kernel: Kernel, q: Float[np.ndarray, "n dk"],
          k: Float[np.ndarray, "n dk"]) -> tuple[Float[np.ndarray, "n D"], Float[np.ndarray, "n D"]] | None:
    """``(L_Q, L_K)`` with ``T = L_Q L_Kᵀ`` (non-causal), float64 NumPy; ``None`` without a finite lift."""
    pair = kernel.features(jnp.asarray(q), jnp.asarray(k))
    if pair is None:
        return None
    return np.asarray(pair[0], dtype=np.float64), np.asarray(pair[1], dtype=np.float64)


def lift_dim(kernel: Kernel, dk: int) -> int | None:
    """Width ``D`` of :func:`lifts` at head width ``dk`` (``None``: no finite lift)."""
    return kernel.feature_dim(int(dk))


@dataclass(frozen=True)
class ScoreParts:
    """A kernel's intermediate values at ``(q, k)``, float64 NumPy.

    ``s``: scores ``S = q kᵀ/√d_k`` (None for a feature kernel); ``t``: the kernel's ``T``;
    ``f``: for poly2 and CSQ the quantity with ``T = f²`` on the visible entries (else None);
    ``features``: ``(φ_Q, φ_K)`` for a kernel that is not a score kernel (else None).
    """

    s: np.ndarray | None
    t: np.ndarray
    f: np.ndarray | None
    features: tuple[np.ndarray, np.ndarray] | None


@float64
def score_parts(kernel: Kernel, q: Float[np.ndarray, "n dk"], k: Float[np.ndarray, "n dk"],
                causal: bool) -> ScoreParts:
    """The kernel's own ``S``, ``T`` and ``f`` (or features) at ``(q, k)``."""
    qj, kj = jnp.asarray(q), jnp.asarray(k)
    t = np.asarray(kernel.unnormalized_qk(qj, kj, causal=causal))
    if not kernel.is_score_kernel:
        pair = kernel.features(qj, kj)
        if pair is None:
            raise ValueError(f"kernel: {kernel.describe()} is neither a score kernel nor has features")
        return ScoreParts(None, t, None, (np.asarray(pair[0]), np.asarray(pair[1])))
    s = scaled_scores(qj, kj)
    if isinstance(kernel, CSQ):
        f = np.asarray(kernel.shifted_scores(s, causal=causal))
    elif isinstance(kernel, Poly2):
        f = np.asarray(s)
    else:
        f = None
    return ScoreParts(np.asarray(s), t, f, None)
