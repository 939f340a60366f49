"""T1 read along training and across data (T1.explores.training, T1.explores.data; docs/pullback.md,
"What the parameters explore").

Lemmas checked on what the ledger reported (the quick fits and the committed record):

* every span measured equals its closed form at every trajectory length / number of token matrices;
* softmax's span along training stays at its one-point value (its deficit does not depend on θ): on
  LayerNorm+affine tokens of one layer d(d − 1) = 12 at every T (d = 4);
* poly2's span reaches d² from the second parameter point on (its one-point deficit moves with θ);
* the gradients met never span more than the union of pulled-back spaces that contains them;
* across data at one point, poly2 stays at d² − 1 (the direction M is invisible for every X).
"""

import pytest

from ledger_checks import check_reading_is_decided_from_its_evidence, reading_result

from theorem.claims._spans import all_rows
from theorem.claims.ledger import Verdict

READING_IDS = ("T1.explores.training", "T1.explores.data")


@pytest.mark.parametrize("reading_id", READING_IDS, ids=READING_IDS)
def test_reading_is_decided_from_its_evidence(reading_id):
    check_reading_is_decided_from_its_evidence(reading_id)


def _rows(reading_id):
    return all_rows(reading_result(reading_id).evidence)


def test_every_span_along_training_equals_its_closed_form():
    for r in _rows("T1.explores.training"):
        assert r["union"]["status"] == ["ok"] * r["steps"], (r["kernel"], r["family"])
        assert r["union"]["rank"] == r["union_predicted"], (r["kernel"], r["family"])
        assert all(g <= u for g, u, s in zip(r["grads"]["rank"], r["union"]["rank"], r["grads"]["status"]) if s == "ok")


def test_softmax_span_along_training_stays_at_its_one_point_value():
    # on fixed data, or on data sharing one 1-direction (one layer's γ, β), ρ_∪ does not grow along the stream
    rows = [r for r in _rows("T1.explores.training") if r["kernel"] in ("softmax", "csq")
            and (r["stream"] == "fixed" or r["family"] in ("layernorm_affine_shared", "gaussian"))]
    assert rows
    for r in rows:
        assert set(r["union"]["rank"]) == {r["one_point"]["rank"]}
        if r["family"] == "layernorm_affine_shared":
            assert r["union"]["rank"][-1] == r["d"] * (r["d"] - 1)
            assert r["grads"]["rank"][-1] == r["d"] * (r["d"] - 1) < r["d_squared"]


def test_poly2_span_along_training_reaches_d_squared_after_one_point():
    rows = [r for r in _rows("T1.explores.training") if r["kernel"] == "poly2" and r["in_regime"]]
    assert rows
    for r in rows:
        assert r["union"]["rank"][0] == r["d_squared"] - 1
        assert set(r["union"]["rank"][1:]) == {r["d_squared"]}


def test_t1_training_fails_on_layernorm_affine_tokens_of_one_layer():
    out = reading_result("T1.explores.training").outcome
    assert out.verdict is Verdict.FAILS
    c = out.counterexample
    assert c["kernel"] == "softmax" and c["final"] == c["one_point"] == c["d"] * (c["d"] - 1) < c["d_squared"]


def test_across_data_poly2_misses_one_direction_and_softmax_the_shared_one():
    for r in _rows("T1.explores.data"):
        assert r["data"]["rank"] == r["data_predicted"]
        if r["kernel"] == "poly2" and r["in_regime"]:
            assert r["data"]["rank"][-1] == r["d_squared"] - 1
        if r["kernel"] == "softmax" and r["family"] == "layernorm_affine_shared":
            assert r["data"]["rank"][-1] == r["d"] * (r["d"] - 1)
    assert reading_result("T1.explores.data").outcome.verdict is Verdict.FAILS
