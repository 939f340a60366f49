"""R3 — the d² comes from M being d×d: kernel-free for bilinear scores, not for linear attention."""

from hypothesis import assume, given, note
from hypothesis import strategies as st

from ledger_checks import check_reading_is_decided_from_its_evidence, parametrize_readings, reading_result

from theorem.claims._pullback import measure_row
from theorem.claims.ledger import Verdict
from theorem.strategies import TokenSpec, token_specs


@given(token_specs())
def test_scores_map_dimension_is_rank_squared(spec):
    row = measure_row(spec, "softmax", {}, "scores")
    note(str(row))
    assert row["rank_status"] == "ok"
    assert row["measured"] == row["invariants"]["r"] ** 2 <= spec.d**2


@given(token_specs(kinds=("gaussian", "layernorm_affine", "repeated")))
def test_kernels_differ_by_at_most_rank(spec):
    dims = {k: measure_row(spec, k, p) for k, p in (("softmax", {}), ("poly2", {}), ("csq", {}))}
    # the lemma is about unsaturated weights; saturated softmax rows move nothing
    assume(not any(r["rank_status"] != "ok" or not r["prediction_valid"] or r["invariants"].get("saturated_rows")
                   for r in dims.values()))
    r = dims["softmax"]["invariants"]["r"]
    values = [row["measured"] for row in dims.values()]
    assert max(values) <= r * r
    assert min(values) >= r * r - r


def test_poly2_and_softmax_differ_on_the_minimal_input():
    # d = 1: poly2 weights x_j² / Σ x² do not depend on M at all; softmax's do
    spec = TokenSpec(2, 1, "gaussian", 0)
    assert measure_row(spec, "poly2")["measured"] == 0
    assert measure_row(spec, "softmax")["measured"] == 1


@given(st.integers(4, 9), st.integers(2, 3))
def test_linear_attention_exceeds_d_squared(n, d):
    if n <= 2 * d:
        n = 2 * d + 1
    row = measure_row(TokenSpec(n, d, "gaussian", 0), "linear", {}, "weights", dk=d)
    note(str(row))
    assert row["rank_status"] == "ok"
    assert d * d < row["measured"] <= 2 * d * d


def test_r3c_rule_reports_a_counterexample():
    out = reading_result("R3.c").outcome
    assert out.verdict is Verdict.FAILS
    assert out.counterexample["measured"] > out.counterexample["d_squared"]


@parametrize_readings("R3")
def test_reading_is_decided_from_its_evidence(reading_id):
    check_reading_is_decided_from_its_evidence(reading_id)


def test_r3b_fails_where_poly2_loses_its_scale_direction():
    # in the regime (d ≥ 2, n > d, rank X = d) softmax and CSQ reach d², poly2 d² − m(X) < d²
    res = reading_result("R3.b")
    assert res.outcome.verdict is Verdict.FAILS
    dims = res.outcome.counterexample["dims"]
    d = res.outcome.counterexample["tokens"]["d"]
    assert dims["softmax"] == dims["csq"] == d * d > dims["poly2"]
