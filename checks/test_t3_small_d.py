"""T3.c at small head dimension (issue 13 §6): the committed ``eps_rank_small_d`` record, read by the reading.

Checked:

* the reading loads the record and never recomputes it (the experiment's measurement is made to raise);
* the evidence sets every measured interval beside the Taylor bound read from the record, and no measured
  lower end exceeds its bound (the bound is a theorem: a violation would be a measurement defect);
* the record's inputs are Alman & Song 2023's class: ``max|S| ≤ B`` at every point (``B`` = entry bound²);
* one recorded point replays: the n = 512, d = 2, B = 4 point (full SVD) is recomputed here from the documented draw
  (NumPy's generator, the scores written out as ``QKᵀ/d``, NumPy's SVD as the oracle) and matches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorem.claims import _rank_sweep as rs
from theorem.experiments import eps_rank_small_d as exp
from theorem.experiments.records import load_record

REC = load_record(exp.NAME)
pytestmark = pytest.mark.skipif(REC is None, reason="record eps_rank_small_d is not committed")


def test_reading_loads_the_record_and_never_measures(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the reading recomputed the sweep")

    monkeypatch.setattr(exp, "measure", refuse)
    monkeypatch.setattr(exp, "run", refuse)
    ev = rs.small_d_record_evidence(min(REC["settings"]["eps"]))
    assert ev.key == "record.eps_rank_small_d" and ev.data["profile"] == REC["profile"]
    assert ev.data["provenance"]["git_commit"] == REC["provenance"]["git_commit"]


def test_every_measured_interval_sits_beside_its_bound():
    eps = min(REC["settings"]["eps"])
    ev = rs.small_d_record_evidence(eps)
    recs = [r for r in REC["result"]["records"] if r["eps"] == eps]
    for r in REC["result"]["records"]:
        assert r["lower"] <= r["upper"] and r["lower"] <= r["taylor_bound"] <= r["n"]
    for d in {r["d"] for r in recs}:
        n_max = max(r["n"] for r in recs if r["d"] == d)
        for r in (r for r in recs if r["d"] == d and r["n"] == n_max):
            assert ev.measured[str(d)][str(r["B"])] == [r["lower"], r["upper"]]
            assert ev.predicted[str(d)][str(r["B"])] == r["taylor_bound"]
    assert not ev.data["violations"]


def test_inputs_are_bounded_by_the_score_bound():
    if REC["settings"].get("tokens") != "bounded":
        pytest.skip("the record predates the bounded-entry inputs")
    for r in REC["result"]["records"]:
        assert r["max_abs_score"] <= r["B"] * (1 + 1e-12)
        assert r["log_n"] == pytest.approx(math.log(r["n"]))


def test_the_svd_points_replay():
    if REC["settings"].get("tokens") != "bounded":
        pytest.skip("the record predates the bounded-entry inputs")
    seed = REC["settings"]["seed"]
    pts = [r for r in REC["result"]["records"] if r["method"] == "svd" and r["d"] == 2 and r["B"] == 4.0]
    assert pts
    for (n, d, b) in sorted({(r["n"], r["d"], r["B"]) for r in pts}):
        rng = np.random.default_rng([seed, n, d, 1])
        q = rng.uniform(-math.sqrt(b), math.sqrt(b), (n, d))
        k = rng.uniform(-math.sqrt(b), math.sqrt(b), (n, d))
        s = q @ k.T / d
        a = np.exp(s - s.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        sv = np.linalg.svd(a, compute_uv=False)
        for r in (r for r in pts if (r["n"], r["d"], r["B"]) == (n, d, b)):
            assert r["lower"] <= int(np.sum(sv > r["eps"] * sv[0])) <= r["upper"]
