r"""The machine balance of the attention cost model, and the calibration record it is read from.

A :class:`MachineBalance` holds the relative costs, in matmul FLOPs, that turn the exact operation
counts of :mod:`theorem.symbolic.flops` into a cost model of one machine:

.. math::

    \mathrm{cost}_q = F_{\mathrm{mm}} + (\rho_q + [n^2 > \mathrm{LLC}]\,\rho_{mem})\,F_{\mathrm{ew}},\qquad
    \mathrm{cost}_l = F_{\mathrm{mm}} + \rho_l\,F_{\mathrm{ew}} + \omega\,L + \kappa.

:func:`this_machine` reads the balance fitted by the calibration run of ``d2check bench attention``
from the packaged record ``theorem/data/records/bench_attention_calibration.json`` (its
``result.balance_fit``), so the numbers have one source, the record, and a provenance.  When the
record is missing (a broken install), the pure FLOP count stands in and its ``source`` says so.

Layer 0: this module reads the record file by its package path (:mod:`importlib.resources`) and
imports nothing else from :mod:`theorem`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["MachineBalance", "PURE_FLOPS", "CALIBRATION_RECORD", "balance_from_fit", "calibrated_balance",
           "this_machine"]

#: the record whose ``result.balance_fit`` is this machine's balance
CALIBRATION_RECORD = "bench_attention_calibration"


@dataclass(frozen=True)
class MachineBalance:
    r"""Relative costs, in matmul FLOPs: :math:`\rho_q` = one elementwise operation of the quadratic form
    (fused passes over the :math:`n\times n` scores), :math:`\rho_l` = one of the linear form (features
    written, then read by a product), :math:`\omega` = one loop trip, :math:`\kappa` = the linear form's
    fixed overhead per call beyond the quadratic form's, :math:`\rho_{mem}` = the extra cost of the
    quadratic form's elementwise operations once an :math:`n\times n` array no longer fits the last-level
    cache (``llc_bytes``; float32)."""

    rho_q: float
    rho_l: float
    omega: float
    source: str
    kappa: float = 0.0
    rho_mem: float = 0.0
    llc_bytes: int = 32 * 2**20
    itemsize: int = 4

    @property
    def n_llc(self) -> float:
        r"""The :math:`n` above which one :math:`n\times n` array exceeds the last-level cache."""
        return math.sqrt(self.llc_bytes / self.itemsize)


#: every operation one FLOP, loops and calls free, no cache: the pure FLOP count
PURE_FLOPS = MachineBalance(rho_q=1.0, rho_l=1.0, omega=0.0, source="pure FLOP count")


def balance_from_fit(fit: dict[str, Any], source: str) -> MachineBalance:
    """The balance a fit of the bench's timings gave (the keys of ``bench.fits.fit_balance``)."""
    return MachineBalance(rho_q=float(fit["rho_q"]), rho_l=float(fit["rho_l"]), omega=float(fit["omega"]),
                          kappa=float(fit["kappa"]), rho_mem=float(fit["rho_mem"]),
                          llc_bytes=int(fit.get("llc_bytes", 32 * 2**20)), source=source)


def _read_record(name: str) -> dict[str, Any] | None:
    res = resources.files("theorem").joinpath("data", "records", f"{name}.json")
    if not res.is_file():
        return None
    return json.loads(res.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def calibrated_balance() -> MachineBalance | None:
    """The balance of the calibration record, or None when the record is missing."""
    rec = _read_record(CALIBRATION_RECORD)
    if rec is None:
        return None
    prov = rec.get("provenance", {})
    commit = (prov.get("git_commit") or "?")[:10]
    source = (f"fitted on the calibration run (record {CALIBRATION_RECORD}, {prov.get('date', '?')}, "
              f"commit {commit})")
    return balance_from_fit(rec["result"]["balance_fit"], source)


def this_machine() -> MachineBalance:
    """This project's machine balance: the calibration record's, or the pure FLOP count where it is missing."""
    bal = calibrated_balance()
    if bal is not None:
        return bal
    return MachineBalance(rho_q=1.0, rho_l=1.0, omega=0.0,
                          source=f"pure FLOP count (record {CALIBRATION_RECORD} is missing)")
