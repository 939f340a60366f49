"""One measured pulled-back gradient space beside its closed form, as a row (a JSON-able dict).

:func:`measure_row` measures one configuration (:func:`theorem.numeric.pullback.measure_rank`: the dense
Jacobian or the sketch, numerical rank in float64 with its tolerance and gap) and sets the closed form
(:func:`theorem.numeric.predicted.predict_rank`) with its formula and invariants beside it.  The readings of
T1 and R3 (:mod:`theorem.claims._pullback`), the ``pullback_sweep`` experiment and notebook 01 use it.
"""

from __future__ import annotations

import copy

import numpy as np

from theorem.kernels import get_kernel
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, UndefinedMapError, measure_rank
from theorem.util.tokens import TokenSpec

__all__ = ["measure_row"]


#: rows already measured in this process, by their inputs (a TokenSpec builds the same tokens every time)
_ROWS: dict[tuple, dict] = {}
_ROWS_LIMIT = 4096


def measure_row(x_or_spec, kernel: str, params: dict | None = None, map: str = "weights",
                dk: int | None = None, dv: int | None = None, seed: int = 0, spectrum: bool = False) -> dict:
    """Measured and predicted dimension of one pulled-back gradient space (with ``spectrum``, also the
    singular values the rank was read from, largest first, for the report's spectra).

    A row of a :class:`TokenSpec` is measured once per process and shared by every reading that asks for
    the same inputs (the panel is measured by T1 and R3 alike); each caller gets its own copy."""
    if not isinstance(x_or_spec, TokenSpec):
        return _measure_row(x_or_spec, kernel, params, map, dk, dv, seed, spectrum)
    key = (x_or_spec, kernel, tuple(sorted((params or {}).items())), map, dk, dv, seed)
    try:
        hash(key)
    except TypeError:  # a parameter value that is not hashable: measured afresh
        return _measure_row(x_or_spec, kernel, params, map, dk, dv, seed, spectrum)
    if key not in _ROWS:
        if len(_ROWS) >= _ROWS_LIMIT:
            _ROWS.clear()
        _ROWS[key] = _measure_row(x_or_spec, kernel, params, map, dk, dv, seed, True)
    row = copy.deepcopy(_ROWS[key])
    if not spectrum:
        row.pop("singular_values", None)
    return row


def _measure_row(x_or_spec, kernel: str, params: dict | None, map: str, dk: int | None, dv: int | None,
                 seed: int, spectrum: bool) -> dict:
    spec = x_or_spec if isinstance(x_or_spec, TokenSpec) else None
    x = spec.build() if spec is not None else np.asarray(x_or_spec, dtype=np.float64)
    params = params or {}
    problem = PullbackProblem(x, get_kernel(kernel, **params), map, dk, dv, seed)
    n, d = x.shape
    head = {"tokens": spec.to_dict() if spec is not None else {"n": n, "d": d},
            "kernel": problem.kernel.describe(), "map": map, "param": problem.param, "dk": dk}
    sizes = {"ambient": problem.ambient_dim, "d_squared": d * d}
    try:
        meas = measure_rank(problem)
    except UndefinedMapError as err:
        return {**head, "measured": None, "rank_status": "undefined", "gap": None, "tolerance": None,
                "predicted": None, "formula": "", "prediction_valid": False, "violations": [str(err)],
                "invariants": {}, **sizes}
    pred = predict_rank(problem)
    row = {**head, "measured": meas.rank.rank, "rank_status": meas.rank.status, "gap": meas.rank.gap,
           "tolerance": meas.rank.tolerance, "predicted": pred.rank, "formula": pred.formula,
           "prediction_valid": pred.valid, "violations": pred.violations, "invariants": pred.invariants, **sizes}
    if spectrum:
        row["singular_values"] = [float(v) for v in meas.rank.singular_values]
    return row
