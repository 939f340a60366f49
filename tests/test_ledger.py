"""The ledger machinery: verdicts come from rules over evidence; failures are errors, not verdicts."""

import inspect
from pathlib import Path
import json
import re

import pytest

from theorem import report
from theorem.claims import ledger, real_evidence, registry, runner
from theorem.claims.ledger import Evidence, MissingEvidence, Outcome, Profile, Reading, Role, Verdict, find
from theorem.cli import main


def _reading(measured: int, predicted: int) -> Reading:
    def gather(profile):
        return [Evidence("numeric", f"measured {measured} vs predicted {predicted}", measured == predicted,
                         key="count", measured=measured, predicted=predicted)]

    def rule(ev):
        count = find(ev, "count")
        if count.measured == count.predicted:
            return Outcome(Verdict.HOLDS, count.summary)
        return Outcome(Verdict.FAILS, count.summary, "corrected", {"measured": count.measured})

    return Reading("X.a", "measured equals predicted", gather, rule)


def test_verdict_follows_the_evidence():
    assert _reading(3, 3).check("X", Profile()).verdict == "holds"
    res = _reading(2, 3).check("X", Profile())
    assert res.verdict == "fails" and res.outcome.counterexample == {"measured": 2}


def test_a_failing_check_is_an_error_not_a_verdict():
    def boom(profile):
        raise RuntimeError("solver diverged")

    res = Reading("X.b", "s", boom, lambda ev: Outcome(Verdict.HOLDS, "never")).check("X", Profile())
    assert res.verdict == "error" and "solver diverged" in res.error
    assert res.to_dict()["verdict"] == "error"


def test_records_list_unchecked_claims_without_a_verdict():
    recs = report.records([_reading(1, 1).check("T1", Profile())], {"T2": ["t2_illusion"]})
    assert [r["id"] for r in recs] == ["T1", "T2"]
    assert recs[1]["verdict"] is None and "not checked yet" in recs[1]["evidence"]
    assert "not checked yet" in report.table(recs)


def test_every_claim_id_of_claims_md_is_registered():
    assert set(registry.CLAIM_IDS) == {"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "R1", "R2", "R3", "R4", "B1"}
    assert set(registry.CLAIM_MODULES) == set(registry.CLAIM_IDS)


def test_verify_writes_report_and_json_for_a_missing_module(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.CLAIM_MODULES, "T2", ("does_not_exist_yet",))
    code = main(["verify", "--claim", "T2", "--json", "--out", str(tmp_path)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "verdicts.json").read_text())
    assert printed == saved
    assert saved["schema_version"] == report.SCHEMA_VERSION and saved["claims"] == ["T2"]
    first = saved["verdicts"][0]
    assert first["id"] == "T2" and first["verdict"] is None
    for key in ("id", "reading_id", "reading", "verdict", "evidence", "corrected", "counterexample"):
        assert key in first
    assert (tmp_path / "report.md").read_text().startswith("# d2check verdict report")


def test_verify_refuses_an_out_path_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["verify", "--claim", "T1", "--out", str(f)]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_real_evidence_is_routed_to_the_reading_its_bears_on_names(monkeypatch):
    """``bears_on`` is a reading ID, optionally followed by a note; items go to that reading only."""
    items = [Evidence("numeric", "to T1.c with a note", None, {"bears_on": "T1.c corrected statement"}),
             Evidence("numeric", "to T1.b", True, {"bears_on": "T1.b"}),
             Evidence("numeric", "to every reading", None, {})]
    monkeypatch.setitem(runner.ALL_EVIDENCE, "T1", lambda profile: items)
    got = {}
    for rid in ("T1.a", "T1.b", "T1.c"):
        res = ledger.ReadingResult("T1", rid, "", Outcome(Verdict.OPEN, "x"), [], 0.0)
        got[rid] = [e.summary for e in runner.attach_real_evidence(res, Profile("quick")).evidence]
    assert got == {"T1.a": ["to every reading"], "T1.b": ["to T1.b", "to every reading"],
                   "T1.c": ["to T1.c with a note", "to every reading"]}


def test_every_bears_on_of_the_real_evidence_names_an_existing_reading():
    src = inspect.getsource(real_evidence)
    targets = {m.split()[0] for m in re.findall(r'"bears_on": "([^"]+)"', src)}
    assert targets, "no bears_on found"
    ids = {r.id for cid in registry.CLAIM_IDS for r in registry.load_claim(cid)[0].readings}
    assert targets <= ids, f"bears_on naming no reading: {sorted(targets - ids)}"


def test_evidence_is_found_by_key_and_a_missing_key_is_a_toolkit_error():
    ev = [Evidence("numeric", "a", True, key="panel"), Evidence("fuzz", "b", False, key="counterexample")]
    assert find(ev, "counterexample").summary == "b"
    assert find(ev, "counterexample").role is Role.REFUTES and find(ev, "panel").role is Role.SUPPORTS
    with pytest.raises(MissingEvidence):
        find(ev, "derivation")
    res = Reading("X.c", "s", lambda p: ev, lambda e: Outcome(Verdict.HOLDS, find(e, "nope").summary)).check(
        "X", Profile())
    assert res.verdict == "error" and "nope" in res.error


def test_the_committed_claims_page_is_the_ledger_s_own():
    page = (Path(__file__).resolve().parents[1] / "docs" / "claims.md").read_text(encoding="utf-8")
    assert page == report.claims_page(), "docs/claims.md is stale: run `make docs`"
