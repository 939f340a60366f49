"""The bench's sweep settings: ``quick`` (n ≤ 2048, d_k ∈ {8, 16}; under a minute) and ``full``
(n = 128 … 32768, d_k ∈ {8, 16, 32, 64}; many minutes)."""

from __future__ import annotations

__all__ = ["PROFILES", "geometric"]


def geometric(lo: int, hi: int, per_octave: int) -> tuple[int, ...]:
    out, i = [], 0
    while True:
        n = int(round(lo * 2 ** (i / per_octave)))
        if n > hi:
            break
        if not out or n != out[-1]:
            out.append(n)
        i += 1
    return tuple(out)


PROFILES: dict[str, dict] = {
    "quick": dict(
        ns=(128, 512, 2048), dks=(8, 16), crossover_dks=(8, 16), crossover_ns=geometric(32, 4096, 1),
        crossover_causal=False, min_seconds=0.01, min_rounds=3, max_rounds=5, matmul_n=1024,
    ),
    "full": dict(
        ns=geometric(128, 32768, 1), dks=(8, 16, 32, 64), crossover_dks=(8, 16, 32, 64),
        crossover_ns=geometric(16, 16384, 4), crossover_causal=True, min_seconds=0.15, min_rounds=3,
        max_rounds=7, matmul_n=2048,
    ),
}
