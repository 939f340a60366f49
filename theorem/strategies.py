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

from hypothesis import strategies as st

from theorem.util.tokens import KINDS, SCALES, TokenSpec

__all__ = ["KINDS", "SCALES", "TokenSpec", "pullback_configs", "token_specs"]


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
