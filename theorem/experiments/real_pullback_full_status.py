"""The whole-head record's rank status re-derived with the ‖Ω‖₂ tolerance, from its saved spectrum.

The whole MiniLM head (L0H2, n = 400, 24,640 coordinates; record ``real_pullback_full``) was measured with a
tolerance scaled by ‖Ω‖_F, about √rank too large, and came back ill-defined although its spectrum drops by
10¹⁰ exactly at the closed form's index.  This experiment regenerates the same cotangents (seed 1, batches of
64), computes ‖Ω‖₂ (Lanczos, :func:`theorem.numeric.sketch.stacked_norm`), and re-runs the rank test on the
saved singular values.  It needs no model: only the record and its spectrum.  Since the whole head is
measured by the ``kron`` route (its own certified rank test, on the Gram's pivots), this applies to a sketch
record only (the committed ``real_pullback_full_status`` record re-derives the former sketch measurement);
on a ``kron`` record it stops with a ValueError saying so.
"""

from __future__ import annotations

import numpy as np

from theorem.experiments.records import require_record, load_arrays
from theorem.numeric.sketch import rederived_rank

NAME = "real_pullback_full_status"
DESCRIPTION = "whole-head rank status re-derived from the saved spectrum with the ‖Ω‖₂ tolerance (~2 min)"
QUICK = {"record": "real_pullback_full", "seed": 1, "batch": 64}
FULL = QUICK


def run(settings: dict, log=print) -> dict:
    rec = require_record(settings["record"])
    arrays = load_arrays(settings["record"]) or {}
    rows = []
    for row in rec["result"]["records"]:
        if row["measurement"].get("route") != "sketch":
            raise ValueError(f"{settings['record']}: route {row['measurement'].get('route')!r} has its own rank test; "
                             "only a sketch measurement has a Frobenius tolerance to re-derive")
        key = next((k for k in arrays if k.endswith(row["map"]) or row["map"] in k), None)
        if key is None:
            raise LookupError(f"no saved spectrum for map {row['map']!r} in {settings['record']}.npz ({list(arrays)})")
        sv = np.asarray(arrays[key], dtype=np.float64)
        meas = row["measurement"]
        shape = (meas["samples"], row["ambient_dim"])
        log(f"{row['map']}: {sv.size} singular values; regenerating {shape[0]} cotangents of {row['n']}×{row['n']}")
        result, omega, scale = rederived_rank(sv, shape, meas["tolerance"], row["n"], row["n"], seed=settings["seed"],
                                              batch=settings["batch"])
        rows.append({"layer": row["layer"], "head": row["head"], "map": row["map"], "n": row["n"],
                     "predicted": row["predicted"], "recorded": {k: meas[k] for k in ("rank", "status", "tolerance", "gap")},
                     "rederived": result.to_dict(), "omega_2": omega, "omega_frobenius": float(np.sqrt(row["n"] ** 2 * shape[0])),
                     "jacobian_scale": scale, "kept_over_tolerance": float(sv[result.rank - 1] / result.tolerance),
                     "agrees": result.status == "ok" and result.rank == row["predicted"]})
        log(f"{row['map']}: rank {result.rank} ({result.status}, tol {result.tolerance:.3g}, σ_r/tol "
            f"{rows[-1]['kept_over_tolerance']:.0f}) vs closed form {row['predicted']}")
    return {"rows": rows}
