"""Types of the ledger: claims, readings, evidence, verdicts.

Data flows one way: a :class:`Reading` *gathers* :class:`Evidence` (each item computed at
run time and carrying the measured numbers next to the closed form that predicts them),
then its *rule* maps the evidence to an :class:`Outcome` (verdict, corrected statement,
counterexample).  :meth:`Reading.check` runs both and times them.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable


class Verdict(str, Enum):
    """The four verdicts of ``claims.md``."""

    HOLDS = "holds"
    HOLDS_WITH_CONDITIONS = "holds-with-conditions"
    FAILS = "fails"
    OPEN = "open"


@dataclass(frozen=True)
class Profile:
    """How hard to look: ``quick`` (CI) or ``full`` (deep runs)."""

    name: str = "quick"

    @property
    def full(self) -> bool:
        return self.name == "full"

    def pick(self, quick, full):
        """``quick`` under the quick profile, ``full`` under the full one."""
        return full if self.full else quick


@dataclass
class Evidence:
    """One piece of evidence.

    ``kind``: ``symbolic`` | ``numeric`` | ``fuzz`` | ``benchmark`` | ``literature``.
    ``supports``: True when it supports the reading's statement, False when it refutes it,
    None when it is context (a citation, a bound).  ``data`` holds the numbers (measured
    beside predicted), JSON-serializable.
    """

    kind: str
    summary: str
    supports: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "supports": self.supports, "data": self.data}


@dataclass
class Outcome:
    """What a rule decides: a verdict, and what makes it precise."""

    verdict: Verdict
    because: str  # one line: the evidence the verdict rests on
    corrected: str | None = None  # the corrected statement, with its conditions
    counterexample: dict[str, Any] | None = None  # minimal, as Hypothesis shrank it


@dataclass
class ReadingResult:
    claim_id: str
    reading_id: str
    statement: str
    outcome: Outcome | None
    evidence: list[Evidence]
    seconds: float
    error: str | None = None  # the toolkit failed: no verdict

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        return self.outcome.verdict.value

    def to_dict(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "id": self.claim_id,
            "reading_id": self.reading_id,
            "reading": self.statement,
            "verdict": self.verdict,
            "evidence": (o.because if o else self.error),
            "corrected": o.corrected if o else None,
            "counterexample": o.counterexample if o else None,
            "details": [e.to_dict() for e in self.evidence],
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


@dataclass(frozen=True)
class Reading:
    """A precise reading of a claim: how to gather evidence, and the rule for the verdict."""

    id: str
    statement: str
    gather: Callable[[Profile], list[Evidence]]
    rule: Callable[[list[Evidence]], Outcome]

    def check(self, claim_id: str, profile: Profile) -> ReadingResult:
        start = time.perf_counter()
        evidence: list[Evidence] = []
        try:
            evidence = self.gather(profile)
            outcome = self.rule(evidence)
        except Exception as err:  # the toolkit failed; report it, never turn it into a verdict
            frame = traceback.extract_tb(err.__traceback__)[-1]
            return ReadingResult(
                claim_id, self.id, self.statement, None, evidence, time.perf_counter() - start,
                error=f"{type(err).__name__}: {err} (at {frame.filename}:{frame.lineno})",
            )
        return ReadingResult(claim_id, self.id, self.statement, outcome, evidence, time.perf_counter() - start)


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    readings: tuple[Reading, ...]

    def check(self, profile: Profile, progress: Callable[[str], None] | None = None) -> list[ReadingResult]:
        results = []
        for reading in self.readings:
            if progress is not None:
                progress(reading.id)
            results.append(attach_real_evidence(reading.check(self.id, profile), profile))
        return results


def attach_real_evidence(result: ReadingResult, profile: Profile) -> ReadingResult:
    """Add what the pretrained model's heads show about this reading (``theorem.claims.real_evidence``).

    The verdict is decided on the synthetic evidence; the real heads are listed with it, each
    saying whether it confirms (``supports``) or contradicts the reading, and skipped with the
    reason when the real-model extra is not installed (``make real``).
    """
    from theorem.claims.real_evidence import ALL_EVIDENCE

    gather = ALL_EVIDENCE.get(result.claim_id)
    if gather is None or result.error is not None:
        return result
    try:
        items = gather(profile)
    except Exception as err:  # the real-model path failed: say so, keep the verdict
        items = [Evidence("real", f"real-model evidence unavailable: {type(err).__name__}: {err}", None)]
    for item in items:
        bears = item.data.get("bears_on")  # a reading ID, optionally followed by a note ("T1.c corrected …")
        if bears is None or bears.split()[0] == result.reading_id:
            result.evidence.append(item)
    return result
