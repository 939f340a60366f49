"""Checks over the ledger's readings, parametrized by reading ID (in the manner of scikit-learn's
``parametrize_with_checks``): ``@parametrize_readings("T1")`` gives one test per reading of T1, whose
pytest id is the reading ID (``test_…[T1.a]``).

Each reading runs once per session (:func:`reading_result` caches it), so a module's other tests can
ask what the ledger reported without paying for the reading again.  The readings run without the
pretrained model's context (it never decides a verdict; the checks below leave it out): the real-model
evidence has its own checks in ``test_real_model.py``, and ``tests/test_ledger.py`` checks it is attached.
"""

from __future__ import annotations

import functools

import pytest

from theorem.claims.ledger import Profile, ReadingResult, Role, Verdict
from theorem.claims.registry import load_claim
from theorem.claims.runner import run_readings


def reading_ids(claim_id: str) -> list[str]:
    claim, _ = load_claim(claim_id)
    return [r.id for r in claim.readings]


def parametrize_readings(claim_id: str):
    ids = reading_ids(claim_id)
    return pytest.mark.parametrize("reading_id", ids, ids=ids)


@functools.lru_cache(maxsize=None)
def reading_result(reading_id: str) -> ReadingResult:
    """The quick-profile result of one reading (without its real-model context), computed once."""
    claim, _ = load_claim(reading_id.split(".")[0])
    reading = next(r for r in claim.readings if r.id == reading_id)
    return run_readings([(claim, reading)], Profile("quick"), real=False)[0]


def check_reading_is_decided_from_its_evidence(reading_id: str) -> ReadingResult:
    """What every reading owes its reader, whatever its verdict:

    * it ran (a toolkit error is never a verdict);
    * its evidence items carry keys, unique within the reading;
    * a ``fails`` shows what refutes it (a counterexample or a refuting item), a ``holds-with-conditions``
      gives the corrected statement, a ``holds`` has no refuting item it ignored;
    * its rule, run again on the same evidence, reaches the same outcome (nothing but the evidence decides).
    """
    res = reading_result(reading_id)
    assert res.error is None, res.error
    keys = [e.key for e in res.evidence if e.kind != "real"]
    assert all(keys), f"evidence without a key in {reading_id}: {[e.summary[:60] for e in res.evidence if not e.key]}"
    assert len(keys) == len(set(keys)), f"duplicate evidence keys in {reading_id}: {keys}"
    verdict = res.outcome.verdict
    synthetic = [e for e in res.evidence if e.kind != "real"]
    if verdict is Verdict.FAILS:
        assert res.outcome.counterexample is not None or any(e.role is Role.REFUTES for e in synthetic)
    if verdict is Verdict.HOLDS_WITH_CONDITIONS:
        assert res.outcome.corrected
    claim, _ = load_claim(reading_id.split(".")[0])
    reading = next(r for r in claim.readings if r.id == reading_id)
    again = reading.rule(synthetic)
    assert (again.verdict, again.corrected) == (verdict, res.outcome.corrected)
    return res
