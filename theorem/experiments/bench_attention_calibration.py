"""``bench_attention_calibration``: the bench run whose fitted machine balance is the cost model's.

The same sweep as :mod:`theorem.experiments.bench_attention`; its ``result.balance_fit`` (non-negative
least squares of the cost model on this run's CSQ timings, :func:`theorem.bench.fits.fit_balance`) is
what :func:`theorem.util.machine.this_machine` reads, so ``algorithm="auto"`` and the claims' cost
model use it.  Regenerate it on a new machine, then regenerate ``bench_attention`` to check it out of
sample.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.experiments.bench_attention import FULL, QUICK
from theorem.experiments.bench_attention import run as run_bench

NAME = "bench_attention_calibration"
DESCRIPTION = "calibration run of the attention bench: its balance fit is the cost model's machine balance"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The bench's result for ``settings``; ``result["balance_fit"]`` is the calibrated balance."""
    result = run_bench(settings, log)
    fit = result.get("balance_fit", {})
    if "rho_q" in fit:
        log("balance fit: " + ", ".join(f"{k} = {fit[k]:.3g}" for k in ("rho_q", "rho_l", "rho_mem", "omega", "kappa")))
    else:
        log(f"balance fit failed: {fit.get('error')}")
    return result
