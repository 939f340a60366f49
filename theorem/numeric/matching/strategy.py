"""Hypothesis strategies of matching cases (one query, a few keys).

:func:`matching_arrays` draws plain NumPy arrays ``(q, keys)`` and needs nothing from numeric, so
it can move to :mod:`theorem.strategies` (layer 2) as it stands; :func:`matching_cases` wraps
its draws in :class:`~theorem.numeric.matching.MatchingCase`.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theorem.numeric.matching.cases import MatchingCase

__all__ = ["matching_arrays", "matching_cases"]


def matching_arrays(
    *,
    max_dk: int = 3,
    max_keys: int = 4,
    bound: float = 10.0,
    equal_norms: bool = False,
    nonnegative: bool = False,
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(q, keys)``: d_k ≤ ``max_dk``, 2..``max_keys`` keys, entries in ``[−bound, bound]``
    (``[0, bound]`` when ``nonnegative``); with ``equal_norms`` every key is rescaled to one drawn
    radius (a zero key becomes the first axis)."""
    if max_dk < 1 or max_keys < 2 or not bound > 0:
        raise ValueError(f"matching_cases: need max_dk ≥ 1, max_keys ≥ 2, bound > 0 (got {max_dk}, {max_keys}, {bound})")
    lo = 0.0 if nonnegative else -bound
    entry = st.floats(lo, bound, allow_nan=False, allow_infinity=False)

    @st.composite
    def build(draw) -> tuple[np.ndarray, np.ndarray]:
        dk = draw(st.integers(1, max_dk))
        n = draw(st.integers(2, max_keys))
        q = np.array(draw(st.lists(entry, min_size=dk, max_size=dk)))
        keys = np.array([draw(st.lists(entry, min_size=dk, max_size=dk)) for _ in range(n)])
        if equal_norms:
            radius = draw(st.floats(0.5, bound, allow_nan=False))
            # divide by the largest entry first: the norm of a key with entries below ~1e-154 squares into
            # subnormals and comes back inexact (the rescaled norms then differ by up to ~1e-8)
            scale = np.max(np.abs(keys), axis=1, keepdims=True)
            unit = keys / np.where(scale > 0, scale, 1.0)
            norms = np.linalg.norm(unit, axis=1, keepdims=True)
            axis = np.zeros(dk)
            axis[0] = 1.0
            keys = np.where(scale > 0, unit / np.where(norms > 0, norms, 1.0), axis) * radius
        return q, keys

    return build()


def _to_case(arrays: tuple[np.ndarray, np.ndarray]) -> MatchingCase:
    return MatchingCase(*arrays)


def matching_cases(**kwargs) -> st.SearchStrategy[MatchingCase]:
    """:func:`matching_arrays` (same keyword arguments) as :class:`MatchingCase` values."""
    return matching_arrays(**kwargs).map(_to_case)
