"""The SymPy symbols the matching derivations share."""

from __future__ import annotations

import sympy as sp

__all__ = ["N", "L", "DELTA", "C", "T"]

N = sp.Symbol("n", positive=True)  # number of keys
L = sp.Symbol("L", real=True)  # distractor level (score; rbf: RBF score)
DELTA = sp.Symbol("Delta", real=True)  # score gap of the best key
C = sp.Symbol("c", positive=True)  # CSQ shift
T = sp.Symbol("t", real=True)  # what a kernel exponentiates or squares
