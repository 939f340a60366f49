"""Token families: THE generator of the token matrices ``X`` (n×d) every measurement draws.

A family is a way real or adversarial tokens are degenerate.  Every family draws
``G = rng.standard_normal((n, d))`` first from ``np.random.default_rng(seed)`` (whether it
uses it or not), then whatever else it needs, so a ``(family, n, d, seed)`` always rebuilds
the same matrix.  Each name has ONE meaning:

| family | ``X`` |
|---|---|
| ``gaussian`` | ``G``: i.i.d. N(0, 1) |
| ``repeated`` | ``G`` with each row, with probability 0.4, replaced by a copy of a random row |
| ``repeated_half`` | ``G`` with its second half repeating its first half (``x_{⌈n/2⌉+i} = x_i``) |
| ``one_repeat`` | ``G`` with ``x_1 = x_0`` |
| ``sign_flip`` | ``G`` with ``x_1 = −x_0`` (same ``x^{⊗2}``) |
| ``low_rank`` | rank ``max(1, min(n, d) − 1)``: ``U V``, ``U`` n×k, ``V`` k×d Gaussian |
| ``low_rank_half`` | rank ``⌈d/2⌉``: ``U V`` as above with ``k = ⌈d/2⌉`` |
| ``rank_one`` | ``u vᵀ`` |
| ``offset`` | low rank (as ``low_rank``) plus one offset shared by every row: ``U V + 1 bᵀ`` |
| ``layernorm`` | rows of ``G`` centred and divided by ``√(mean z² + 10⁻⁵)`` (PyTorch's LayerNorm, no affine) |
| ``layernorm_affine`` | ``layernorm`` then ``γ ⊙ z + β``, ``γ = 1 + 0.5 N(0, 1)``, ``β = 0.5 N(0, 1)`` |
| ``layernorm_exact`` | rows centred and scaled to RMS exactly 1 (no ε: every row on the sphere ‖x‖² = d); needs d ≥ 2 |
| ``layernorm_exact_affine`` | ``layernorm_exact`` then ``γ ⊙ z + β``, ``γ ~ U(0.5, 1.5)``, ``β ~ N(0, 1)`` |
| ``constant_column`` | ``G`` with ``x_{i0} = 1`` (a bias feature: ``1 ∈ col X``) |
| ``sphere`` | rows of ``G`` divided by their norms |
| ``centred`` | columns of ``G`` centred (zero mean) |
| ``integer`` | small integers in ``{−2, …, 2}`` (exact structure, ties) |

Until issue 11 two generators gave "repeated", "low_rank" and "layernorm(_affine)" different
meanings (``strategies.TokenSpec`` and ``attention_rank.degenerate_tokens``); both meanings
are kept here under different names so that no measurement changed: the Hypothesis kinds keep
the plain names, the rank families took ``repeated_half``, ``low_rank_half`` and
``layernorm_exact(_affine)``.  The ε of ``layernorm`` matters for the rank of the
second-order lifts: with it the rows are only *nearly* on one sphere.

:data:`KINDS` are the families Hypothesis draws by default (:func:`theorem.strategies.token_specs`);
:data:`FAMILIES` names every family.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from jaxtyping import Float

__all__ = ["FAMILIES", "KINDS", "SCALES", "TokenSpec", "UnknownTokenFamilyError", "make_tokens"]


class UnknownTokenFamilyError(ValueError):
    """A token family name that :data:`FAMILIES` does not hold."""


Builder = Callable[[np.random.Generator, np.ndarray, int, int], np.ndarray]


def _gaussian(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return g


def _repeated(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    x = g.copy()
    src = rng.integers(0, n, size=n)
    dup = rng.random(n) < 0.4
    x[dup] = x[src[dup]]
    return x


def _repeated_half(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    x = g.copy()
    half = (n + 1) // 2
    x[half:] = x[: n - half]
    return x


def _one_repeat(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    x = g.copy()
    if n >= 2:
        x[1] = x[0]
    return x


def _sign_flip(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    x = g.copy()
    if n >= 2:
        x[1] = -x[0]
    return x


def _product(rng: np.random.Generator, n: int, d: int, k: int) -> np.ndarray:
    return rng.standard_normal((n, k)) @ rng.standard_normal((k, d))


def _low_rank(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _product(rng, n, d, max(1, min(n, d) - 1))


def _low_rank_half(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _product(rng, n, d, max(1, (d + 1) // 2))


def _rank_one(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _product(rng, n, d, 1)


def _offset(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _low_rank(rng, g, n, d) + rng.standard_normal((1, d))


def _layernorm_eps(g: np.ndarray) -> np.ndarray:
    z = g - g.mean(axis=1, keepdims=True)
    return z / np.sqrt((z**2).mean(axis=1, keepdims=True) + 1e-5)


def _layernorm(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _layernorm_eps(g)


def _layernorm_affine(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _layernorm_eps(g) * (1.0 + 0.5 * rng.standard_normal(d)) + 0.5 * rng.standard_normal(d)


def _layernorm_unit(g: np.ndarray, d: int) -> np.ndarray:
    if d < 2:
        raise ValueError("d: LayerNorm tokens without ε need d ≥ 2 (a centred row of length 1 is 0)")
    z = g - g.mean(axis=1, keepdims=True)
    return z / np.sqrt((z**2).mean(axis=1, keepdims=True))


def _layernorm_exact(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return _layernorm_unit(g, d)


def _layernorm_exact_affine(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    z = _layernorm_unit(g, d)
    return z * rng.uniform(0.5, 1.5, d) + rng.standard_normal(d)


def _constant_column(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    x = g.copy()
    x[:, 0] = 1.0
    return x


def _sphere(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def _centred(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return g - g.mean(axis=0, keepdims=True)


def _integer(rng: np.random.Generator, g: np.ndarray, n: int, d: int) -> np.ndarray:
    return rng.integers(-2, 3, size=(n, d)).astype(np.float64)


_BUILDERS: dict[str, Builder] = {
    "gaussian": _gaussian,
    "repeated": _repeated,
    "repeated_half": _repeated_half,
    "one_repeat": _one_repeat,
    "sign_flip": _sign_flip,
    "low_rank": _low_rank,
    "low_rank_half": _low_rank_half,
    "rank_one": _rank_one,
    "offset": _offset,
    "layernorm": _layernorm,
    "layernorm_affine": _layernorm_affine,
    "layernorm_exact": _layernorm_exact,
    "layernorm_exact_affine": _layernorm_exact_affine,
    "constant_column": _constant_column,
    "sphere": _sphere,
    "centred": _centred,
    "integer": _integer,
}

FAMILIES: tuple[str, ...] = tuple(_BUILDERS)
"""Every token family (module docstring)."""

KINDS: tuple[str, ...] = ("gaussian", "repeated", "low_rank", "offset", "layernorm", "layernorm_affine", "integer")
"""The families Hypothesis draws by default."""

SCALES: tuple[float, ...] = (1.0, 1e-3, 3.0, 30.0, 1e-6)
"""The scales Hypothesis draws by default."""


def make_tokens(family: str, n: int, d: int, seed: int = 0, scale: float = 1.0) -> Float[np.ndarray, "n d"]:
    """``scale · X`` for the (n×d, float64) tokens ``X`` of ``family`` drawn from ``seed``."""
    if family not in _BUILDERS:
        raise UnknownTokenFamilyError(f"family: unknown token family {family!r}; choose one of {', '.join(FAMILIES)}")
    if not (isinstance(n, (int, np.integer)) and n >= 1 and isinstance(d, (int, np.integer)) and d >= 1):
        raise ValueError(f"n and d must be positive integers, got n={n!r}, d={d!r}")
    n, d = int(n), int(d)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, d))
    x = _BUILDERS[family](rng, g, n, d)
    return scale * x


@dataclass(frozen=True)
class TokenSpec:
    """A token matrix named by (shape, family, seed, scale); Hypothesis shrinks it toward small
    shapes and plain kinds, and a failing case prints as a spec that rebuilds the same matrix."""

    n: int
    d: int
    kind: str = "gaussian"
    seed: int = 0
    scale: float = 1.0

    def build(self) -> Float[np.ndarray, "n d"]:
        """The (n, d) float64 token matrix this spec names (:func:`make_tokens`)."""
        return make_tokens(self.kind, self.n, self.d, self.seed, self.scale)

    def to_dict(self) -> dict:
        return asdict(self)
