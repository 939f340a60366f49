"""``depth``: the hypothesis-6.2 probe (T8) — stacked quadratic attention fitted to degree-2^L attention.

For every (degree p, depth L, width w) the held-out residual of every restart and the best over restarts
(:func:`theorem.training.depth.run_probe`); the ledger classifies the table and reports every realizable
control (p = 2, every depth, every width ≥ 2d) with how many restarts fit it
(:func:`theorem.claims.t8_depth.classify_pattern`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable

import numpy as np

from theorem.training.depth import FULL_PROBE, QUICK_PROBE, DepthProbe, run_probe

NAME = "depth"
DESCRIPTION = "T8 depth probe: residual of L stacked poly2 layers fitting degree-p attention"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]


def _settings(probe: DepthProbe) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(probe).items()}


QUICK: dict[str, Any] = _settings(QUICK_PROBE)
FULL: dict[str, Any] = _settings(FULL_PROBE)


def run(settings: dict[str, Any], log: Callable[[str], None], *, workers: int | str | None = 1,
        address: str | None = None) -> dict[str, Any]:
    """The probe's table; each (depth, width) is one task of the executor (``--workers N`` runs them on Ray,
    with the same table as the serial run)."""
    probe = DepthProbe(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in settings.items()})

    def finished(index: int, residuals: np.ndarray) -> str:  # the cells run depth-major (run_probe)
        depth, width = probe.depths[index // len(probe.widths)], probe.widths[index % len(probe.widths)]
        best = ", ".join(f"p={p}: {r:.3g}" for p, r in zip(probe.degrees, np.min(residuals, axis=1)))
        return f"depth {depth}, width {width}: best residual {best}"

    result = run_probe(probe, workers=workers, address=address, progress=finished)
    log(f"residual table {len(probe.degrees)} degrees × {len(probe.depths)} depths × {len(probe.widths)} widths")
    return result
