"""The rules of the "explores" readings (T1.explores.*, T5.explores.*) on synthetic evidence: each verdict."""

from __future__ import annotations

import pytest

from theorem.claims import t1_explores, t5_explores
from theorem.claims.ledger import Evidence, Verdict


def row(kernel="softmax", family="gaussian", union=(16, 16, 16), union_pred=None, grads=(1, 2, 3), ceiling=None,
        data=(16, 16), data_pred=None, status="ok", in_regime=True, d=4, seed=0):
    union, grads, data = list(union), list(grads), list(data)
    return {
        "kernel": kernel, "family": family, "stream": "fresh", "seed": seed, "n": 2 * d, "d": d, "steps": len(union),
        "d_squared": d * d, "in_regime": in_regime,
        "one_point": {"rank": union[0], "status": "ok", "predicted": union[0], "formula": "", "valid": True},
        "lengths": list(range(1, len(union) + 1)),
        "union": {"rank": union, "status": [status] * len(union)},
        "union_predicted": list(union if union_pred is None else union_pred), "union_formula": "r*rho_u",
        "grads": {"rank": grads, "status": ["ok"] * len(grads)},
        "grads_ceiling": list(ceiling if ceiling is not None else [min(t + 1, u) for t, u in enumerate(union)]),
        "data_counts": list(range(1, len(data) + 1)), "data": {"rank": data, "status": [status] * len(data)},
        "data_predicted": list(data if data_pred is None else data_pred), "data_formula": "r*rho_u",
        "data_invariants": {}, "loss_first": 1.0, "loss_last": 0.5, "diverged": False,
    }


def evidence(*rows, derivation=True, record_rows=()):
    ev = [Evidence("symbolic", "exact checks", None if derivation else False, key="symbolic.spans")]
    ev += [Evidence("numeric", "row", None, {"row": r}, key=f"row.{i}") for i, r in enumerate(rows)]
    ev.append(Evidence("record", "record", None, {"missing": not record_rows, "rows": list(record_rows)},
                       key="record.spans"))
    return ev


# T1.explores.training -------------------------------------------------------------------------
def test_t1_training_fails_when_softmax_stays_below_d2():
    ev = evidence(row(union=(12, 12, 12), grads=(1, 2, 3), family="layernorm_affine_shared"),
                  row(kernel="poly2", union=(15, 16, 16)))
    out = t1_explores.rule_training(ev)
    assert out.verdict is Verdict.FAILS
    assert out.counterexample["family"] == "layernorm_affine_shared" and out.counterexample["final"] == 12
    assert out.corrected


def test_t1_training_holds_with_conditions_when_only_another_kernel_stays_below():
    ev = evidence(row(union=(16,) * 3, grads=(16,) * 3, ceiling=(16,) * 3),
                  row(kernel="csq", union=(12,) * 3, ceiling=(12,) * 3, grads=(1, 2, 3)))
    out = t1_explores.rule_training(ev)
    assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and out.counterexample["kernel"] == "csq"


def test_t1_training_holds_when_every_fit_reaches_d2():
    ev = evidence(row(union=(16,) * 3, grads=(16,) * 3, ceiling=(16,) * 3),
                  row(kernel="poly2", union=(15, 16, 16), grads=(15, 16, 16), ceiling=(15, 16, 16)))
    assert t1_explores.rule_training(ev).verdict is Verdict.HOLDS


def test_t1_training_is_open_when_trajectories_are_too_short():
    ev = evidence(row(union=(16,) * 3, grads=(1, 2, 3)))
    out = t1_explores.rule_training(ev)
    assert out.verdict is Verdict.OPEN and "too short" in out.because


@pytest.mark.parametrize("bad", [
    dict(status="ill-defined"),  # nothing well defined
    dict(union=(12, 12, 12), union_pred=(16, 16, 16)),  # the closed form is contradicted
    dict(union=(12, 12, 12), union_pred=(None, None, None)),  # the closed form's conditions fail
    dict(in_regime=False, union=(9, 9, 9)),  # outside the claim's regime only
    dict(grads=(1, 3, 3), ceiling=(1, 2, 3)),  # gradients met above their ceiling: not reliable
])
def test_t1_training_is_open_without_reliable_evidence(bad):
    assert t1_explores.rule_training(evidence(row(**bad))).verdict is Verdict.OPEN


def test_t1_training_is_open_when_the_exact_checks_fail():
    ev = evidence(row(union=(12,) * 3, family="layernorm_affine_shared"), derivation=False)
    assert t1_explores.rule_training(ev).verdict is Verdict.OPEN


def test_t1_rules_read_the_record_rows_too():
    ev = evidence(row(union=(16,) * 3, grads=(16,) * 3, ceiling=(16,) * 3),
                  record_rows=[row(union=(12,) * 3, ceiling=(1, 2, 3), family="layernorm_affine_shared", d=4, seed=3)])
    out = t1_explores.rule_training(ev)
    assert out.verdict is Verdict.FAILS and out.counterexample["seed"] == 3


# T1.explores.data ------------------------------------------------------------------------------
def test_t1_data_verdicts():
    soft_ln = row(family="layernorm_affine_shared", data=(12, 12))
    soft_g, poly_g = row(data=(16, 16)), row(kernel="poly2", data=(15, 15))
    assert t1_explores.rule_data(evidence(soft_g, soft_ln, poly_g)).verdict is Verdict.FAILS
    assert t1_explores.rule_data(evidence(soft_g, poly_g)).verdict is Verdict.HOLDS_WITH_CONDITIONS
    assert t1_explores.rule_data(evidence(soft_g)).verdict is Verdict.HOLDS
    assert t1_explores.rule_data(evidence(row(data=(15, 15), data_pred=(16, 16)))).verdict is Verdict.OPEN


# T5.explores.* ---------------------------------------------------------------------------------
def test_t5_training_fails_and_names_the_data_where_the_spans_never_agree():
    ev = evidence(row(union=(16,) * 3), row(kernel="poly2", union=(15, 16, 16)),
                  row(family="layernorm_affine_shared", union=(12,) * 3),
                  row(kernel="poly2", family="layernorm_affine_shared", union=(15, 16, 16)))
    out = t5_explores.rule_training(ev)
    assert out.verdict is Verdict.FAILS
    assert out.counterexample["family"] == "layernorm_affine_shared" and out.counterexample["never"]
    groups = {g["family"]: g for g in t5_explores.compare_groups(ev, "trajectory")}
    assert groups["gaussian"]["agree_end"] and not groups["gaussian"]["agree_first"]
    assert groups["layernorm_affine_shared"]["never"]


def test_t5_training_holds_with_conditions_when_the_spans_agree_only_after_one_point():
    ev = evidence(row(union=(16,) * 3), row(kernel="poly2", union=(15, 16, 16)))
    assert t5_explores.rule_training(ev).verdict is Verdict.HOLDS_WITH_CONDITIONS


def test_t5_training_holds_when_the_spans_agree_at_every_length():
    ev = evidence(row(union=(12,) * 3, family="layernorm_affine_shared"),
                  row(kernel="csq", union=(12,) * 3, family="layernorm_affine_shared"))
    assert t5_explores.rule_training(ev).verdict is Verdict.HOLDS


def test_t5_is_open_without_two_reliable_kernels_on_the_same_data():
    ev = evidence(row(union=(16,) * 3), row(kernel="poly2", union=(15, 16, 16), seed=1))  # different seeds
    assert t5_explores.rule_training(ev).verdict is Verdict.OPEN
    ev = evidence(row(union=(16,) * 3), row(kernel="poly2", union=(15, 16, 16), status="ill-defined"))
    assert t5_explores.rule_training(ev).verdict is Verdict.OPEN
    assert t5_explores.rule_training(evidence(row(), row(kernel="poly2"), derivation=False)).verdict is Verdict.OPEN


def test_t5_data_verdicts():
    fails = evidence(row(data=(16, 16)), row(kernel="poly2", data=(15, 15)))
    assert t5_explores.rule_data(fails).verdict is Verdict.FAILS
    hwc = evidence(row(data=(12, 16)), row(kernel="poly2", data=(15, 16)))
    assert t5_explores.rule_data(hwc).verdict is Verdict.HOLDS_WITH_CONDITIONS
    holds = evidence(row(data=(12, 12)), row(kernel="csq", data=(12, 12)))
    assert t5_explores.rule_data(holds).verdict is Verdict.HOLDS
    assert t5_explores.rule_data(evidence(row(data=(12, 12)))).verdict is Verdict.OPEN
