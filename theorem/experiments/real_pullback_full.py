"""``real_pullback_full``: the *whole* head (k = 32, 24,640 coordinates) above d, θ ↦ log A — the SVD of the
pulled-back rank-one cotangents beside the closed form, singular values in ``real_pullback_full.npz``
(:func:`theorem.real.sweep.full_head_sweep`).  FULL: about an hour on two cores and 15 GB of memory.
Needs ``make real``."""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.real.sweep import FULL_HEAD, FULL_HEAD_LENGTH, TEXT, full_head_rows, full_head_sweep, meta, model_and_text

NAME = "real_pullback_full"
DESCRIPTION = "real head L0H2 whole: pulled-back rank above d with its spectrum (about an hour)"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "head": list(FULL_HEAD), "n": 40, "maps": ["log-weights"], "route": "sketch"}
FULL: dict[str, Any] = {"text": TEXT, "head": list(FULL_HEAD), "n": FULL_HEAD_LENGTH, "maps": ["log-weights"],
                        "route": "sketch"}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Rows without spectra; the spectra travel under ``"__arrays__"`` (written beside the record as .npz)."""
    model, text = model_and_text(settings["text"])
    start = time.perf_counter()
    recs = full_head_sweep(model, text, head=tuple(settings["head"]), n=settings["n"], maps=tuple(settings["maps"]),
                           route=settings["route"], log=log)
    rows, spectra = full_head_rows(recs)
    return {"meta": {**meta(settings), "n": settings["n"], "head": settings["head"], "route": settings["route"],
                     "spectra": f"{NAME}.npz", "seconds": time.perf_counter() - start},
            "records": rows, "__arrays__": spectra}
