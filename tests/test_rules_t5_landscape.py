"""T5.b (``rule_function_class``) and T5.c (``rule_landscape``) driven, on synthetic evidence found by key, to
each verdict their code can return (holds, fails, open); the expected verdicts are read off the readings'
statements, the thresholds (``REALISED``, ``NEAR``, ``EULER_TOL``, ``NULL_TOL``) are the module's own."""

from __future__ import annotations

import pytest

from theorem.claims import t5_landscape as t5
from theorem.claims.ledger import Evidence, Verdict


# --- T5.b: function class ------------------------------------------------------------------------------
def _antipodal(poly2_gap: float, csq_gap: float, soft_gap: float) -> Evidence:
    return Evidence("numeric", "synthetic antipodal pattern", None, {
        "pattern": "antipodal one-hot", "n": 4, "d": 2, "tokens": [[1.0, 0.0], [-1.0, 0.0]], "target": [1, 0],
        "measured": {"poly2": poly2_gap, "softmax": soft_gap, "csq": csq_gap},
        "poly2_lower_bound": 1.0, "csq_certificate_gap": csq_gap}, key="pattern.antipodal")


def _nonmonotone(soft_gap: float, csq_gap: float) -> Evidence:
    return Evidence("numeric", "synthetic non-monotone row", None, {
        "pattern": "non-monotone", "keys": [0.0, 1.0, 2.0], "target": [0.0, 1.0, 0.0],
        "softmax": {"gap": soft_gap}, "poly2": {"gap": 13 / 15}, "csq(shift=1, center=True)": {"gap": csq_gap},
        "predicted": {"softmax": {"value": 1 / 15}}}, key="pattern.nonmonotone")


@pytest.mark.parametrize("evidence,verdict", [
    ([], Verdict.OPEN),  # nothing measured
    ([_antipodal(1.0, 0.0, 1e-3)], Verdict.FAILS),  # poly2 blocked at its bound, CSQ exact
    ([_antipodal(1.2, 0.5, 0.05)], Verdict.FAILS),  # poly2 blocked, softmax approaches (CSQ does not)
    ([_antipodal(0.3, 0.0, 1e-3)], Verdict.HOLDS),  # poly2 below its proven bound: no separation shown
    ([_antipodal(1.0, 0.5, 0.5)], Verdict.HOLDS),  # poly2 blocked but neither other kernel realises the row
    ([_nonmonotone(1 / 15, 0.0)], Verdict.FAILS),  # softmax at its bound 1/15, CSQ exact
    ([_nonmonotone(0.01, 0.0)], Verdict.HOLDS),  # softmax below its bound: no separation
    ([_nonmonotone(0.2, 1e-3)], Verdict.HOLDS),  # CSQ not exact
    ([_antipodal(0.3, 0.0, 1e-3), _nonmonotone(0.1, 0.0)], Verdict.FAILS),  # the second pattern separates
])
def test_t5b_rule(evidence, verdict):
    out = t5.rule_function_class(evidence)
    assert out.verdict is verdict
    if verdict is Verdict.FAILS:
        assert out.counterexample["pattern"] in ("antipodal one-hot", "non-monotone row")
        assert out.corrected


def test_t5b_counterexample_is_the_antipodal_pattern_when_both_separate():
    out = t5.rule_function_class([_nonmonotone(0.1, 0.0), _antipodal(1.0, 0.0, 1e-3)])
    assert out.counterexample["pattern"] == "antipodal one-hot" and out.counterexample["poly2_lower_bound"] == 1.0


# --- T5.c: landscape ----------------------------------------------------------------------------------
def _landscape(euler: float, null_ratio: float, *, rank: int = 4, lam: float = 0.02, predicted: float = 0.02,
               status: str = "ok", spectra: float = 0.3) -> list[Evidence]:
    return [
        Evidence("numeric", "synthetic", None, {"euler_residual": euler}, key="euler"),
        Evidence("numeric", "synthetic", None, {"null_ratio": null_ratio}, key="poly2_critical"),
        Evidence("numeric", "synthetic", None, {"lambda_min": lam, "predicted_lambda_min": predicted,
                                                 "jacobian_rank": rank, "jacobian_rank_status": status,
                                                 "d_squared": 4}, key="softmax_minimum"),
        Evidence("numeric", "synthetic", None, {"spectral_distance_to_softmax": {"poly2": spectra, "csq": spectra}},
                 key="spectra"),
    ]


@pytest.mark.parametrize("evidence,verdict", [
    (_landscape(0.0, 0.0), Verdict.FAILS),  # poly2 degenerate, softmax minimum non-degenerate
    (_landscape(1.0, 1.0, spectra=0.0), Verdict.HOLDS),  # nothing degenerate and the spectra agree
    (_landscape(1.0, 1.0), Verdict.OPEN),  # spectra differ but no invariant separates
    (_landscape(0.0, 0.0, rank=3), Verdict.OPEN),  # softmax's Jacobian rank below d²
    (_landscape(0.0, 0.0, status="ill-conditioned"), Verdict.OPEN),  # rank not well defined
    (_landscape(0.0, 0.0, lam=0.03), Verdict.OPEN),  # λ_min disagrees with σ_min(J)²/n
    (_landscape(0.0, 0.0, spectra=0.0), Verdict.FAILS),  # equal spectra do not undo the degenerate cone
    (_landscape(0.0, 1.0, spectra=0.0), Verdict.HOLDS),  # Euler residual alone does not make it degenerate
])
def test_t5c_rule(evidence, verdict):
    assert t5.rule_landscape(evidence).verdict is verdict


def test_t5c_thresholds_are_the_modules():
    at = _landscape(t5.EULER_TOL, t5.NULL_TOL)
    above = _landscape(t5.EULER_TOL * 10, t5.NULL_TOL)
    assert t5.rule_landscape(at).verdict is Verdict.FAILS
    assert t5.rule_landscape(above).verdict is Verdict.OPEN
