"""T8: hypothesis 6.2 — "stacks of quadratic attention simulate degree-p polynomial attention with O(log p) depth".

An assumption of the paper, not a theorem.  The probe (:mod:`theorem.training.depth`): fit
``L = 1, 2, 3`` stacked row-normalized quadratic-attention layers (poly2, residual, width ``w``)
to the outputs of degree-``2^L`` polynomial attention by optimization, and report the held-out
residual against depth and width, beside a realizable control (``p = 2`` by one layer, exact
for ``w ≥ 2d``).

Reading **T8.probe**: "depth ``log₂ p`` suffices to fit degree-``p`` attention, and less depth
does not".  A finite optimization probe can neither prove an ``O(log p)`` statement for all
``p`` nor refute the existence of weights it did not find, so the verdict is ``open`` whatever the
table shows; the rule classifies the table into a fixed set of patterns (see
:func:`theorem.training.depth.classify_pattern`) and the ``because`` line says which one was
measured, with the numbers.  Quick profile: d = 3, n = 6, p ∈ {2, 4}, L ∈ {1, 2}, width 6,
8 restarts × 400 steps; full profile: p ∈ {2, 4, 8}, L ∈ {1, 2, 3}, widths {6, 12}, 8 restarts ×
1000 steps (``python -m theorem.training.depth --full`` writes the same numbers to
``notebooks/data/05_depth.json``, which the notebook plots).
"""

from __future__ import annotations

import numpy as np

from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict

PATTERN_WORDS = {
    "consistent-with-6.2": "depth log₂ p fits degree-p attention and one layer less does not: consistent with 6.2 at these sizes",
    "depth-does-not-help": "extra depth does not lower the residual for p ≥ 4: no support for 6.2 from this probe",
    "depth-helps-but-no-fit": "depth lowers the residual but depth log₂ p does not reach a fit: partial support at best",
    "optimizer-unreliable": "the optimizer did not fit the realizable control (p = 2, one layer): the probe is inconclusive",
    "mixed": "no consistent pattern across degrees",
}


def probe_config(profile: Profile):
    from theorem.training.depth import FULL_PROBE, QUICK_PROBE

    return FULL_PROBE if profile.full else QUICK_PROBE


def gather_probe(profile: Profile) -> list[Evidence]:
    from theorem.training.depth import run_probe

    res = run_probe(probe_config(profile))
    table = np.asarray(res["residual"])
    lines = []
    for i, p in enumerate(res["degrees"]):
        cells = ", ".join(
            f"L={L}: " + "/".join(f"{table[i, j, k]:.2e}" for k in range(len(res["widths"])))
            for j, L in enumerate(res["depths"])
        )
        lines.append(f"p={p}: {cells}")
    pat = res["pattern"]
    return [
        Evidence(
            "numeric",
            f"held-out residual Σ‖Ô − O‖²/Σ‖O‖² (best of {res['restarts']} restarts, widths {res['widths']}, "
            f"n = {res['n']}, d = {res['d']}, {res['steps']} Adam steps): " + "; ".join(lines)
            + f"; realizable control (p = 2, L = 1): {pat['control_residual']:.1e} (exact fit exists: 0)",
            None,
            res,
        )
    ]


def rule_probe(evidence: list[Evidence]) -> Outcome:
    res = evidence[0].data
    pat = res["pattern"]
    checks = "; ".join(
        f"p = {c['degree']}: depth {c['depth']} residual {c['residual_at_log2p']:.2e} vs depth {c['depth'] - 1} "
        f"{c['residual_at_one_less']:.2e}" for c in pat["checks"]
    )
    because = f"pattern '{pat['pattern']}': {PATTERN_WORDS[pat['pattern']]}" + (f" ({checks})" if checks else "")
    return Outcome(
        Verdict.OPEN,
        because,
        corrected=("hypothesis 6.2 remains an assumption: an optimization probe at p ≤ "
                   f"{max(res['degrees'])} can neither prove O(log p) depth for all p nor exclude weights it did not find"),
    )


READINGS = (
    Reading(
        "T8.probe",
        "Depth log₂ p of stacked quadratic attention suffices to fit degree-p polynomial attention (p = 2^L), and one "
        "layer less does not.",
        gather_probe,
        rule_probe,
    ),
)
