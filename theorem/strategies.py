"""Hypothesis strategies for attention configurations.

Token matrices are drawn as a :class:`TokenSpec` (shape, kind, seed, scale) and built with
NumPy, so Hypothesis shrinks them toward small shapes and plain kinds, and a failing case
prints as a readable spec that rebuilds the exact same matrix.

Kinds (each a way real or adversarial tokens are degenerate):

* ``gaussian``: i.i.d. N(0, 1) entries;
* ``repeated``: Gaussian with some tokens repeated;
* ``low_rank``: rank ``k < min(n, d)``;
* ``offset``: low rank plus one offset shared by every row (``X = Y + 1 bᵀ``);
* ``layernorm``: rows centered and scaled to unit RMS (LayerNorm without its affine part);
* ``layernorm_affine``: LayerNorm followed by ``γ ⊙ z + β``;
* ``integer``: small integers (exact structure, ties).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from hypothesis import strategies as st

KINDS = ("gaussian", "repeated", "low_rank", "offset", "layernorm", "layernorm_affine", "integer")
SCALES = (1.0, 1e-3, 3.0, 30.0, 1e-6)


@dataclass(frozen=True)
class TokenSpec:
    n: int
    d: int
    kind: str = "gaussian"
    seed: int = 0
    scale: float = 1.0

    def build(self) -> np.ndarray:
        """The (n, d) float64 token matrix this spec names."""
        rng = np.random.default_rng(self.seed)
        n, d = self.n, self.d
        g = rng.standard_normal((n, d))
        if self.kind == "gaussian":
            x = g
        elif self.kind == "repeated":
            x = g.copy()
            src = rng.integers(0, n, size=n)
            dup = rng.random(n) < 0.4
            x[dup] = x[src[dup]]
        elif self.kind == "low_rank":
            k = max(1, min(n, d) - 1)
            x = rng.standard_normal((n, k)) @ rng.standard_normal((k, d))
        elif self.kind == "offset":
            k = max(1, min(n, d) - 1)
            x = rng.standard_normal((n, k)) @ rng.standard_normal((k, d)) + rng.standard_normal((1, d))
        elif self.kind in ("layernorm", "layernorm_affine"):
            z = g - g.mean(axis=1, keepdims=True)
            z = z / np.sqrt((z**2).mean(axis=1, keepdims=True) + 1e-5)
            if self.kind == "layernorm_affine":
                z = z * (1.0 + 0.5 * rng.standard_normal(d)) + 0.5 * rng.standard_normal(d)
            x = z
        elif self.kind == "integer":
            x = rng.integers(-2, 3, size=(n, d)).astype(np.float64)
        else:
            raise ValueError(f"unknown token kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        return self.scale * x

    def to_dict(self) -> dict:
        return asdict(self)


@st.composite
def token_specs(
    draw,
    max_n: int = 8,
    max_d: int = 5,
    kinds: tuple[str, ...] = KINDS,
    scales: tuple[float, ...] = SCALES,
) -> TokenSpec:
    """Token specs covering n < d, n = d and n > d, every kind and a few scales."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    kind = draw(st.sampled_from(kinds))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from(scales))
    return TokenSpec(n, d, kind, seed, scale)


@st.composite
def pullback_configs(draw, kernels=("softmax", "poly2", "csq"), maps=("scores", "weights", "output"), **kw):
    """(spec, kernel, kernel params, map, dk) with dk ∈ {None (the M form), 1..d}."""
    spec = draw(token_specs(**kw))
    kernel = draw(st.sampled_from(kernels))
    params: dict = {}
    if kernel == "csq":
        params = draw(
            st.sampled_from([{}, {"center": False}, {"shift": 0.0}, {"shift": 0.25}, {"center": False, "shift": 2.0}])
        )
    mp = draw(st.sampled_from(maps))
    dk = draw(st.one_of(st.none(), st.integers(1, spec.d)))
    return spec, kernel, params, mp, dk
