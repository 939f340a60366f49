"""Interval estimates and power for counts of runs (the statistics behind T6's stability reading).

* :func:`wilson_interval` — the Wilson score interval for a binomial proportion ``k/n``:
  ``(p̂ + z²/2n ± z·sqrt(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)``;
* :func:`newcombe_difference` — Newcombe's hybrid score interval (his method 10, 1998) for a
  difference of two independent proportions ``p₁ − p₂``: with Wilson bounds ``(l_i, u_i)``,
  ``[d − sqrt((p̂₁ − l₁)² + (u₂ − p̂₂)²), d + sqrt((u₁ − p̂₁)² + (p̂₂ − l₂)²)]``;
* :func:`power_two_proportions` — the exact power of the two-sided pooled z-test of ``p₁ = p₂`` at
  level α, by enumerating both binomial distributions (no normal approximation of the power);
* :func:`minimum_detectable_difference` — the smallest shift ``δ`` of a baseline rate ``p₀`` (up
  or down) that this test detects with the requested power, on a grid of step ``1/1000``; ``None``
  when no shift inside ``[0, 1]`` reaches it (then the design cannot detect any such effect);
* :func:`width_interval` — the trainable learning-rate width (longest contiguous run of grid points
  whose training fraction reaches the quorum, times the grid spacing) with a bracket from the
  per-learning-rate Wilson bounds: *low* counts only points whose lower bound reaches the quorum,
  *high* every point whose upper bound does;
* :func:`seeds_to_certify` — the fewest seeds, all of them training, whose Wilson lower bound reaches
  the quorum (below that no learning rate can be certified trainable).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy import stats

__all__ = ["wilson_interval", "newcombe_difference", "ztest_rejects", "power_two_proportions",
           "minimum_detectable_difference", "width_interval", "seeds_to_certify", "longest_run"]

GRID = 1000  # δ is searched in steps of 1/GRID


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def _check(k: int, n: int) -> None:
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 ≤ k ≤ n and n ≥ 1, got k = {k}, n = {n}")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for ``k`` successes in ``n`` trials."""
    _check(k, n)
    z = _z(confidence)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> dict[str, float]:
    """``p₁ − p₂`` with Newcombe's hybrid score interval: ``{"difference", "low", "high"}``."""
    _check(k1, n1)
    _check(k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - p2
    return {"difference": d, "low": d - math.hypot(p1 - l1, u2 - p2), "high": d + math.hypot(u1 - p1, p2 - l2)}


def ztest_rejects(n1: int, n2: int, alpha: float = 0.05) -> np.ndarray:
    """``[k₁, k₂]`` boolean table: does the two-sided pooled z-test reject ``p₁ = p₂`` at level α?

    ``z = (p̂₁ − p̂₂) / sqrt(p̄(1 − p̄)(1/n₁ + 1/n₂))`` with the pooled rate ``p̄``; a table with
    ``p̄ ∈ {0, 1}`` (no variation) is never rejected."""
    k1 = np.arange(n1 + 1)[:, None]
    k2 = np.arange(n2 + 1)[None, :]
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    diff = k1 / n1 - k2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, np.abs(diff) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return z > stats.norm.ppf(1 - alpha / 2)


def power_two_proportions(p1: float, p2: float, n1: int, n2: int, alpha: float = 0.05) -> float:
    """Exact probability that the pooled z-test rejects when the true rates are ``p₁`` and ``p₂``."""
    if not (0.0 <= p1 <= 1.0 and 0.0 <= p2 <= 1.0):
        raise ValueError(f"rates must be in [0, 1], got {p1}, {p2}")
    f1 = stats.binom.pmf(np.arange(n1 + 1), n1, p1)
    f2 = stats.binom.pmf(np.arange(n2 + 1), n2, p2)
    return float(f1 @ (ztest_rejects(n1, n2, alpha) @ f2))


def minimum_detectable_difference(p0: float, n1: int, n2: int, direction: int, alpha: float = 0.05,
                                  power: float = 0.8) -> dict[str, Any]:
    """The smallest ``δ`` (grid step 1/1000) with power ≥ ``power`` against ``p₁ = p₀ + direction·δ``.

    Returns ``{"delta": δ or None, "power_at_extreme": power at the largest shift inside [0, 1]}``."""
    if direction not in (-1, 1):
        raise ValueError(f"direction must be +1 or −1, got {direction}")
    rejects = ztest_rejects(n1, n2, alpha)
    f0 = stats.binom.pmf(np.arange(n2 + 1), n2, p0)
    room = p0 if direction < 0 else 1.0 - p0
    deltas = np.arange(1, int(math.floor(room * GRID + 1e-9)) + 1) / GRID
    if deltas.size == 0:
        return {"delta": None, "power_at_extreme": 0.0, "direction": direction}
    p1 = np.clip(p0 + direction * deltas, 0.0, 1.0)
    f1 = stats.binom.pmf(np.arange(n1 + 1)[None, :], n1, p1[:, None])  # [δ, k₁]
    powers = np.einsum("dk,kl,l->d", f1, rejects.astype(np.float64), f0)
    hit = np.nonzero(powers >= power)[0]
    return {"delta": None if hit.size == 0 else float(deltas[hit[0]]), "power_at_extreme": float(powers[-1]),
            "direction": direction}


def longest_run(flags: Sequence[bool]) -> int:
    """Length of the longest run of True."""
    best = cur = 0
    for f in flags:
        cur = cur + 1 if f else 0
        best = max(best, cur)
    return best


def width_interval(train_counts: Sequence[int], seeds: int, spacing: float, quorum: float,
                   confidence: float = 0.95) -> dict[str, float]:
    """Trainable width (decades) and its bracket from per-learning-rate Wilson bounds."""
    bounds = [wilson_interval(int(k), seeds, confidence) for k in train_counts]
    point = [k / seeds >= quorum - 1e-12 for k in train_counts]
    low = [lo >= quorum for lo, _ in bounds]
    high = [hi >= quorum for _, hi in bounds]
    return {"width": longest_run(point) * spacing, "low": longest_run(low) * spacing,
            "high": longest_run(high) * spacing, "spacing": spacing}


def seeds_to_certify(quorum: float, confidence: float = 0.95, limit: int = 10_000) -> int:
    """The fewest seeds ``n`` with Wilson lower bound of ``n/n`` at least ``quorum``."""
    for n in range(1, limit + 1):
        if wilson_interval(n, n, confidence)[0] >= quorum:
            return n
    raise ValueError(f"no n ≤ {limit} certifies quorum {quorum}")
