"""Run the ledger: every selected reading checked once, real-model evidence attached once.

This is the one place where readings are run (``d2check verify``, :func:`run_claims` and the
tests all come here).  A reading's verdict is decided on its own (synthetic) evidence; what the
pretrained model's heads show is attached afterwards as context, by the reading ID that each
real-model item names at the start of its ``bears_on`` field.
"""

from __future__ import annotations

import time
from typing import Callable

from theorem.claims.ledger import Claim, Evidence, Profile, Reading, ReadingResult
from theorem.claims.real_evidence import ALL_EVIDENCE
from theorem.claims.registry import CLAIM_IDS, load_claim

__all__ = ["attach_real_evidence", "run_readings", "run_claims"]

#: called before each reading with (claim ID, reading, index, total) and after it with its result
Progress = Callable[[str, Reading, int, int, ReadingResult | None], None]


def attach_real_evidence(result: ReadingResult, profile: Profile) -> ReadingResult:
    """Add what the pretrained model's heads show about this reading (context, never the verdict)."""
    gather = ALL_EVIDENCE.get(result.claim_id)
    if gather is None or result.error is not None:
        return result
    try:
        items = gather(profile)
    except Exception as err:  # the real-model path failed: say so, keep the verdict
        items = [Evidence("real", f"real-model evidence unavailable: {type(err).__name__}: {err}", None,
                          key="real.unavailable")]
    for item in items:
        bears = item.data.get("bears_on")  # a reading ID, optionally followed by a note
        if bears is None or bears.split()[0] == result.reading_id:
            result.evidence.append(item)
    return result


def run_readings(
    selected: list[tuple[Claim, Reading]], profile: Profile, progress: Progress | None = None
) -> list[ReadingResult]:
    """Check each (claim, reading) pair in order; ``progress`` hears before and after each."""
    results = []
    total = len(selected)
    for index, (claim, reading) in enumerate(selected):
        if progress is not None:
            progress(claim.id, reading, index, total, None)
        result = attach_real_evidence(reading.check(claim.id, profile), profile)
        results.append(result)
        if progress is not None:
            progress(claim.id, reading, index, total, result)
    return results


def run_claims(
    ids: list[str] | None, profile: Profile, progress: Progress | None = None
) -> tuple[list[ReadingResult], dict[str, list[str]], float]:
    """Check the claims ``ids`` (all when None): results, the parts not checked yet, seconds."""
    start = time.perf_counter()
    ids = list(CLAIM_IDS) if not ids else [i.upper() for i in ids]
    selected: list[tuple[Claim, Reading]] = []
    unchecked: dict[str, list[str]] = {}
    for cid in ids:
        claim, missing = load_claim(cid)
        if missing:
            unchecked[cid] = missing
        selected.extend((claim, r) for r in claim.readings)
    return run_readings(selected, profile, progress), unchecked, time.perf_counter() - start
