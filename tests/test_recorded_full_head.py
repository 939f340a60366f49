"""The recorded whole-head measurement enters the ledger as context, read from its record (no model needed)."""

import numpy as np
import pytest

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
    """The package ships the whole-head record (kron route); its count, gap and margins are those of its
    saved pivots, its gap bound is proved and brackets the saved pivots at the cut (a pivoted Cholesky's last
    kept pivot is at least λ_min of the kept block, so at least the proved lower bound; the first dropped one is
    a diagonal entry of the trailing complement, so at most the proved upper bound), and it says how long it
    took and how much memory it used."""
    (ev,) = rev.recorded_full_head()
    assert ev.data["kind"] == "recorded"
    rec = load_record(rev.FULL_HEAD_RECORD)
    assert rec["result"]["meta"]["route"] == "kron" and rec["result"]["meta"]["peak_rss_gib"] is not None
    spectra = load_arrays(rev.FULL_HEAD_RECORD)
    for r in ev.data["records"]:
        piv = spectra[f"L{r['layer']}H{r['head']}_{r['map']}"]
        m = r["measurement"]
        assert piv.size == r["ambient_dim"] and r["spectrum"] == "pivots"
        assert int(np.sum(piv > m["tolerance"])) == r["measured"]
        assert spectrum_margins(np.sqrt(piv), r["measured"], np.sqrt(m["tolerance"])) == r["margins"]
        cert = m["certificate"]
        assert cert is not None and cert["proved"] and r["certified"]
        kept, dropped = piv[r["measured"] - 1], piv[r["measured"]]  # pivot order: the cut is at index r
        assert cert["sigma_r_lower"] ** 2 <= cert["lambda_min_kept_above"] < kept
        assert dropped <= cert["sigma_r_plus_1_upper"] ** 2 < cert["sigma_r_lower"] ** 2
        assert cert["gap_lower"] == pytest.approx(cert["sigma_r_lower"] / cert["sigma_r_plus_1_upper"])
        assert r["seconds"] > 0 and r["peak_rss_gib"] > 0
    assert ev.data["gap_proved"] and ev.data["certified"] and "the gap bound proved" in ev.summary


def test_a_kron_row_is_described_by_its_pivots_and_certificate():
    row = {**_row(23520, 23520), "spectrum": "pivots", "seconds": 300.0, "peak_rss_gib": 5.2}
    row["measurement"] = {**row["measurement"], "certificate": {"proved": True, "sigma_r_lower": 0.03,
                                                                "sigma_r_plus_1_upper": 1e-5, "gap_lower": 3e3}}
    (ev,) = rev.recorded_full_head(_record(row))
    assert "Gram pivots above the tolerance" in ev.summary and "gap ≥ 3e+03, proved" in ev.summary
    assert ev.data["gap_proved"] and "the gap bound proved" in ev.summary


def test_the_rederived_whole_head_status_is_certified_and_equals_the_closed_form():
    # the shipped re-derivation: the ‖Ω‖₂ tolerance certifies the count the Frobenius one left ill-defined
    (ev,) = rev.rederived_full_head()
    (row,) = ev.data["rows"]
    assert row["recorded"]["status"] == "ill-defined" and row["rederived"]["status"] == "ok"
    assert row["rederived"]["rank"] == row["predicted"] == 23520 and ev.data["agrees"]
    assert row["omega_2"] < row["omega_frobenius"] / 100
    assert "certified" in ev.summary
