"""The small-d ε-rank sweep (experiment ``eps_rank_small_d``) and its reading in T3.c.

Oracles written here: the ε-rank counted from NumPy's singular values, the Taylor bound's ``C(d + p, p)`` from
the degree, least-squares slopes by ``numpy.polyfit``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorem.claims import _rank_sweep as rs
from theorem.claims import t3_rank_inflation as t3
from theorem.claims.ledger import Evidence, Verdict
from theorem.experiments import eps_rank_small_d as exp
from theorem.experiments.records import load_record
from theorem.experiments.registry import experiment_module
from theorem.numeric import eps_rank as er


def test_registered_with_quick_and_full_settings():
    assert experiment_module("eps_rank_small_d") is exp
    assert max(exp.FULL["ns"]) == 8192 and set(exp.FULL["ds"]) == {2, 3, 4}
    assert max(exp.QUICK["ns"]) < max(exp.FULL["ns"])


@pytest.mark.parametrize("n,d,b,tokens", [(200, 2, 4.0, "gaussian"), (200, 3, 16.0, "bounded"),
                                           (700, 3, 16.0, "bounded")])
def test_measure_against_numpy_singular_values(n, d, b, tokens):
    recs = exp.measure(n, d, b, [1e-2, 1e-3], k0=8, k_max=n, seed=3, tokens=tokens)
    a = er.softmax_attention(exp.scores(n, d, b, tokens=tokens, seed=3))
    s = np.linalg.svd(a, compute_uv=False)
    for r in recs:
        exact = int(np.sum(s > r["eps"] * s[0]))
        assert r["lower"] <= exact <= r["upper"], (r, exact)
        p = er.taylor_degree(b, r["eps"])
        assert r["taylor_bound"] == min(n, math.comb(d + p, p))
        assert r["lower"] <= r["taylor_bound"]
        assert r["log_n"] == pytest.approx(math.log(n))
        assert r["method"] == ("svd" if n <= 600 else "randomized")
        assert r["tokens"] == tokens and r["max_abs_score"] <= b * (1 + 1e-12)


def test_bounded_entry_scores_are_alman_song_inputs():
    n, d, b = 40, 3, 9.0
    rng = np.random.default_rng([5, n, d, 1])  # the documented draw: Q then K, entries uniform on [−√B, √B]
    q, k = rng.uniform(-3.0, 3.0, (n, d)), rng.uniform(-3.0, 3.0, (n, d))
    s = er.bounded_entry_scores(n, d, b, seed=5)
    np.testing.assert_allclose(s, q @ k.T / d, rtol=1e-12, atol=1e-12)
    assert np.abs(s).max() <= b and np.linalg.matrix_rank(s) == d
    with pytest.raises(ValueError):
        er.bounded_entry_scores(n, d, -1.0)
    with pytest.raises(ValueError):
        exp.scores(n, d, b, tokens="uniform")


def test_sketch_starts_at_twice_the_previous_upper_end_and_n_max_is_kept():
    assert exp._next_k0(64, None) == 64 and exp._next_k0(64, 20) == 64 and exp._next_k0(64, 33) == 128
    assert exp._next_k0(16, 300) == 1024
    settings = {"ns": [40, 80], "ds": [2, 3], "n_max": {"3": 40}, "bounds": [1.0], "eps": [0.01],
                "tokens": "bounded", "k0": 8, "k_max": 40, "seed": 0}
    recs = exp.run(settings, log=lambda _m: None)["records"]
    assert sorted((r["n"], r["d"]) for r in recs) == [(40, 2), (40, 3), (80, 2)]


def _rec(n, d, b, rank, bound):
    return {"n": n, "d": d, "B": b, "eps": 1e-3, "rank": rank, "lower": rank, "upper": rank, "taylor_bound": bound}


def test_small_d_table_locates_where_the_bound_is_vacuous_and_where_the_rank_grows():
    recs = [_rec(n, 2, 1.0, 5, 28) for n in (256, 512, 1024)]
    recs += [_rec(n, 2, 64.0, n // 4, n) for n in (256, 512, 1024)]  # grows like n
    t = rs.small_d_table(recs, 1e-3)[2]
    assert t["n"] == 1024 and t["log_n"] == pytest.approx(math.log(1024))
    assert t["per_B"][1.0]["bound_has_content"] and not t["per_B"][64.0]["bound_has_content"]
    assert t["vacuous_from"] == 64.0 and t["growing_from"] == 64.0
    assert t["growing_from_over_log_n"] == pytest.approx(64.0 / math.log(1024))
    slope = np.polyfit(np.log([256, 512, 1024]), np.log([64, 128, 256]), 1)[0]
    assert t["per_B"][64.0]["slope"] == pytest.approx(slope)
    assert t["per_B"][1.0]["slope"] == pytest.approx(0.0, abs=1e-12)


def test_a_noisy_two_point_rise_does_not_count_as_growth():
    recs = [_rec(256, 3, 16.0, 31, 256), _rec(512, 3, 16.0, 16, 512), _rec(1024, 3, 16.0, 29, 1024)]
    slope = np.polyfit(np.log([256, 512, 1024]), np.log([31, 16, 29]), 1)[0]
    t = rs.small_d_table(recs, 1e-3)[3]
    assert t["per_B"][16.0]["slope"] == pytest.approx(slope) and t["growing_from"] is None


def test_committed_record_measures_at_most_the_bound():
    rec = load_record("eps_rank_small_d")
    if rec is None:
        pytest.skip("record eps_rank_small_d is not committed")
    for r in rec["result"]["records"]:
        assert r["lower"] <= r["upper"] and r["lower"] <= r["taylor_bound"]
    ev = rs.small_d_record_evidence(1e-3)
    assert not ev.data["violations"] and ev.key == "record.eps_rank_small_d"
    assert rec["profile"] in ev.summary  # the profile it was made with is said


def _t3c(small_d: Evidence | None):
    ev = [Evidence("fuzz", "", False, {"found": True, "counterexample": {"n": 9, "d": 8}}, key="fuzz.half_n"),
          Evidence("numeric", "", None, {"violations": []}, key="bound.taylor"),
          Evidence("numeric", "", False, {"records": [], "growth": {"0.5": {"ranks": [6], "ns": [128], "slope": 0.0},
                                                                    "8.0": {"ranks": [9], "ns": [128], "slope": 0.9}}},
                   key="sweep.eps_rank")]
    return ev + ([small_d] if small_d is not None else [])


def test_rule_c_says_when_the_small_d_record_is_missing():
    missing = Evidence("record", "", None, {"record": "eps_rank_small_d", "missing": True, "violations": []},
                       key="record.eps_rank_small_d")
    out = t3.rule_c(_t3c(missing))
    assert out.verdict is Verdict.FAILS and "not recorded" in out.corrected


def test_rule_c_is_open_when_the_small_d_record_breaks_the_bound():
    bad = _rec(1024, 2, 1.0, 40, 28)
    rec = Evidence("record", "", False, {"record": "eps_rank_small_d", "profile": "quick", "table": {},
                                         "violations": [bad]}, key="record.eps_rank_small_d")
    out = t3.rule_c(_t3c(rec))
    assert out.verdict is Verdict.OPEN and out.counterexample == bad


def test_rule_c_renders_the_small_d_transition_from_the_table():
    table = rs.small_d_table([_rec(n, 2, b, 5 if b < 64 else n // 4, 28 if b < 64 else n)
                              for n in (256, 1024) for b in (1.0, 64.0)], 1e-3)
    rec = Evidence("record", "", False, {"record": "eps_rank_small_d", "profile": "full",
                                         "table": {str(d): t for d, t in table.items()}, "violations": []},
                   key="record.eps_rank_small_d")
    out = t3.rule_c(_t3c(rec))
    assert out.verdict is Verdict.FAILS
    assert "grows with n from B = 64" in out.corrected and "content below B = 64" in out.corrected


def test_small_d_table_splits_the_slopes_at_ln_n_and_finds_the_peak():
    ns = (512, 1024, 2048)  # ln 2048 ≈ 7.62: B = 4 below, B = 16 above
    recs = [_rec(n, 2, 4.0, 20, 171) for n in ns] + [_rec(n, 2, 16.0, n // 8, n) for n in ns]
    t = rs.small_d_table(recs, 1e-3)[2]
    assert t["max_slope_below_log_n"] == pytest.approx(0.0, abs=1e-12)
    assert t["max_slope_above_log_n"] == pytest.approx(1.0)
    assert t["peak_B"] == 16.0 and t["peak_fraction_of_n"] == pytest.approx(256 / 2048)
    assert t["per_B"][4.0]["intervals"] == [[20, 20]] * 3 and t["per_B"][16.0]["bounds"] == list(ns)
    assert t["per_B"][16.0]["B_over_log_n"] == pytest.approx(16.0 / math.log(2048))
