"""``real_fits``: the best CSQ and poly2 approximations of the sample heads' patterns at several lengths
(:func:`theorem.real.sweep.fit_sweep`), with the real and fitted patterns at ``heatmap_n`` tokens in
``real_fits.npz``.  Needs ``make real``."""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.real.sweep import FIT_LENGTHS, HEATMAP_LENGTH, SAMPLE_HEADS, TEXT, fit_sweep, meta, model_and_text

NAME = "real_fits"
DESCRIPTION = "real heads: best CSQ and poly2 fits of the sample heads' attention patterns"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "heads": [[1, 5]], "lengths": [16], "steps": 30, "heatmap_n": 16}
FULL: dict[str, Any] = {"text": TEXT, "heads": [list(h) for h in SAMPLE_HEADS], "lengths": list(FIT_LENGTHS),
                        "steps": 300, "heatmap_n": HEATMAP_LENGTH}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """Fit records; the patterns travel under ``"__arrays__"`` (written beside the record as .npz)."""
    model, text = model_and_text(settings["text"])
    start = time.perf_counter()
    recs, patterns = fit_sweep(model, text, heads=tuple(tuple(h) for h in settings["heads"]),
                               lengths=tuple(settings["lengths"]), steps=settings["steps"], log=log,
                               heatmap_n=settings["heatmap_n"])
    return {"meta": {**meta(settings), "lengths": settings["lengths"], "heads": settings["heads"],
                     "heatmap_n": settings["heatmap_n"], "seconds": time.perf_counter() - start},
            "records": recs, "__arrays__": patterns}
