"""Every rule of T4, T6 (matching) and R4 driven, on synthetic evidence found by key, to each verdict it can
return.  A rule that can only return one verdict is a typed-in verdict; these show each follows its evidence."""

from __future__ import annotations

import pytest

from theorem.claims import r4_bottleneck as r4
from theorem.claims import t4_matching as t4
from theorem.claims import t6_matching as t6
from theorem.claims.ledger import Evidence, MissingEvidence, Verdict

CEX = {"q": [1.0], "keys": [[1.0], [2.0]], "weights": [0.6, 0.4], "reversal": 0.2}


def ev(key, supports=None, measured=None, **data):
    return Evidence("fuzz", f"{key}: synthetic", supports, data, key=key, measured=measured)


# --- T4.a/b and T6.a/b: kernel × property -------------------------------------------------------
def prop_evidence(free_cex, cond=None, derived=None, proof=None):
    out = [ev("fuzz.unconditional", counterexample=free_cex, cases_evaluated=200)]
    if cond is not None:
        met, ccex = cond
        out.append(ev("fuzz.conditional", conditions=["above-vertex"], cases_meeting_conditions=met,
                      cases_evaluated=200, counterexample=ccex))
    if derived is not None:
        out.append(ev("symbolic.monotone", supports=derived))
    if proof is not None:
        out.append(ev("symbolic.conditions_unsatisfiable", holds=proof))
    return out


@pytest.mark.parametrize("evidence,verdict", [
    (prop_evidence(None, derived=True), Verdict.HOLDS),
    (prop_evidence(None), Verdict.HOLDS),
    (prop_evidence(None, derived=False), Verdict.OPEN),
    (prop_evidence(CEX), Verdict.FAILS),
    (prop_evidence(CEX, cond=(0, None)), Verdict.FAILS),
    (prop_evidence(CEX, cond=(50, CEX)), Verdict.FAILS),
    (prop_evidence(CEX, cond=(50, None)), Verdict.HOLDS_WITH_CONDITIONS),
    (prop_evidence(CEX, cond=(0, None), proof=True), Verdict.FAILS),
    (prop_evidence(CEX, cond=(50, None), proof=False), Verdict.HOLDS_WITH_CONDITIONS),
])
def test_property_rule_reaches_each_verdict(evidence, verdict):
    assert t4.rule_property("csq", "a", evidence).verdict is verdict


def test_noshift_unreachable_conditions_are_said_as_a_proof_not_a_count():
    out = t4.rule_property("csq-noshift", "a", prop_evidence(CEX, cond=(0, None), proof=True))
    assert "proved" in out.because and "met by none" not in out.because
    counted = t4.rule_property("csq-noshift", "a", prop_evidence(CEX, cond=(0, None)))
    assert "met by none of 200" in counted.because


def test_property_rule_without_its_search_is_a_toolkit_error():
    with pytest.raises(MissingEvidence):
        t4.rule_property("csq", "a", [ev("symbolic.monotone", supports=True)])


# --- T4.c ---------------------------------------------------------------------------------------
def identity_evidence(ok: bool):
    return [ev("symbolic.identity", supports=True),
            ev("symbolic.factorization.softmax", supports=True, measured=True, kernel="softmax"),
            ev("symbolic.factorization.poly2", supports=ok, measured=False, kernel="poly2"),
            ev("numeric.kernel_code", supports=True, measured=1e-16, measured_equal_norm_diff=1e-16, tolerance=1e-12)]


def test_identity_rule():
    assert t4.rule_identity(identity_evidence(True)).verdict is Verdict.HOLDS
    out = t4.rule_identity(identity_evidence(False))
    assert out.verdict is Verdict.FAILS and "poly2" in out.because


# --- T4.d ---------------------------------------------------------------------------------------
def t4d_evidence(linear_gaps: list[float], agrees: bool = True):
    ns = [3, 10, 100]
    soft = [{"n": n, "level": 0.0, "measured": v} for n, v in zip(ns, (0.693, 2.197, 4.595))]
    lin = [{"n": n, "level": 0.0, "measured": v} for n, v in zip(ns, linear_gaps)]
    return [ev("contrast.softmax", kernel="softmax", agrees=True, rows=soft),
            ev("contrast.linear", kernel="linear", agrees=agrees, rows=lin)]


@pytest.mark.parametrize("gaps,agrees,verdict", [
    ([1.0, 8.0, 98.0], True, Verdict.HOLDS),
    ([0.5, 2.0, 4.0], True, Verdict.FAILS),
    ([0.693, 8.0, 98.0], True, Verdict.HOLDS_WITH_CONDITIONS),
    ([1.0, 8.0, 98.0], False, Verdict.OPEN),
])
def test_t4d_rule(gaps, agrees, verdict):
    out = t4.rule_contrast(t4d_evidence(gaps, agrees))
    assert out.verdict is verdict
    if verdict is Verdict.HOLDS_WITH_CONDITIONS:
        assert "d_k = 1" in out.corrected


# T4.e: tests/test_rules_t4e.py


# --- T6.c ---------------------------------------------------------------------------------------
def t6c_evidence(csq: list[float], agrees=True, unit=0.0, limit="oo"):
    ns = [3, 10, 100]
    rows = [{"kernel": "softmax", "n": n, "measured": v} for n, v in zip(ns, (0.693, 2.197, 4.595))]
    rows += [{"kernel": "csq", "n": n, "measured": v} for n, v in zip(ns, csq)]
    return [ev("symbolic.contrast_gap", closed_form_holds=True, limit_over_log=limit),
            ev("numeric.contrast", agrees=agrees, rows=rows),
            ev("numeric.shift_unit", measured=unit),
            ev("symbolic.crossover", rows=[{"shift": 1.0, "n_star": 21.3, "sharper_up_to": 21},
                                           {"shift": 0.5, "n_star": 134.6, "sharper_up_to": 134}],
               scaling={"c = c0·log(n)/√n": "c_0", "c = c0/√n": "0", "c = c0·√n": "oo"})]


@pytest.mark.parametrize("evidence,verdict", [
    (t6c_evidence([0.36, 1.9, 8.9]), Verdict.FAILS),
    (t6c_evidence([0.693, 2.197, 4.595], limit="1"), Verdict.HOLDS),
    (t6c_evidence([0.36, 1.9, 8.9], agrees=False), Verdict.OPEN),
    (t6c_evidence([0.36, 1.9, 8.9], unit=1e-3), Verdict.OPEN),
])
def test_t6c_rule(evidence, verdict):
    assert t6.rule_contrast(evidence).verdict is verdict


def test_t6c_names_the_crossover_and_the_shift_scaling():
    out = t6.rule_contrast(t6c_evidence([0.36, 1.9, 8.9]))
    assert "n ≤ 21" in out.because and "n* = 21.30" in out.because
    assert "log(n)/√n" in out.corrected


# --- T6.d ---------------------------------------------------------------------------------------
def rate(kernel, tau, a, pa, b=0.1, pb=0.1, se=0.001):
    return ev(f"rate.{kernel}.tau={tau:g}", kernel=kernel, key_mean=tau, a_rate=a, a_se=se, a_predicted=pa,
              b_rate=b, b_se=se, b_predicted=pb)


def t6d_evidence(csq_rate: float, predicted: float, example):
    return [rate("csq", 0.0, csq_rate, predicted), rate("csq", 1.0, csq_rate, predicted),
            rate("csq-uncentered", 1.0, 0.1, 0.1), rate("csq-noshift", 0.0, 0.5, 0.5), rate("softmax", 0.0, 0.0, 0.0),
            ev("example", example=example)]


@pytest.mark.parametrize("evidence,verdict", [
    (t6d_evidence(0.0, 0.0, None), Verdict.HOLDS),
    (t6d_evidence(0.05, 0.05, CEX), Verdict.FAILS),
    (t6d_evidence(0.05, 0.2, CEX), Verdict.OPEN),
])
def test_t6d_rule(evidence, verdict):
    assert t6.rule_realistic(evidence).verdict is verdict


# --- T6.e ---------------------------------------------------------------------------------------
def pen(lam, loss, worst_a, kernel="csq"):
    runs = [{"a_rate": worst_a, "seed": 0}, {"a_rate": worst_a / 2, "seed": 1}]
    return ev(f"penalty.{kernel}.lam={lam:g}", measured=worst_a, kernel=kernel, lam=lam, runs=runs,
              median_task_loss=loss, median_target_mass=0.5, median_a_rate=worst_a, median_below_vertex=0.1)


@pytest.mark.parametrize("evidence,verdict", [
    ([pen(0.0, 1.0, 0.2), pen(100.0, 1.05, 0.005)], Verdict.HOLDS),
    ([pen(0.0, 1.0, 0.2), pen(10.0, 1.05, 0.008), pen(100.0, 1.4, 0.0)], Verdict.HOLDS_WITH_CONDITIONS),
    ([pen(0.0, 1.0, 0.2), pen(100.0, 1.47, 0.0)], Verdict.FAILS),  # kept, but +47% against the 10% bar
    ([pen(0.0, 1.0, 0.2), pen(100.0, 1.0, 0.05)], Verdict.FAILS),  # not kept
    ([pen(100.0, 1.0, 0.0)], Verdict.OPEN),
    ([pen(0.0, 1.0, 0.2)], Verdict.OPEN),
])
def test_t6e_rule(evidence, verdict):
    assert t6.rule_penalty(evidence).verdict is verdict


def test_t6e_cost_over_its_bar_fails_and_says_the_cost():
    out = t6.rule_penalty([pen(0.0, 1.0, 0.2), pen(100.0, 1.47, 0.0), pen(0.0, 0.06, 0.0, kernel="softmax")])
    assert out.verdict is Verdict.FAILS and "+47%" in out.corrected and out.counterexample["loss_cost"] > 0.46
    assert "softmax reaches 0.060" in out.because


def test_t6e_quick_profile_shows_the_recorded_softmax_reference():
    record = ev("record.matching_penalty", median_task_loss={"csq λ=0": 1.32, "softmax λ=0": 0.06},
                median_target_mass={"csq λ=0": 0.28, "softmax λ=0": 0.957})
    out = t6.rule_penalty([pen(0.0, 1.0, 0.2), pen(100.0, 1.47, 0.0), record])
    assert "softmax (record matching_penalty, not re-run) reaches 0.060 (target mass 0.957)" in out.because
    assert "CSQ at λ = 0 there 1.320 (0.280)" in out.because
    bare = t6.rule_penalty([pen(0.0, 1.0, 0.2), pen(100.0, 1.47, 0.0)])
    assert "softmax reference: not measured" in bare.because


# --- R4 -----------------------------------------------------------------------------------------
def r4_evidence(series: list[tuple], escape: bool, mismatch: bool = False):
    fits = [ev(f"fit.softmax.p{i}", kernel="softmax", pattern=f"p{i}", series=s) for i, s in enumerate(series)]
    return fits + [ev("construction.free_range", supports=not escape, b_needed={8: 30.0}),
                   ev("construction.optimizer", rows=[{"measured": 0.5 if mismatch else 0.1, "predicted": 0.1}])]


GROWS = [(8, 0.2, 0.0), (32, 0.6, 0.0)]
FLAT = [(8, 0.2, 0.0), (32, 0.15, 0.1)]


@pytest.mark.parametrize("evidence,verdict", [
    (r4_evidence([GROWS, GROWS], escape=False), Verdict.HOLDS),
    (r4_evidence([GROWS, GROWS], escape=True), Verdict.HOLDS_WITH_CONDITIONS),
    (r4_evidence([GROWS, FLAT], escape=False, mismatch=True), Verdict.HOLDS_WITH_CONDITIONS),
    (r4_evidence([FLAT, FLAT], escape=True), Verdict.FAILS),
])
def test_r4a_rule(evidence, verdict):
    assert r4.rule_a(evidence).verdict is verdict


def logrank(rows):
    return [ev("log_rank", rows=rows)]


@pytest.mark.parametrize("rows,verdict", [
    ([{"status": "ok", "measured": 3, "predicted_max": 3}, {"status": "ill-defined", "measured": 5, "predicted_max": 3}],
     Verdict.HOLDS),
    ([{"status": "ok", "measured": 4, "predicted_max": 3}], Verdict.FAILS),
    ([{"status": "ill-defined", "measured": 4, "predicted_max": 3}], Verdict.OPEN),
])
def test_r4b_rule(rows, verdict):
    assert r4.rule_b(logrank(rows)).verdict is verdict
