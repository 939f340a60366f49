r"""Token matrices with their structure exact: the rational inputs of the certificates.

A float64 token matrix built by :mod:`theorem.util.tokens` keeps its structure only up to rounding: a
"rank-3" product ``U V`` of float matrices is, as an exact rational matrix, of full rank, and LayerNorm'd
rows sum to zero only to within ``eps``.  A certificate over :math:`\mathbb{Q}` needs the structure exact,
so each family is rebuilt here in rational arithmetic (``fractions.Fraction``): the same random draws,
rounded to multiples of 1/64, then the family's own operations done exactly (products, means, offsets,
duplicated rows).  A square root (a row's norm or RMS) is replaced by a rational value within 1e-12 of it:
it scales a row, which keeps every rank and membership (``1 ∈ col X``) the family is about.

:func:`exact_tokens` returns the rational matrix as a NumPy object array; ``.astype(float)`` gives the float64
input that the measurement beside the certificate runs on.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from theorem.util.tokens import TokenSpec

__all__ = ["EXACT_FAMILIES", "exact_tokens"]

_GRID = 64


def _q(a: np.ndarray) -> np.ndarray:
    """Round to multiples of 1/64, as exact Fractions."""
    return np.vectorize(lambda v: Fraction(round(float(v) * _GRID), _GRID), otypes=[object])(np.asarray(a))


def _root(v: Fraction) -> Fraction:
    return Fraction(math.sqrt(float(v))).limit_denominator(10**12) if v > 0 else Fraction(1)


def _row_means(x: np.ndarray) -> np.ndarray:
    return np.array([sum(row, Fraction(0)) / len(row) for row in x], dtype=object)[:, None]


def _layernorm(g: np.ndarray) -> np.ndarray:
    z = g - _row_means(g)
    rms = [_root(sum((v * v for v in row), Fraction(0)) / len(row) + Fraction(1, 10**5)) for row in z]
    return np.array([[v / r for v in row] for row, r in zip(z, rms)], dtype=object)


def _build(spec: TokenSpec) -> np.ndarray:
    rng = np.random.default_rng(spec.seed)
    n, d = spec.n, spec.d
    g = _q(rng.standard_normal((n, d)))  # every family draws G first (theorem.util.tokens)
    kind = spec.kind
    if kind == "gaussian":
        return g
    if kind == "repeated":
        x = g.copy()
        src = rng.integers(0, n, size=n)
        dup = rng.random(n) < 0.4
        x[dup] = x[src[dup]]
        return x
    if kind in ("low_rank", "offset"):
        k = max(1, min(n, d) - 1)
        x = _q(rng.standard_normal((n, k))).dot(_q(rng.standard_normal((k, d))))
        return x + _q(rng.standard_normal((1, d))) if kind == "offset" else x
    if kind in ("layernorm", "layernorm_affine"):
        z = _layernorm(g)
        if kind == "layernorm":
            return z
        gamma = 1 + _q(0.5 * rng.standard_normal(d))
        beta = _q(0.5 * rng.standard_normal(d))
        return z * gamma + beta
    if kind == "constant_column":
        x = g.copy()
        x[:, 0] = Fraction(1)
        return x
    if kind == "sphere":
        return np.array([[v / _root(sum((w * w for w in row), Fraction(0))) for v in row] for row in g], dtype=object)
    if kind == "integer":
        return np.vectorize(Fraction, otypes=[object])(rng.integers(-2, 3, size=(n, d)))
    raise ValueError(f"no exact construction for token family {kind!r}; exact families: {', '.join(EXACT_FAMILIES)}")


EXACT_FAMILIES = ("gaussian", "repeated", "low_rank", "offset", "layernorm", "layernorm_affine", "constant_column",
                  "sphere", "integer")


def exact_tokens(spec: TokenSpec) -> np.ndarray:
    """The rational (n, d) token matrix of ``spec`` with its family's structure exact (object array)."""
    scale = Fraction(float(spec.scale))
    return _build(spec) * scale
