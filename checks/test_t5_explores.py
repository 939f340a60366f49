"""T5 read along training and across data (T5.explores.training, T5.explores.data): on which data the spans
of softmax and poly2 agree along training, and on which they never do (LayerNorm+affine: softmax d(d − 1),
poly2 d²)."""

import pytest

from ledger_checks import check_reading_is_decided_from_its_evidence, reading_result

from theorem.claims.ledger import Verdict
from theorem.claims.t5_explores import compare_groups

READING_IDS = ("T5.explores.training", "T5.explores.data")


@pytest.mark.parametrize("reading_id", READING_IDS, ids=READING_IDS)
def test_reading_is_decided_from_its_evidence(reading_id):
    check_reading_is_decided_from_its_evidence(reading_id)


def _groups(reading_id, sense):
    return compare_groups(reading_result(reading_id).evidence, sense)


def test_along_training_the_spans_agree_on_gaussian_tokens_and_never_on_layernorm_affine():
    groups = _groups("T5.explores.training", "trajectory")
    gauss = [g for g in groups if g["family"] == "gaussian"]
    # one 1-direction for all the data met: one layer's γ, β, or one LayerNorm+affine matrix every step
    ln = [g for g in groups if g["family"] == "layernorm_affine_shared"
          or (g["family"] == "layernorm_affine" and g["stream"] == "fixed")]
    assert gauss and ln
    for g in gauss:  # both reach d² (poly2 from the second point on)
        assert g["agree_end"] and g["final"]["softmax"] == g["final"]["poly2"] == g["d_squared"]
    for g in ln:  # softmax d(d − 1) at every length, poly2 d² − 1 then d²
        assert g["never"]
        assert set(g["ranks"]["softmax"]) == {g["d"] * (g["d"] - 1)} and g["final"]["poly2"] == g["d_squared"]
    out = reading_result("T5.explores.training").outcome
    c = out.counterexample
    assert out.verdict is Verdict.FAILS and c["never"] and c["family"].startswith("layernorm_affine")
    assert c["final"]["softmax"] == c["d"] * (c["d"] - 1) and c["final"]["poly2"] == c["d_squared"]


def test_across_data_the_spans_never_agree_on_rank_d_tokens():
    for g in _groups("T5.explores.data", "data"):
        if g["family"] in ("gaussian", "layernorm_affine_shared"):
            assert g["never"] and g["final"]["poly2"] == g["d_squared"] - 1
    assert reading_result("T5.explores.data").outcome.verdict is Verdict.FAILS
