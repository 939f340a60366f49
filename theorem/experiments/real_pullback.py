"""``real_pullback``: the pulled-back rank with biases of one head per layer (scores and log-weights maps,
sub-heads of a few coordinates), below and above d = 384, with the closed form for the whole head
(:func:`theorem.real.sweep.pullback_sweep`).  Needs ``make real``."""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.real.sweep import PULLBACK_COLUMNS, PULLBACK_LENGTHS, SAMPLE_HEADS, TEXT, meta, model_and_text, pullback_sweep

NAME = "real_pullback"
DESCRIPTION = "real heads: pulled-back rank with biases of one head per layer, measured vs closed form"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "heads": [[1, 5]], "lengths": [40], "columns": 1, "full_width_at": None}
FULL: dict[str, Any] = {"text": TEXT, "heads": [list(h) for h in SAMPLE_HEADS], "lengths": list(PULLBACK_LENGTHS),
                        "columns": PULLBACK_COLUMNS, "full_width_at": PULLBACK_LENGTHS[0]}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    model, text = model_and_text(settings["text"])
    heads = tuple(tuple(h) for h in settings["heads"])
    start = time.perf_counter()
    recs = pullback_sweep(model, text, heads=heads, lengths=tuple(settings["lengths"]), columns=settings["columns"],
                          full_width_at=settings["full_width_at"], log=log)
    return {"meta": {**meta(settings), "lengths": settings["lengths"], "columns": settings["columns"],
                     "heads": settings["heads"], "seconds": time.perf_counter() - start}, "records": recs}
