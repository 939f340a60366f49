"""T8's pattern rule driven, on synthetic residual tables, to each pattern it can return; every control counts."""

from __future__ import annotations

import numpy as np
import pytest

from theorem.claims import t8_depth as t8
from theorem.claims.ledger import Evidence, Verdict

GOOD = 1e-12


def table(p2, p4, p8=None, widths=(6, 12)):
    """residual[degree][depth][width] from per-degree [depth][width] lists (d = 3, so w ≥ 6 is realizable)."""
    rows = [p2, p4] + ([p8] if p8 is not None else [])
    return {"d": 3, "n": 6, "degrees": [2, 4, 8][: len(rows)], "depths": [1, 2, 3], "widths": list(widths),
            "residual": rows, "restarts": 8, "steps": 10}


CONTROLS_OK = [[GOOD, GOOD]] * 3


def test_a_control_failing_at_one_width_is_not_hidden_by_the_other():
    r = table([[GOOD, 0.22], [GOOD, GOOD], [GOOD, GOOD]], [[0.04, 0.3], [0.035, 0.04], [0.04, 0.04]])
    pat = t8.classify_pattern(r)
    assert pat["pattern"] == "optimizer-unreliable"
    assert [(c["depth"], c["width"]) for c in pat["failed_controls"]] == [(1, 12)]
    # the width-12 cells beaten by the width-6 cells they contain are named too
    assert {(v["degree"], v["depth"], v["width"]) for v in pat["nesting_violations"]} == {(2, 1, 12), (4, 1, 12)}


def test_a_control_failing_at_depth_two_counts():
    r = table([[GOOD, GOOD], [0.01, GOOD], [GOOD, GOOD]], [[0.04, 0.04]] * 3)
    assert t8.classify_pattern(r)["pattern"] == "optimizer-unreliable"


@pytest.mark.parametrize("p4,p8,pattern", [
    ([[0.04, 0.04], [1e-4, 1e-4], [1e-4, 1e-4]], [[0.1, 0.1], [0.05, 0.05], [1e-4, 1e-4]], "consistent-with-6.2"),
    ([[0.04, 0.04], [0.035, 0.04], [0.04, 0.04]], [[0.11, 0.11], [0.12, 0.12], [0.13, 0.14]], "depth-does-not-help"),
    ([[0.04, 0.04], [0.005, 0.005], [0.04, 0.04]], [[0.11, 0.11], [0.03, 0.03], [0.02, 0.02]], "depth-helps-but-no-fit"),
])
def test_each_pattern_when_every_control_fits(p4, p8, pattern):
    pat = t8.classify_pattern(table(CONTROLS_OK, p4, p8))
    assert not pat["failed_controls"] and pat["pattern"] == pattern


def test_restart_counts_are_reported_when_recorded():
    r = table(CONTROLS_OK, [[0.04, 0.04]] * 3)
    r["residual_restarts"] = np.broadcast_to(np.asarray(r["residual"])[..., None], (2, 3, 2, 4)).copy()
    r["residual_restarts"][0, 0, 1, :3] = 0.5  # 1 of 4 restarts fits the control at L = 1, w = 12
    pat = t8.classify_pattern(r)
    c = next(c for c in pat["controls"] if (c["depth"], c["width"]) == (1, 12))
    assert (c["restarts_fitted"], c["restarts"]) == (1, 4)
    assert "1/4 restarts fit" in t8.describe_controls(pat)


def test_the_rule_is_open_and_names_the_pattern_and_every_control():
    r = table([[GOOD, 0.22], [GOOD, GOOD], [GOOD, GOOD]], [[0.04, 0.04]] * 3)
    r["pattern"] = t8.classify_pattern(r)
    out = t8.rule_probe([Evidence("numeric", "synthetic", None, r, key="probe")])
    assert out.verdict is Verdict.OPEN
    assert "optimizer-unreliable" in out.because and "L=1 w=12 2.2e-01 FAILED" in out.because


@pytest.mark.parametrize("p4,p8,pattern", [
    ([[0.04, 0.04], [0.005, 0.005], [0.04, 0.04]], [[0.11, 0.11], [0.12, 0.12], [0.13, 0.13]], "mixed"),
])
def test_depth_helping_one_degree_and_not_the_other_is_mixed(p4, p8, pattern):
    assert t8.classify_pattern(table(CONTROLS_OK, p4, p8))["pattern"] == pattern


def test_a_table_without_a_deep_degree_four_cell_is_too_small():
    r = {"d": 3, "n": 6, "degrees": [2], "depths": [1, 2], "widths": [6], "residual": [[[GOOD], [GOOD]]],
         "restarts": 2, "steps": 10}
    assert t8.classify_pattern(r)["pattern"] == "too-small-table"


def test_the_corrected_statement_names_the_failed_controls():
    r = table([[GOOD, 0.22], [GOOD, GOOD], [0.5, GOOD]], [[0.04, 0.04]] * 3)
    r["pattern"] = t8.classify_pattern(r)
    text = t8.rule_probe([Evidence("numeric", "synthetic", None, r, key="probe")]).corrected
    assert "failed 2 of 6 realizable controls" in text and "L = 3, w = 6, residual 0.5" in text
    ok = table(CONTROLS_OK, [[0.04, 0.04], [0.035, 0.04], [0.04, 0.04]], [[0.11, 0.11], [0.12, 0.12], [0.13, 0.14]])
    ok["pattern"] = t8.classify_pattern(ok)
    text = t8.rule_probe([Evidence("numeric", "synthetic", None, ok, key="probe")]).corrected
    assert "failed" not in text and t8.PATTERN_WORDS["depth-does-not-help"] in text
