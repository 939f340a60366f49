"""``real_heads``: every head of all-MiniLM-L6-v2 (6 × 12) at several lengths — rank of A, ε-ranks, the score
bound B and matching on real queries and keys (:func:`theorem.real.sweep.heads_sweep`).  Needs ``make real``."""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.real.sweep import HEAD_LENGTHS, TEXT, heads_sweep, meta, model_and_text

NAME = "real_heads"
DESCRIPTION = "real heads (all-MiniLM-L6-v2): rank, ε-ranks, B and matching of every head at every length"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "lengths": [16]}
FULL: dict[str, Any] = {"text": TEXT, "lengths": list(HEAD_LENGTHS)}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    model, text = model_and_text(settings["text"])
    start = time.perf_counter()
    recs = heads_sweep(model, text, tuple(settings["lengths"]), log=log)
    log(f"heads: {len(recs)} records")
    return {"meta": {**meta(settings), "lengths": settings["lengths"], "seconds": time.perf_counter() - start},
            "records": recs}
