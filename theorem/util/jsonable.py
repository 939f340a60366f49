"""Conversion of results (NumPy scalars and arrays, non-finite floats) to plain JSON values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy values turned into Python ones and non-finite floats into strings.

    ``inf`` becomes ``"inf"`` and ``nan`` becomes ``"nan"`` (JSON has no such numbers); dict keys
    become strings; tuples become lists.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else str(f)
    return obj
