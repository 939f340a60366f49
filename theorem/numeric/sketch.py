r"""Rank-one cotangents for the matrix-free sketch, and the norm of their stack.

The sketch measures ``rank J`` from ``G = Ω J`` where the rows of ``Ω`` are ``vec(u_l v_lᵀ)`` with Gaussian
``u_l ∈ Rⁿ, v_l ∈ R^w`` (:func:`rank_one_cotangents`).  Rounding in the computed ``G`` is of order
``eps·‖Ω‖₂·‖J‖``; the rank tolerance scales with :func:`stacked_norm` ``= ‖Ω‖₂``, computed here — not with
``‖Ω‖_F``, which exceeds it by about the square root of the rank.

``ΩΩᵀ = (UUᵀ) ∘ (VVᵀ)`` (Hadamard product), so ``‖Ω‖₂² = λ_max((UUᵀ)∘(VVᵀ))``; the matrix-vector product
``(ΩΩᵀx)_l = u_lᵀ (Uᵀ diag(x) V) v_l`` costs ``O(s·n·w)`` and never forms the ``s × s`` matrix.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from jaxtyping import Float
from scipy.linalg import eigvalsh
from scipy.sparse.linalg import LinearOperator, eigsh

from theorem.numeric.rank import rank_from_singular_values

__all__ = ["rank_one_cotangents", "rederived_rank", "stacked_norm"]

#: a stack this small gets its Gram matrix formed and diagonalized exactly
_DENSE_LIMIT = 3000
#: relative accuracy asked of Lanczos; the norm returned is inflated by ten times it (an upper bound)
_LANCZOS_TOL = 1e-8


def rank_one_cotangents(num: int, n: int, width: int, *, seed: int = 1,
                        batch: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``(U, V)`` of Gaussian factors (the first ``b`` rows of each ``batch``-row draw are used, so
    the numbers are the same as the sketches recorded before this function existed)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < num:
        b = min(batch, num - done)
        u = rng.standard_normal((batch, n))
        v = rng.standard_normal((batch, width))
        yield u[:b], v[:b]
        done += b


def stacked_norm(u: Float[np.ndarray, "s n"], v: Float[np.ndarray, "s w"]) -> float:
    """``‖Ω‖₂`` for ``Ω`` with rows ``vec(u_l v_lᵀ)`` (an upper bound to ~1e-7 relative)."""
    s = u.shape[0]
    if s == 0:
        return 0.0
    if s <= _DENSE_LIMIT:
        gram = (u @ u.T) * (v @ v.T)
        return math.sqrt(max(float(eigvalsh(gram)[-1]), 0.0))

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.ravel(x)
        core = u.T @ (x[:, None] * v)  # n × w
        return np.sum((u @ core) * v, axis=1)

    op = LinearOperator((s, s), matvec=matvec, dtype=np.float64)
    lam = float(eigsh(op, k=1, which="LA", return_eigenvectors=False, tol=_LANCZOS_TOL)[0])
    return math.sqrt(max(lam, 0.0)) * (1.0 + 10 * _LANCZOS_TOL)


def rederived_rank(sv: Float[np.ndarray, " k"], shape: tuple[int, int], recorded_tolerance: float, n: int,
                   width: int, *, seed: int = 1, batch: int = 64):
    """The rank test of a recorded sketch re-run with the ``‖Ω‖₂`` reference, from its saved spectrum.

    The recorded tolerance was ``ref·max(shape)·eps`` with ``ref = s_J·√(n·width·samples)`` (the old
    Frobenius scale; ``s_J`` the chain-rule bound on ``‖J‖``), so ``s_J`` is read back from it; the same
    cotangents are regenerated from ``seed`` and ``batch``, and the new reference is ``s_J·‖Ω‖₂``.
    Returns ``(RankResult, ‖Ω‖₂, s_J)``.
    """
    sv = np.asarray(sv, dtype=np.float64)
    samples = shape[0]
    old_ref = recorded_tolerance / (max(shape) * np.finfo(np.float64).eps)
    if old_ref <= float(np.max(sv)):
        raise ValueError("the recorded tolerance was set by σ₁, not by the chain-rule reference; nothing to re-derive")
    scale = old_ref / math.sqrt(n * width * samples)
    us, vs = zip(*rank_one_cotangents(samples, n, width, seed=seed, batch=batch))
    omega = stacked_norm(np.concatenate(us), np.concatenate(vs))
    return rank_from_singular_values(sv, shape, reference=scale * omega), omega, scale
