"""``stability``: the T6 training-stability sweep — every kernel variant × seeds × learning rates, per setting.

Each setting (:data:`theorem.training.sweep.FULL_SETTINGS`: a task, a model shape, an optimizer and a
learning-rate grid) trains softmax, linear, poly2, CSQ and CSQ + penalty side by side
(:func:`theorem.training.sweep.run_setting`); the record holds the per-run numbers (``[seed, lr]``),
the subsampled loss and gradient-norm curves and the summaries.  The ledger recomputes the summaries
from the per-run numbers (:func:`theorem.training.sweep.recompute_summaries`) and applies T6's rule.
FULL takes about an hour on two busy cores.
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.training.sweep import FULL_SETTINGS, QUICK_SETTINGS, run_sweep, setting_by_name

NAME = "stability"
DESCRIPTION = "T6 stability sweep: kernels × seeds × learning rates on several training settings"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"settings": [s.name for s in QUICK_SETTINGS]}
FULL: dict[str, Any] = {"settings": [s.name for s in FULL_SETTINGS]}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """``{"meta", "settings": [one record per setting]}`` (see :func:`theorem.training.sweep.run_sweep`)."""
    return run_sweep(tuple(setting_by_name(name) for name in settings["settings"]), progress=log)
