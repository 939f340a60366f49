"""Every rule of T2 and T3 driven, on synthetic evidence found by key, to each verdict its reading allows.

Readings and the verdicts their rules can return:

* T2.a holds-with-conditions | open;  T2.b holds-with-conditions | open;  T2.c fails | open
  (rank invariance under A = D⁻¹T is a theorem: a panel that contradicts it is a toolkit defect, so open);
* T3.a holds | holds-with-conditions | fails;  T3.b holds | holds-with-conditions | fails | open;
  T3.c holds | fails | open;  T3.d fails | open.

The headline counterexamples come from the claim's own regime (n > d ≥ 2, rank X = d); the degenerate ones
are secondary.
"""

from __future__ import annotations

import math

import pytest

from theorem.claims import _rank_sweep as rs
from theorem.claims import t2_illusion as t2
from theorem.claims import t3_rank_inflation as t3
from theorem.claims import t3d_cost as t3d
from theorem.claims.ledger import Evidence, MissingEvidence, Verdict
from theorem.experiments.records import load_record


def ev(key, supports=None, **data):
    return Evidence("numeric", f"{key}: synthetic", supports, data, key=key)


# --- T2.a ---------------------------------------------------------------------------------------
ROW_OK = {"kernel": "poly2", "n": 32, "measured": 10, "predicted": 10}
ROW_BAD = {"kernel": "poly2", "n": 32, "measured": 11, "predicted": 10}


@pytest.mark.parametrize("ranks_ok,algo_ok,verdict", [
    (True, True, Verdict.HOLDS_WITH_CONDITIONS),
    (False, True, Verdict.OPEN),
    (True, False, Verdict.OPEN),
])
def test_t2a(ranks_ok, algo_ok, verdict):
    rows = [ROW_OK] if ranks_ok else [ROW_OK, ROW_BAD]
    out = t2.rule_a([ev("algorithm.factorized", algo_ok), ev("panel.finite_kernels", ranks_ok, rows=rows)])
    assert out.verdict is verdict
    if not ranks_ok:
        assert out.counterexample == ROW_BAD


# --- T2.b ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sat,grow,verdict", [
    ([0.25, 0.5], [4.0, 8.0], Verdict.HOLDS_WITH_CONDITIONS),
    ([], [0.5, 8.0], Verdict.OPEN),  # no saturation measured
    ([0.5], [], Verdict.OPEN),  # no growth measured
    ([8.0], [0.5], Verdict.OPEN),  # inverted split
])
def test_t2b(sat, grow, verdict):
    out = t2.rule_b([ev("scope"), ev("sweep.growth", saturating=sat, growing=grow)])
    assert out.verdict is verdict


def test_t2b_statement_carries_the_conditions_of_each_result():
    out = t2.rule_b([ev("sweep.growth", saturating=[0.5], growing=[8.0])])
    for cond in ("d = O(log n)", "o(log n)", "ω(log n)", "constant d", "Õ(n^{2−1/d})", "Gupta et al. 2025"):
        assert cond in out.corrected, cond


# --- T2.c ---------------------------------------------------------------------------------------
POLY2 = {"kernel": "poly2", "n": 64, "rank_T": 6, "rank_A": 6}


@pytest.mark.parametrize("ranks_differ,exp_full,verdict", [
    (False, True, Verdict.FAILS),
    (True, True, Verdict.OPEN),
    (False, False, Verdict.OPEN),
])
def test_t2c(ranks_differ, exp_full, verdict):
    out = t2.rule_c([ev("cost.normalization", None), ev("certificates.unnormalized_exp", not exp_full),
                     ev("panel.normalization", ranks_differ, rows=[POLY2])])
    assert out.verdict is verdict
    if verdict is Verdict.FAILS:
        assert out.counterexample["normalized poly2"] == POLY2


# --- T3.a ---------------------------------------------------------------------------------------
def t3a(found=False, over=(), agree=5, well=5):
    return [ev("fuzz.bound", not found, found=found, counterexample={"n": 6, "d": 3, "measured": 4} if found else {},
               examples=60),
            ev("panel.score_rank", not over, agree=agree, well_defined=well, over_bound=list(over))]


@pytest.mark.parametrize("kwargs,verdict", [
    ({}, Verdict.HOLDS),
    ({"agree": 4}, Verdict.HOLDS_WITH_CONDITIONS),
    ({"found": True}, Verdict.FAILS),
    ({"over": [{"n": 6, "d": 3, "measured": 4, "bound": 3}]}, Verdict.FAILS),
])
def test_t3a(kwargs, verdict):
    assert t3.rule_a(t3a(**kwargs)).verdict is verdict


# --- T3.b ---------------------------------------------------------------------------------------
TOK_CEX = {"tokens": [["1", "0"], ["0", "1"], ["1", "0"]], "exact_rank": 2}  # n = 3 > d = 2, rank X = 2
W_CEX = {"tokens": [["0"], ["1"], ["2"]], "weights": [[["0"]]], "exact_rank": 1}
REPEATED = {"n": 4, "rank": 2, "distinct_tokens": 2}


def t3b(generic=True, floats=True, tok=False, w=False, degenerate=True):
    return [ev("fuzz.weights", not w, found=w, counterexample=W_CEX if w else {}),
            ev("fuzz.tokens", not tok, found=tok, counterexample=TOK_CEX if tok else {}),
            ev("panel.float_lower_bounds", floats),
            ev("certificates.degenerate", degenerate, repeated=[REPEATED], special_weights={"n": 3, "rank": 2}),
            ev("identity.gaussian_kernel", True),
            ev("certificates.generic", generic, certificates=[{"holds": generic, "n": 3}])]


@pytest.mark.parametrize("kwargs,verdict,cex", [
    ({}, Verdict.HOLDS, None),
    ({"generic": False}, Verdict.FAILS, {"holds": False, "n": 3}),
    ({"floats": False}, Verdict.OPEN, None),
    ({"tok": True, "w": True, "degenerate": False}, Verdict.HOLDS_WITH_CONDITIONS, TOK_CEX),  # headline: in regime
    ({"w": True}, Verdict.HOLDS_WITH_CONDITIONS, W_CEX),
    ({"degenerate": False}, Verdict.HOLDS_WITH_CONDITIONS, REPEATED),
])
def test_t3b(kwargs, verdict, cex):
    out = t3.rule_b(t3b(**kwargs))
    assert out.verdict is verdict
    assert out.counterexample == cex


# --- T3.c ---------------------------------------------------------------------------------------
RECS = [{"n": 128, "d": 64, "B": 0.5, "eps": 1e-3, "rank": 6, "lower": 6, "upper": 6, "taylor_bound": 128},
        {"n": 256, "d": 64, "B": 0.5, "eps": 1e-3, "rank": 6, "lower": 6, "upper": 7, "taylor_bound": 256},
        {"n": 256, "d": 64, "B": 8.0, "eps": 1e-3, "rank": 200, "lower": 200, "upper": 200, "taylor_bound": 256}]
GROWTH = {"0.5": {"ranks": [6, 6], "ns": [128, 256], "slope": 0.0},
          "8.0": {"ranks": [120, 200], "ns": [128, 256], "slope": 0.74}}
FUZZ_CEX = {"n": 9, "d": 8, "B": 0.05, "eps": 1e-3, "eps_rank": 2, "interval": [2, 2]}


def t3c(sweep_ok=False, found=True, violations=()):
    return [ev("fuzz.half_n", not found, found=found, counterexample=FUZZ_CEX if found else {}),
            ev("bound.taylor", None, violations=list(violations)),
            ev("sweep.eps_rank", sweep_ok, records=RECS, growth=GROWTH)]


@pytest.mark.parametrize("kwargs,verdict,cex", [
    ({"sweep_ok": True, "found": False}, Verdict.HOLDS, None),
    ({}, Verdict.FAILS, FUZZ_CEX),
    # no fuzz counterexample: the swept point with the smallest upper / n (7/256 < 6/128)
    ({"found": False}, Verdict.FAILS, {"n": 256, "d": 64, "B": 0.5, "eps": 1e-3, "eps_rank": 6, "interval": [6, 7]}),
    ({"violations": [RECS[0]]}, Verdict.OPEN, RECS[0]),
])
def test_t3c(kwargs, verdict, cex):
    out = t3.rule_c(t3c(**kwargs))
    assert out.verdict is verdict
    assert out.counterexample == cex


def test_t3c_statement_gives_the_threshold_in_score_units():
    out = t3.rule_c(t3c())
    assert "ln n" in out.corrected and "B_e²" in out.corrected


# --- T3.d ---------------------------------------------------------------------------------------
PANEL = {"n": 64, "d_k": 4, "exact_rank": 64, "prefix_sum_rel_error": 1e-15}
MINIMAL = {"n": 3, "d_k": 2, "exact_rank": 3, "prefix_sum_rel_error": 1e-16}


@pytest.mark.parametrize("panel_refutes,found,verdict,cex", [
    (True, True, Verdict.FAILS, PANEL),  # headline: the panel case, n = 64 > d_k = 4
    (False, True, Verdict.FAILS, MINIMAL),
    (True, False, Verdict.FAILS, PANEL),
    (False, False, Verdict.OPEN, None),
])
def test_t3d(panel_refutes, found, verdict, cex):
    out = t3d.rule_d([ev("fuzz.minimal", not found, found=found, counterexample=MINIMAL if found else {}),
                      ev("cases.causal_linear", not panel_refutes, cases=[PANEL])])
    assert out.verdict is verdict
    assert out.counterexample == cex
    if verdict is Verdict.FAILS:
        for cond in ("ω(log n)", "o(log n)", "constant d", "Gupta et al. 2025"):
            assert cond in out.corrected, cond


# --- evidence by key -----------------------------------------------------------------------------
@pytest.mark.parametrize("rule,present", [
    (t2.rule_a, [ev("panel.finite_kernels", True, rows=[])]),
    (t2.rule_b, [ev("scope")]),
    (t3.rule_c, [ev("bound.taylor", None, violations=[])]),
    (t3d.rule_d, [ev("fuzz.minimal", True, found=False)]),
])
def test_a_rule_without_its_evidence_is_a_toolkit_error(rule, present):
    with pytest.raises(MissingEvidence):
        rule(present)


# --- T2 real-head context: score bounds against ln n (Alman & Song in score units) ----------------
def _head(n, b):
    return {"layer": 0, "head": 0, "n": n, "rank": {"B": b}}


def test_score_bounds_are_context_on_either_side_of_ln_n():
    # one n places no head on either side of an asymptotic threshold whose constants are unspecified
    above = rs.score_bound_evidence(rs.score_bound_rows([_head(512, 7.0), _head(512, 70.0)]), key="k", source="s")
    mixed = rs.score_bound_evidence(rs.score_bound_rows([_head(512, 6.0), _head(512, 70.0)]), key="k", source="s")
    assert above.supports is None and above.data["below_log_n"] == 0 and "factor 1.12" in above.summary
    assert mixed.supports is None and mixed.data["below_log_n"] == 1  # ln 512 = 6.24 > 6
    assert mixed.data["heads"][0]["log_n"] == pytest.approx(math.log(512))


def test_recorded_heads_below_ln_n_counted_independently():
    rec = load_record("real_heads")
    if rec is None:
        pytest.skip("record real_heads is not committed")
    at_512 = [h for h in rec["result"]["records"] if h["n"] == 512]
    expected = sum(h["rank"]["B"] < math.log(512) for h in at_512)
    ev = rs.recorded_score_bounds(rec)
    assert ev.data["by_n"]["512"] == [expected, len(at_512)]
    assert (expected, len(at_512)) == (12, 72)  # issue 12: 12 of the 72 MiniLM heads at n = 512
    assert ev.supports is None
