"""``real_pullback_layer0``: the whole-head pulled-back rank (``kron`` route, certified;
:func:`theorem.real.whole_head.layer_sweep`) of every head of layer 0 at n = 400 > d, beside the closed form,
with the pivots in ``real_pullback_layer0.npz``.  FULL: 12 heads, each like ``real_pullback_full``
(minutes on two idle cores, 4.6 GiB).  QUICK: two heads, n = 40, the first 2 query/key columns.  Needs ``make real``."""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.experiments.real_pullback_full import load
from theorem.experiments.command import main as experiments_main
from theorem.numeric.process_memory import proc_status
from theorem.real.sweep import FULL_HEAD_LENGTH, TEXT, full_head_rows, meta, model_and_text
from theorem.real.whole_head import layer_sweep

NAME = "real_pullback_layer0"
DESCRIPTION = "every head of layer 0 whole: pulled-back rank above d, certified (12 × real_pullback_full)"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"text": TEXT, "layer": 0, "n": 40, "heads": [0, 1], "certify": True, "columns": 2}
FULL: dict[str, Any] = {"text": TEXT, "layer": 0, "n": FULL_HEAD_LENGTH, "heads": None, "certify": True,
                        "columns": None}
#: every head at n = 400 but only the first 4 query/key columns (3,080 coordinates; a Gram 1/64 the size):
#: recorded with ``profile = "medium"`` when FULL cannot finish (``python -m theorem.experiments.real_pullback_layer0``)
MEDIUM: dict[str, Any] = {**FULL, "columns": 4}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    model, text = model_and_text(settings["text"])
    start, load_before = time.perf_counter(), load()
    recs = layer_sweep(model, text, settings["layer"], settings["n"], heads=settings["heads"],
                       certify=settings["certify"], log=log, columns=settings.get("columns"))
    rows, spectra = full_head_rows(recs)
    peak = proc_status("VmHWM")
    return {"meta": {**meta(settings), "n": settings["n"], "layer": settings["layer"], "route": "kron",
                     "spectra": f"{NAME}.npz", "seconds": time.perf_counter() - start,
                     "peak_rss_gib": None if peak is None else round(peak / 2**30, 2),
                     "load_before": load_before, "load_after": load()},
            "records": rows, "__arrays__": spectra}


def main() -> int:
    """Run MEDIUM and write the record (profile ``medium``): ``python -m theorem.experiments real_pullback_layer0 --profile medium``."""
    return experiments_main([NAME, "--profile", "medium"])


if __name__ == "__main__":
    raise SystemExit(main())
