"""T5.a's rule driven, on synthetic evidence, to each verdict it allows (holds, fails, open), reading the
exact certificates beside the float64 counts by key."""

from __future__ import annotations

import pytest

from theorem.claims import t5_landscape as t5
from theorem.claims.ledger import Evidence, Verdict


def _panel(label, dims, reliable=True):
    differ = len(set(dims.values())) > 1
    return Evidence("numeric", f"{label}: synthetic", None if not reliable else not differ,
                    {"input": label, "dims": {k: {"measured": v} for k, v in dims.items()}, "reliable": reliable},
                    key=f"panel.{label}")


def _fuzz(found):
    if not found:
        return Evidence("fuzz", "none found", True, {}, key="fuzz")
    return Evidence("fuzz", "found", False, {"counterexample": {"X": [[1.0, 2.0]], "dims": {}}}, key="fuzz")


def _certificate(key, certified, measured):
    return Evidence("symbolic", "synthetic certificate", None,
                    {"certified": certified, "measured": measured,
                     "agrees": all(measured[k] == v for k, v in certified.items())}, key=key)


EQUAL = {"softmax": 9, "poly2": 9, "csq": 9}
DIFFER = {"softmax": 9, "poly2": 8, "csq": 9}


def test_t5a_holds_on_equal_reliable_dimensions():
    assert t5.rule_dimension([_panel("a", EQUAL), _fuzz(False)]).verdict is Verdict.HOLDS


def test_t5a_is_open_without_a_reliable_input():
    assert t5.rule_dimension([_panel("a", DIFFER, reliable=False), _fuzz(False)]).verdict is Verdict.OPEN


@pytest.mark.parametrize("certified,verdict", [(DIFFER, Verdict.FAILS), (EQUAL, Verdict.OPEN), (None, Verdict.FAILS)])
def test_t5a_panel_difference_is_read_with_its_certificate(certified, verdict):
    evidence = [_panel("a", DIFFER), _fuzz(False)]
    if certified is not None:
        evidence.append(_certificate("certificate.panel.a", certified, DIFFER))
    out = t5.rule_dimension(evidence)
    assert out.verdict is verdict
    assert ("certified exactly" in out.because) is (certified is DIFFER)


@pytest.mark.parametrize("certified,verdict", [(DIFFER, Verdict.FAILS), (EQUAL, Verdict.OPEN)])
def test_t5a_fuzz_counterexample_is_read_with_its_certificate(certified, verdict):
    evidence = [_panel("a", EQUAL), _fuzz(True), _certificate("certificate.counterexample", certified, DIFFER)]
    assert t5.rule_dimension(evidence).verdict is verdict


def test_t5a_headline_is_the_counterexample_in_the_claims_regime():
    regime = Evidence("fuzz", "found", False, {"counterexample": {"X": [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], "dims": {}},
                                               "regime": True}, key="fuzz")
    degenerate = Evidence("fuzz", "found", False, {"counterexample": {"X": [[1.0], [-1.0]], "dims": {}},
                                                   "regime": False}, key="fuzz.degenerate")
    out = t5.rule_dimension([_panel("a", EQUAL), regime, degenerate])
    assert out.verdict is Verdict.FAILS and out.counterexample["X"] == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    # with nothing found in the regime, the degenerate counterexample still refutes "for every X"
    out = t5.rule_dimension([_panel("a", EQUAL), _fuzz(False), degenerate])
    assert out.verdict is Verdict.FAILS and out.counterexample["X"] == [[1.0], [-1.0]]
