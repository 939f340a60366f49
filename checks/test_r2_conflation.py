"""R2 — conflation of landscape dimension and computational cost.

Lemmas checked:

* the pulled-back dimension (T1's quantity) is the same at every n > d, equal to its closed
  form r(r − e), while the measured time of exact softmax attention grows with n;
* softmax and CSQ (centred, shift 1) have the same pulled-back dimension on the same tokens
  but attention matrices of different exact rank (n vs ≤ (d+1)(d+2)/2), and CSQ's factorized
  algorithm is exact;
* the rules come out otherwise when the measurements do.
"""

from __future__ import annotations

import pytest

from theorem.claims import r2_conflation as r2
from theorem.claims.ledger import Evidence, Profile, Verdict

QUICK = Profile("quick")


@pytest.fixture(scope="module")
def results():
    return {r.id: r.check("R2", QUICK) for r in r2.READINGS}


def test_every_reading_returns_a_verdict(results):
    for rid, res in results.items():
        assert res.error is None, (rid, res.error)
        assert res.verdict == "holds", (rid, res.outcome.because)


def test_dimension_is_independent_of_n(results):
    rows = results["R2.a"].evidence[0].data["rows"]
    assert len({r["measured"] for r in rows}) == 1
    assert all(r["measured"] == r["predicted"] == r["d"] ** 2 for r in rows)  # generic, n > d: r(r − e) = d²


def test_time_grows_with_n(results):
    times = results["R2.a"].evidence[1].data
    assert times["slope"] >= r2.GROWTH
    assert times["rows"][-1]["seconds"] > times["rows"][0]["seconds"]


@pytest.mark.parametrize("n", [12])
def test_softmax_and_csq_share_the_dimension(n):
    soft = r2.pulled_back_dimension(n, 3, "softmax")
    csq = r2.pulled_back_dimension(n, 3, "csq", shift=1.0, center=True)
    assert soft["measured"] == csq["measured"] == soft["predicted"]


def test_rank_gap_between_softmax_and_csq(results):
    data = results["R2.b"].evidence[1].data
    assert data["csq_rank"] == data["csq_closed_form"] == min(data["n"], 15)
    assert data["softmax_rank_lower_bound"] > data["csq_rank"]


def test_rule_a_is_open_when_the_dimension_moves():
    dims = [{"n": 8, "measured": 9, "predicted": 9, "status": "ok"},
            {"n": 16, "measured": 12, "predicted": 12, "status": "ok"}]
    ev = [Evidence("numeric", "", None, {"rows": dims}), Evidence("benchmark", "", None, {"slope": 2.0, "rows": []})]
    assert r2.rule_a(ev).verdict is Verdict.OPEN


def test_loglog_slope():
    assert r2.loglog_slope([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)
