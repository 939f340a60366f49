"""``matching_rates``: how often (a), (b) fail on realistic inputs, beside their closed forms (T6.d).

Layer-norm-scale queries against Gaussian keys with a shared mean of spread τ, n = 32, d_k = 16
(:func:`theorem.numeric.matching.rate_table`); the ledger's settings plus poly2.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.numeric.matching import RATE_SETTINGS, rate_table

NAME = "matching_rates"
DESCRIPTION = "violation rates of (a), (b) per kernel and key-mean spread, measured vs closed forms"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "SETTINGS", "run"]

#: (kernel, key mean τ): the ledger's settings with poly2 inserted before softmax (the notebook's bar order)
SETTINGS: list[list[Any]] = [list(s) for s in RATE_SETTINGS[:5]] + [["poly2", 0.0]] + [list(s) for s in RATE_SETTINGS[5:]]
QUICK: dict[str, Any] = {"settings": SETTINGS, "n": 32, "dk": 16, "trials": 40}
FULL: dict[str, Any] = {"settings": SETTINGS, "n": 32, "dk": 16, "trials": 400}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    table = tuple((str(k), float(tau)) for k, tau in settings["settings"])
    rows = rate_table(table, n=settings["n"], dk=settings["dk"], trials=settings["trials"])
    for r in rows:
        log(f"{r['kernel']} τ={r['key_mean']:g}: (a) {r['a_rate']:.4f} (predicted {r['a_predicted']}), (b) {r['b_rate']:.4f}")
    return {"rows": rows}
