"""``real_pullback_full``: the *whole* head L0H2 (k = 32, 24,640 coordinates) above d, θ ↦ log A, by the
``kron`` route — the map's Gram from its Kronecker structure, pivoted Cholesky, the tolerance-and-gap test
and a proved gap bound (:mod:`theorem.numeric.kron_rank`) — beside the closed form; the pivots in
``real_pullback_full.npz`` (:func:`theorem.real.sweep.full_head_sweep`).  FULL: n = 400, about 4.6 GiB;
minutes on two idle cores (the record says how long it took and at what load).  QUICK: n = 40 and the
first 2 query/key columns (the Gram's size does not depend on n).
Needs ``make real``.  ``route: "sketch"`` gives the former measurement (an hour, 15 GB)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from theorem.numeric.process_memory import proc_status
from theorem.real.sweep import FULL_HEAD, FULL_HEAD_LENGTH, TEXT, full_head_rows, full_head_sweep, meta, model_and_text

NAME = "real_pullback_full"
DESCRIPTION = "real head L0H2 whole: pulled-back rank above d by its Kronecker Gram, with a proved gap bound (5–15 min, 5.4 GiB)"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "head": list(FULL_HEAD), "n": 40, "maps": ["log-weights"], "route": "kron",
                         "columns": 2}
# certify: the proving second Cholesky is LAPACK's pivoted dpstrf on the first factorization's untouched
# triangle (OpenBLAS's own dpotrf crashed twice at p = 24,640 with 2 threads, 2026-12-02)
FULL: dict[str, Any] = {"text": TEXT, "head": list(FULL_HEAD), "n": FULL_HEAD_LENGTH, "maps": ["log-weights"],
                        "route": "kron", "columns": None, "certify": True}


def load() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system does not say)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Rows without spectra; the spectra travel under ``"__arrays__"`` (written beside the record as .npz)."""
    model, text = model_and_text(settings["text"])
    start, load_before = time.perf_counter(), load()
    recs = full_head_sweep(model, text, head=tuple(settings["head"]), n=settings["n"], maps=tuple(settings["maps"]),
                           route=settings["route"], log=log, columns=settings.get("columns"),
                           certify=settings.get("certify", True))
    rows, spectra = full_head_rows(recs)
    peak = proc_status("VmHWM")
    return {"meta": {**meta(settings), "n": settings["n"], "head": settings["head"], "route": settings["route"],
                     "spectra": f"{NAME}.npz", "seconds": time.perf_counter() - start,
                     "peak_rss_gib": None if peak is None else round(peak / 2**30, 2), "cores": os.cpu_count(),
                     "load_before": load_before, "load_after": load()},
            "records": rows, "__arrays__": spectra}
