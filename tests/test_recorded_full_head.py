"""The recorded whole-head measurement enters the ledger as context, read from its record (no model needed)."""

import numpy as np

from theorem.claims import real_evidence as rev
from theorem.experiments.records import load_arrays, load_record
from theorem.real.sweep import spectrum_margins


def _row(measured, predicted, status="ok"):
    return {"layer": 0, "head": 2, "n": 400, "map": "log-weights", "ambient_dim": 24640, "measured": measured,
            "predicted": predicted, "agrees": measured == predicted, "status": status,
            "measurement": {"status": status, "tolerance": 1e-6, "gap": 1e7}}


def _record(*rows):
    return {"name": rev.FULL_HEAD_RECORD, "provenance": {"command": "test"}, "result": {"records": list(rows)}}


def test_agreeing_record_is_context_saying_the_closed_form_holds():
    (ev,) = rev.recorded_full_head(_record(_row(23520, 23520)))
    assert ev.supports is None and ev.data["agrees"] is True and "closed form holds" in ev.summary
    assert ev.key == "record.real_pullback_full" and ev.measured == [23520] and ev.predicted == [23520]


def test_an_uncertified_equal_count_is_neither_confirmation_nor_contradiction():
    (ev,) = rev.recorded_full_head(_record(_row(23520, 23520, status="ill-defined")))
    assert ev.data["agrees"] is False and ev.data["counts_equal"] is True and "does not certify" in ev.summary


def test_a_different_count_says_so():
    (ev,) = rev.recorded_full_head(_record(_row(23519, 23520), _row(23520, 23520)))
    assert ev.data["agrees"] is False and "differs from the closed form on 1/2" in ev.summary


def test_missing_or_broken_record(monkeypatch):
    monkeypatch.setattr(rev, "load_record", lambda name: None)
    (ev,) = rev.recorded_full_head()
    assert ev.data["kind"] == "missing" and "missing" in ev.summary and ev.supports is None
    (ev,) = rev.recorded_full_head({"result": {"records": [{"layer": 0}]}})
    assert ev.data["kind"] == "recorded-error"


def test_the_shipped_record_is_readable_and_matches_its_spectrum():
    """The package ships the whole-head record; its margins are those of its saved spectrum."""
    (ev,) = rev.recorded_full_head()
    assert ev.data["kind"] == "recorded"
    assert load_record(rev.FULL_HEAD_RECORD)["provenance"]["converted_from"] == "notebooks/data/06_pullback_full.json"
    spectra = load_arrays(rev.FULL_HEAD_RECORD)
    for r in ev.data["records"]:
        sv = spectra[f"L{r['layer']}H{r['head']}_{r['map']}"]
        assert sv.size == min(r["measurement"]["samples"], r["ambient_dim"])
        assert int(np.sum(sv > r["measurement"]["tolerance"])) == r["measured"]
        assert spectrum_margins(sv, r["measured"], r["measurement"]["tolerance"]) == r["margins"]


def test_the_rederived_whole_head_status_is_certified_and_equals_the_closed_form():
    # the shipped re-derivation: the ‖Ω‖₂ tolerance certifies the count the Frobenius one left ill-defined
    (ev,) = rev.rederived_full_head()
    (row,) = ev.data["rows"]
    assert row["recorded"]["status"] == "ill-defined" and row["rederived"]["status"] == "ok"
    assert row["rederived"]["rank"] == row["predicted"] == 23520 and ev.data["agrees"]
    assert row["omega_2"] < row["omega_frobenius"] / 100
    assert "certified" in ev.summary
