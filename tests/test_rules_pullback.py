"""Every rule of T1 and R3 driven, on synthetic evidence, to each verdict its reading allows.

A rule that can only ever return one verdict is a typed-in verdict; these tests show that each rule's
outcome follows its evidence, and that it reads the evidence by key.
"""

from __future__ import annotations

import pytest

from theorem.claims import r3_parametrization as r3
from theorem.claims import t1_pullback as t1
from theorem.claims import t1_regimes as t1r
from theorem.claims.ledger import Evidence, MissingEvidence, Verdict

ROW = {"tokens": {"n": 12, "d": 4, "kind": "offset", "seed": 0, "scale": 1.0}, "kernel": "softmax",
       "measured": 12, "predicted": 12, "d_squared": 16, "dk": 2, "ambient": 16}


def ev(key, supports, **data):
    return Evidence("fuzz", f"{key}: synthetic", supports, data, key=key)


# --- T1.a ---------------------------------------------------------------------------------------
def t1a_evidence(counter_refutes: bool, proof_refutes: bool, closed_form_ok: bool = True):
    return [ev("symbolic.derivations", None), ev("fuzz.closed_form", closed_form_ok),
            ev("counterexample", not counter_refutes, counterexample=ROW),
            ev("proof.layernorm_affine", False if proof_refutes else None, counterexample=ROW)]


def test_t1a_holds_when_nothing_refutes_d_squared():
    assert t1.rule_a(t1a_evidence(False, False)).verdict is Verdict.HOLDS


@pytest.mark.parametrize("counter,proof", [(True, False), (False, True), (True, True)])
def test_t1a_fails_on_a_counterexample_or_the_layernorm_proof(counter, proof):
    out = t1.rule_a(t1a_evidence(counter, proof))
    assert out.verdict is Verdict.FAILS and out.corrected == t1.CORRECTED_M


def test_t1a_calls_the_closed_form_refuted_only_when_its_own_check_fails():
    out = t1.rule_a(t1a_evidence(True, False, closed_form_ok=False))
    assert out.verdict is Verdict.FAILS and "refuted" in out.corrected


def test_a_rule_without_its_evidence_is_a_toolkit_error():
    with pytest.raises(MissingEvidence):
        t1.rule_a([ev("counterexample", False, counterexample=ROW)])


# --- T1.b ---------------------------------------------------------------------------------------
BIAS_ROWS = [{"tokens": "gaussian", "n": 12, "d": 4, "d_squared": 16, "unbiased": 16, "biased_M": 20,
              "biased_M_predicted": 20, "biased_factorized": 20}]


@pytest.mark.parametrize("counter,biases,verdict", [
    (True, True, Verdict.FAILS),
    (False, False, Verdict.HOLDS_WITH_CONDITIONS),
    (False, True, Verdict.HOLDS),
])
def test_t1b_reaches_each_verdict(counter, biases, verdict):
    evidence = [ev("counterexample", not counter, counterexample=ROW), ev("biases", biases, rows=BIAS_ROWS)]
    out = t1.rule_b(evidence)
    assert out.verdict is verdict
    if verdict is Verdict.HOLDS_WITH_CONDITIONS:
        assert out.corrected == t1.CORRECTED_B and out.counterexample["biased_M"] == 20


# --- T1.c, T1.d ---------------------------------------------------------------------------------
@pytest.mark.parametrize("refutes,verdict", [(True, Verdict.FAILS), (False, Verdict.HOLDS)])
def test_t1c_reaches_each_verdict(refutes, verdict):
    evidence = [ev("fuzz.closed_form", True), ev("counterexample", not refutes, counterexample=ROW)]
    assert t1.rule_c(evidence).verdict is verdict


@pytest.mark.parametrize("refutes,verdict", [(True, Verdict.FAILS), (False, Verdict.HOLDS)])
def test_t1d_reaches_each_verdict(refutes, verdict):
    evidence = [ev("symbolic.closed_form", None), ev("fuzz.equivalence", not refutes, counterexample=ROW),
                ev("families", None)]
    assert t1r.rule_generic(evidence).verdict is verdict


# --- R3 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("supports,verdict", [(True, Verdict.HOLDS), (False, Verdict.FAILS)])
def test_r3a_reaches_each_verdict(supports, verdict):
    evidence = [ev("symbolic.kronecker", None), ev("panel.scores", supports, mismatches=[ROW])]
    assert r3.rule_a(evidence).verdict is verdict


@pytest.mark.parametrize("refutes,verdict", [(True, Verdict.FAILS), (False, Verdict.HOLDS)])
def test_r3b_reaches_each_verdict(refutes, verdict):
    cx = {"tokens": ROW["tokens"], "dims": {"softmax": 16, "poly2": 15, "csq": 16}}
    evidence = [ev("panel.weights", None), ev("counterexample", not refutes, counterexample=cx)]
    assert r3.rule_b(evidence).verdict is verdict


@pytest.mark.parametrize("refutes,verdict", [(True, Verdict.FAILS), (False, Verdict.HOLDS)])
def test_r3c_reaches_each_verdict(refutes, verdict):
    evidence = [ev("panel.linear", None), ev("counterexample", not refutes, counterexample=ROW)]
    assert r3.rule_c(evidence).verdict is verdict


def _certificate(key, certified, measured):
    agrees = all(measured[k] == v for k, v in certified.items())
    return Evidence("symbolic", f"{key}: synthetic certificate", None,
                    {"certified": certified, "measured": measured, "agrees": agrees}, key=key)


@pytest.mark.parametrize("certified,verdict", [
    ({"softmax": 16, "poly2": 15, "csq": 16}, Verdict.FAILS),  # the certificate confirms the difference
    ({"softmax": 16, "poly2": 16, "csq": 16}, Verdict.OPEN),  # it contradicts the float64 counts
])
def test_r3b_reads_the_certificate_of_its_counterexample(certified, verdict):
    cx = {"tokens": ROW["tokens"], "dims": {"softmax": 16, "poly2": 15, "csq": 16}}
    evidence = [ev("panel.weights", None), ev("counterexample", False, counterexample=cx),
                _certificate("certificate.counterexample", certified, cx["dims"])]
    out = r3.rule_b(evidence)
    assert out.verdict is verdict
    assert (str(certified) in out.because) is (verdict is Verdict.FAILS)


@pytest.mark.parametrize("proved,verdict", [(True, Verdict.FAILS), (False, Verdict.OPEN)])
def test_r3c_reads_the_lower_bound_certificate_of_its_counterexample(proved, verdict):
    evidence = [ev("panel.linear", None), ev("counterexample", False, counterexample=ROW),
                ev("certificate.counterexample", None, rows=[], proved=proved)]
    assert r3.rule_c(evidence).verdict is verdict
