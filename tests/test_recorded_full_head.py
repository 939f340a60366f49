"""The recorded whole-head measurement enters the ledger as context, read from its file (no model needed)."""

import json

from theorem.claims import real_evidence as rev


def _record(measured, predicted, status="ok"):
    return {"layer": 0, "head": 2, "n": 400, "map": "log-weights", "ambient_dim": 24640, "measured": measured,
            "predicted": predicted, "agrees": measured == predicted, "status": status,
            "measurement": {"status": status, "tolerance": 1e-6, "gap": 1e7}}


def test_agreeing_record_is_context_saying_the_closed_form_holds(tmp_path, monkeypatch):
    f = tmp_path / "full.json"
    f.write_text(json.dumps({"records": [_record(23520, 23520)]}))
    monkeypatch.setattr(rev, "RECORDED_FULL_HEAD", f)
    (ev,) = rev.recorded_full_head()
    assert ev.supports is None and ev.data["agrees"] is True and "confirms" in ev.summary


def test_an_uncertified_equal_count_is_neither_confirmation_nor_contradiction(tmp_path, monkeypatch):
    f = tmp_path / "full.json"
    f.write_text(json.dumps({"records": [_record(23520, 23520, status="ill-defined")]}))
    monkeypatch.setattr(rev, "RECORDED_FULL_HEAD", f)
    (ev,) = rev.recorded_full_head()
    assert ev.data["agrees"] is False and ev.data["counts_equal"] is True and "does not certify" in ev.summary


def test_a_different_count_says_so(tmp_path, monkeypatch):
    f = tmp_path / "full.json"
    f.write_text(json.dumps({"records": [_record(23519, 23520)]}))
    monkeypatch.setattr(rev, "RECORDED_FULL_HEAD", f)
    (ev,) = rev.recorded_full_head()
    assert ev.data["agrees"] is False and "differs" in ev.summary


def test_missing_or_broken_file(tmp_path, monkeypatch):
    monkeypatch.setattr(rev, "RECORDED_FULL_HEAD", tmp_path / "absent.json")
    assert rev.recorded_full_head() == []
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    monkeypatch.setattr(rev, "RECORDED_FULL_HEAD", bad)
    (ev,) = rev.recorded_full_head()
    assert ev.data["kind"] == "recorded-error"


def test_the_committed_record_is_readable_and_matches_its_spectrum():
    """The repository ships the whole-head record; its margins are those of its saved spectrum."""
    import numpy as np

    from theorem.real.sweep import spectrum_margins

    (ev,) = rev.recorded_full_head()
    assert ev.data["kind"] == "recorded"
    spectra = np.load(rev.RECORDED_FULL_HEAD.with_suffix(".npz"))
    for r in ev.data["records"]:
        sv = spectra[f"L{r['layer']}H{r['head']}_{r['map']}"]
        assert sv.size == min(r["measurement"]["samples"], r["ambient_dim"])
        assert int(np.sum(sv > r["measurement"]["tolerance"])) == r["measured"]
        assert spectrum_margins(sv, r["measured"], r["measurement"]["tolerance"]) == r["margins"]
