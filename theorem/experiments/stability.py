"""``stability``: the T6 training-stability sweep — kernel variants × seeds × learning rates, per setting.

Each setting (:data:`theorem.training.sweep.FULL_SETTINGS`: a task, a model shape, an optimizer and a
learning-rate grid) trains softmax, linear, poly2, CSQ and CSQ + penalty side by side
(:func:`theorem.training.sweep.run_setting`; every (seed, learning rate) of a kernel is one vmapped
compiled program); the record holds the per-run numbers (``[seed, lr]``), the subsampled loss and
gradient-norm curves and the summaries.  The ledger recomputes the summaries from the per-run numbers
(:func:`theorem.training.sweep.recompute_summaries`) and applies T6's rule.

Profiles:

* FULL — five settings × five variants × 10 seeds × a 0.25-decade grid (17 Adam rates, 7 SGD rates):
  1.2·10⁶ run-steps (kernel runs × steps), three times the former 5-seed, 0.5-decade sweep's 3.9·10⁵,
  which took an hour on two busy cores;
* MEDIUM — the design recorded when FULL is too long for the machine (profile ``medium``): FULL's ``mqar-32x4-smallinit-sgd`` (W_Q, W_K 20×
  smaller, so the scores start near 0 where poly2's gradient singularity of T6.stab.grad sits; plain SGD,
  where the former sweep saw CSQ + penalty diverge more than poly2) with FULL's 10 seeds and 0.25-decade
  grid, and only the four variants T6's rule compares (softmax, poly2, CSQ, CSQ + penalty; linear is left
  out): 1.12·10⁵ run-steps; ``run_medium()`` writes it.  A two-setting MEDIUM (with ``mqar-32x4-sgd``)
  was started at this stop and stopped: it could not finish on the shared machine;
* QUICK — the tiny smoke setting (2 seeds × 4 rates).
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.experiments.command import main as experiments_main
from theorem.training.sweep import FULL_SETTINGS, QUICK_SETTINGS, run_sweep, setting_by_name, with_variants

NAME = "stability"
DESCRIPTION = "T6 stability sweep: kernels × seeds × learning rates on several training settings"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "MEDIUM", "FULL", "run", "run_medium"]

QUICK: dict[str, Any] = {"settings": [s.name for s in QUICK_SETTINGS]}
FULL: dict[str, Any] = {"settings": [s.name for s in FULL_SETTINGS]}
MEDIUM: dict[str, Any] = {"settings": ["mqar-32x4-smallinit-sgd"],
                          "variants": ["softmax", "poly2", "csq", "csq+penalty"]}


def run(settings: dict[str, Any], log: Callable[[str], None], *, workers: int | str | None = 1,
        address: str | None = None) -> dict[str, Any]:
    """``{"meta", "settings": [one record per setting]}`` (see :func:`theorem.training.sweep.run_sweep`);
    ``settings["variants"]``, when given, restricts every setting to those variant labels.  Each setting is
    one task of the executor (``--workers N`` runs them on Ray, the records those of the serial run)."""
    chosen = tuple(with_variants(setting_by_name(name), settings.get("variants")) for name in settings["settings"])
    return run_sweep(chosen, progress=log, workers=workers, address=address)


def run_medium() -> int:
    """Run MEDIUM and write the record (profile ``medium``): ``python -m theorem.experiments stability --profile medium``."""
    return experiments_main([NAME, "--profile", "medium"])
