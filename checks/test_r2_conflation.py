"""R2 — conflation of landscape dimension and computational cost.

Lemmas checked:

* the pulled-back dimension (T1's quantity) is the same at every n > d, equal to its closed
  form r(r − e), while the operations of exact softmax attention (read off the traced program)
  grow like n² — the clock is shown, never asserted;
* softmax and CSQ (centred, shift 1) have the same pulled-back dimension on the same tokens
  but attention matrices of different exact rank (n vs ≤ (d+1)(d+2)/2), and CSQ's factorized
  algorithm is exact;
* the rules come out otherwise when the measurements do.
"""

from __future__ import annotations

import pytest

from theorem.claims import r2_conflation as r2
from theorem.claims.ledger import Evidence, Profile, Verdict, find

QUICK = Profile("quick")


@pytest.fixture(scope="module")
def results():
    return {r.id: r.check("R2", QUICK) for r in r2.READINGS}


def test_every_reading_returns_a_verdict(results):
    for rid, res in results.items():
        assert res.error is None, (rid, res.error)
        assert res.verdict == "holds", (rid, res.outcome.because)


def test_dimension_is_independent_of_n(results):
    rows = find(results["R2.a"].evidence, "dimension.softmax").data["rows"]
    assert len({r["measured"] for r in rows}) == 1
    assert all(r["measured"] == r["predicted"] == r["d"] ** 2 for r in rows)  # generic, n > d: r(r − e) = d²


def test_cost_grows_with_n(results):
    counts = find(results["R2.a"].evidence, "counts.softmax")
    for r in counts.data["rows"]:
        n = r["n"]
        assert r["measured_matmul"] == 2 * n * n * (16 + 16)  # Q Kᵀ and A V, written out here
    assert counts.measured == counts.predicted
    assert counts.data["slope"] == pytest.approx(2.0, abs=0.05)  # n² dominates the O(n·d) terms


def test_evidence_keys_are_unique(results):
    for res in results.values():
        keys = [e.key for e in res.evidence]
        assert all(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize("n", [12])
def test_softmax_and_csq_share_the_dimension(n):
    soft = r2.pulled_back_dimension(n, 3, "softmax")
    csq = r2.pulled_back_dimension(n, 3, "csq", shift=1.0, center=True)
    assert soft["measured"] == csq["measured"] == soft["predicted"]


def test_rank_gap_between_softmax_and_csq(results):
    data = find(results["R2.b"].evidence, "rank.pair").data
    assert data["csq_rank"] == data["csq_closed_form"] == min(data["n"], 15)
    assert data["softmax_rank_lower_bound"] > data["csq_rank"]


def _ev_a(dims, count_slope=2.0, exact=True, time_slope=2.0):
    return [Evidence("numeric", "", None, {"rows": dims}, key="dimension.softmax",
                     measured=[r["measured"] for r in dims], predicted=[r["predicted"] for r in dims]),
            Evidence("numeric", "", None, {"slope": count_slope}, key="counts.softmax", measured=[1, 4],
                     predicted=[1, 4] if exact else [1, 5]),
            Evidence("benchmark", "", None, {}, key="timing.softmax", measured=time_slope)]


def test_rule_a_comes_out_either_way():
    fixed = [{"n": 8, "measured": 9, "predicted": 9, "status": "ok"},
             {"n": 16, "measured": 9, "predicted": 9, "status": "ok"}]
    moving = [{"n": 8, "measured": 9, "predicted": 9, "status": "ok"},
              {"n": 16, "measured": 12, "predicted": 12, "status": "ok"}]
    assert r2.rule_a(_ev_a(fixed)).verdict is Verdict.HOLDS
    assert r2.rule_a(_ev_a(moving)).verdict is Verdict.FAILS  # the dimension moves with n
    assert r2.rule_a(_ev_a(fixed, count_slope=0.5)).verdict is Verdict.FAILS  # the cost does not grow
    assert r2.rule_a(_ev_a(fixed, exact=False)).verdict is Verdict.OPEN
    assert r2.rule_a(_ev_a(fixed, time_slope=0.1)).verdict is Verdict.HOLDS  # the clock is context


def test_loglog_slope():
    assert r2.loglog_slope([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)
