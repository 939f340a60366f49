r"""Matching properties of attention kernels, measured (claims T4 and T6).

"Euclidean matching" is never defined in what is known of the paper; this package gives it
precise readings, each a checkable property of a kernel at **one fixed query** ``q`` and one set
of keys ``k_1..k_n`` (weights ``w_j`` = that query's row of ``A``), one concern a module:

* :mod:`.cases` — a case, its weights (the kernel's own code, looked up in
  :data:`theorem.kernels.KERNELS`), **(a)** dot-product monotonicity and **(b)** Euclidean matching;
* :mod:`.conditions` — the conditions the derivations name (equal key norms, above the vertex);
* :mod:`.strategy`, :mod:`.search` — the Hypothesis strategy and the counterexample search
  (:func:`theorem.util.search.search`);
* :mod:`.contrast` — **(d)** the half-mass gap, measured beside its SymPy closed form;
* :mod:`.rates` — how often (a), (b) fail on realistic inputs, beside the closed forms of
  :mod:`theorem.symbolic.matching.rates`;
* :mod:`.penalty` — **(e)** the matching task and held-out measurements of a head trained with
  CSQ's soft penalty (the fit: :mod:`theorem.training.penalty_sweep`).

(c), the identity :math:`\operatorname{softmax}(q\cdot k) =
\operatorname{softmax}(-\lVert q-k\rVert^2/2 + \lVert k\rVert^2/2)`, is derived in
:mod:`theorem.symbolic.matching`.  The soft penalty is :meth:`theorem.kernels.CSQ.vertex_penalty`
(defined there once).
"""

from theorem.numeric.matching.cases import (
    MATCHING_KERNELS,
    PREMISE_TOL,
    READINGS_AB,
    REL_TOL,
    MatchingCase,
    Reversal,
    check_reading,
    kernel_offsets,
    matching_kernel,
    quadratic_order_margin,
    query_weights,
    reversal,
    vertex_margin,
)
from theorem.numeric.matching.conditions import CONDITIONS, candidate_conditions, check_conditions, meets
from theorem.numeric.matching.contrast import (
    CONTRAST_LEVELS,
    best_key_mass,
    contrast_case,
    contrast_table,
    measure_contrast_gap,
)
from theorem.numeric.matching.penalty import PENALTY_KERNELS, PenaltyRun, held_out_stats, task_batch
from theorem.numeric.matching.rates import (
    RATE_SETTINGS,
    ViolationRates,
    draw_inputs,
    predicted_a_rate,
    predicted_euclid_misorder_rate,
    predicted_vertex_misorder_rate,
    rate_table,
    realistic_example,
    pair_violation_rates,
    realistic_violation_rates,
)
from theorem.numeric.matching.search import SearchResult, describe_violation, search_counterexample, search_with_conditions
from theorem.numeric.matching.strategy import matching_arrays, matching_cases

__all__ = [
    "MATCHING_KERNELS", "READINGS_AB", "REL_TOL", "PREMISE_TOL", "CONDITIONS", "MatchingCase", "Reversal",
    "SearchResult", "matching_kernel", "check_reading", "query_weights", "kernel_offsets", "reversal",
    "vertex_margin", "quadratic_order_margin", "candidate_conditions", "check_conditions", "meets",
    "matching_arrays", "matching_cases", "describe_violation", "search_counterexample", "search_with_conditions", "contrast_case",
    "best_key_mass", "measure_contrast_gap", "contrast_table", "CONTRAST_LEVELS", "ViolationRates",
    "draw_inputs", "realistic_violation_rates", "pair_violation_rates", "realistic_example", "predicted_vertex_misorder_rate",
    "predicted_euclid_misorder_rate", "predicted_a_rate", "RATE_SETTINGS", "rate_table", "PENALTY_KERNELS",
    "PenaltyRun", "task_batch", "held_out_stats",
]
