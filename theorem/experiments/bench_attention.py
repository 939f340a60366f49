"""``bench_attention``: softmax vs CSQ, quadratic vs linear, timed over n and d_k in one run
(``d2check bench attention``), with the measured crossovers set beside the cost model's.

The committed record is the ``full`` run that checks the calibrated cost model out of sample: its
``crossovers[*].model_n_star`` were predicted with the balance of the calibration record
(:mod:`theorem.experiments.bench_attention_calibration`), which this run did not fit.  ``full`` takes
about 12 minutes on the project's 2-core machine (run it with ``nice``); ``quick`` under a minute.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.bench.profiles import PROFILES
from theorem.bench.sweep import run as run_bench

NAME = "bench_attention"
DESCRIPTION = "attention timings over n and d_k, crossovers beside the cost model (d2check bench attention)"
QUICK: dict[str, Any] = {"profile": "quick", "max_gib": 4.0, "crossover": True, **PROFILES["quick"]}
FULL: dict[str, Any] = {"profile": "full", "max_gib": 4.0, "crossover": True, **PROFILES["full"]}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The bench's result (the JSON ``d2check bench attention`` writes) for ``settings``."""
    log(f"profile {settings['profile']}: n = {list(settings['ns'])}, d_k = {list(settings['dks'])}")
    return run_bench(settings["profile"], ns=settings["ns"], dks=settings["dks"], max_gib=settings["max_gib"],
                     crossover=settings["crossover"])
