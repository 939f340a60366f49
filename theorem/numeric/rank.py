"""Numerical rank in float64, with its tolerance and its gap.

A rank is *well-defined* only when two tests agree:

* the tolerance test: ``r = #{σ_i > τ}`` with ``τ = σ₁ · max(m, n) · eps`` (NumPy's default);
* the gap test: ``σ_r / σ_{r+1} ≥ min_gap`` (the spectrum drops by orders of magnitude
  exactly where the tolerance cuts it), with ``σ_r ≥ 100 τ`` (the last value kept is not at
  the level of round-off) and, when the tolerance comes from a ``reference`` scale larger than
  ``σ₁``, ``σ_{r+1} ≤ τ/10`` (a value dropped just under it may be signal lost in rounding).

When they disagree the status is ``"ill-defined"`` and no verdict may lean on the number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float
from numpy.typing import ArrayLike

__all__ = ["RankResult", "numerical_rank", "rank_from_singular_values", "DEFAULT_MIN_GAP"]

DEFAULT_MIN_GAP = 1e4
# the smallest singular value kept must clear the tolerance by this factor; one just above the
# tolerance is as likely round-off as signal, so the rank is ill-defined
RETAIN_MARGIN = 100.0
DROP_MARGIN = 10.0


@dataclass(frozen=True)
class RankResult:
    """A measured rank with everything needed to judge it."""

    rank: int
    tolerance: float
    gap: float  # σ_r / σ_{r+1}; inf when nothing lies below the tolerance (or rank 0 of a zero matrix)
    status: str  # "ok" or "ill-defined"
    singular_values: np.ndarray
    min_gap: float

    @property
    def well_defined(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        gap = "∞" if np.isinf(self.gap) else f"{self.gap:.2e}"
        return f"rank {self.rank} (tol {self.tolerance:.2e}, gap {gap}, {self.status})"

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "tolerance": self.tolerance,
            "gap": None if np.isinf(self.gap) else self.gap,
            "status": self.status,
            "min_gap": self.min_gap,
        }


def rank_from_singular_values(
    sv: Float[np.ndarray, " k"],
    shape: tuple[int, int],
    *,
    min_gap: float = DEFAULT_MIN_GAP,
    reference: float | None = None,
) -> RankResult:
    """Rank of a matrix of ``shape`` from its singular values (any order).

    ``reference`` is the scale that rounding errors in the matrix are relative to, when that
    is larger than ``σ₁`` (a product ``J = J₁ J₂`` computed in floating point carries errors of
    order ``eps·‖J₁‖‖J₂‖``, which can exceed ``eps·‖J‖``); the tolerance is then
    ``max(σ₁, reference)·max(m, n)·eps``.
    """
    sv = np.sort(np.asarray(sv, dtype=np.float64))[::-1]
    if sv.size == 0:
        return RankResult(0, 0.0, np.inf, "ok", sv, min_gap)
    if not np.all(np.isfinite(sv)):
        raise ValueError("singular values contain NaN or Inf")
    top = sv[0]
    scale = top if reference is None else max(top, float(reference))
    tol = scale * max(shape) * np.finfo(np.float64).eps
    if top == 0.0:
        return RankResult(0, 0.0, np.inf, "ok", sv, min_gap)
    r = int(np.sum(sv > tol))
    if r == 0:  # everything is round-off of `scale`: how far below it the largest value sits
        gap = np.inf if top == 0.0 else scale / top
    elif r == sv.size:
        gap = np.inf
    else:
        below = sv[r]
        gap = np.inf if below == 0.0 else sv[r - 1] / below
    clear = r == 0 or sv[r - 1] >= RETAIN_MARGIN * tol
    if scale > top and r < sv.size:
        # a composed matrix whose rounding level is set by `reference`: a value dropped just
        # under the tolerance may be signal lost in that rounding, so it must be well under
        clear = clear and sv[r] <= tol / DROP_MARGIN
    status = "ok" if gap >= min_gap and clear else "ill-defined"
    return RankResult(r, float(tol), float(gap), status, sv, min_gap)


def numerical_rank(
    matrix: ArrayLike, *, min_gap: float = DEFAULT_MIN_GAP, reference: float | None = None
) -> RankResult:
    """Rank of ``matrix`` (m×n, converted to float64) by the tolerance and gap tests; a ValueError
    names what is wrong with any other input (wrong ndim, NaN or Inf)."""
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"numerical_rank needs a 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("matrix contains NaN or Inf")
    if a.size == 0:
        return RankResult(0, 0.0, np.inf, "ok", np.zeros(0), min_gap)
    sv = np.linalg.svd(a, compute_uv=False)
    return rank_from_singular_values(sv, a.shape, min_gap=min_gap, reference=reference)
