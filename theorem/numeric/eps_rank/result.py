"""The measured ε-rank (:class:`EpsRank`), its definition on exact singular values, and argument checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from jaxtyping import Float

__all__ = ["EPS", "METHODS", "THETA", "STEPS", "STARTS", "TAU", "EpsRank", "eps_rank_from_singular_values",
           "check_eps", "check_matrix"]

EPS = float(np.finfo(np.float64).eps)
METHODS = ("auto", "svd", "randomized", "gram")
THETA = 4.0  # the power estimate may undershoot λ_max(RᵀR) by at most this factor ...
STEPS = 16  # ... after this many steps of RᵀR ...
STARTS = 2  # ... from every one of this many starts, except with probability ≈ (0.8√n·4^{−16})²
TAU = 0.25


@dataclass(frozen=True)
class EpsRank:
    """A measured ε-rank: the interval that contains it, the estimate and how it was found."""

    eps: float
    rank: int  # estimate #{ŝ_j > ε ŝ₁}
    lower: int
    upper: int
    method: str
    n: int
    singular_values: np.ndarray = field(repr=False)  # the estimates ŝ_j that were computed
    error: float  # half-width of the singular-value (svd), squared (gram) or residual (randomized) bound
    failure_probability: float  # probability that [lower, upper] is wrong (randomized only)
    seconds: float

    @property
    def resolved(self) -> bool:
        return self.lower == self.upper

    def to_dict(self) -> dict:
        return {
            "eps": self.eps,
            "rank": self.rank,
            "lower": self.lower,
            "upper": self.upper,
            "method": self.method,
            "n": self.n,
            "error": self.error,
            "failure_probability": self.failure_probability,
            "seconds": round(self.seconds, 4),
        }


def eps_rank_from_singular_values(sv: Float[np.ndarray, " k"], eps: float) -> int:
    """``#{σ_j > ε σ₁}`` for exact singular values ``sv`` (any order)."""
    sv = np.asarray(sv, dtype=np.float64)
    check_eps([eps])
    if sv.size == 0 or not np.any(sv):
        return 0
    return int(np.sum(sv > eps * np.max(sv)))


def check_eps(eps_list) -> list[float]:
    out = []
    for e in eps_list:
        if not isinstance(e, (int, float, np.floating)) or not (0 < e < 1) or not math.isfinite(e):
            raise ValueError(f"eps must be a number in (0, 1), got {e!r}")
        out.append(float(e))
    if not out:
        raise ValueError("eps: give at least one value")
    return out


def check_matrix(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"A must be a non-empty 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("A contains NaN or Inf")
    return a
