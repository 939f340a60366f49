"""Types of the ledger: claims, readings, evidence, verdicts.

This module holds types only; :mod:`theorem.claims.runner` runs them.  Data flows one way:
a :class:`Reading` *gathers* :class:`Evidence` (each item computed at
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


class Role(str, Enum):
    """What an evidence item does for its reading's statement."""

    SUPPORTS = "supports"
    REFUTES = "refutes"
    CONTEXT = "context"  # a citation, a bound, a measurement the rule does not decide on


@dataclass
class Evidence:
    """One piece of evidence, found by its ``key``.

    ``key``: what the item is, unique within a reading (``"panel.softmax"``, ``"fuzz.closed_form"``,
    ``"counterexample"``); rules look evidence up by key (:func:`find`), never by position.
    ``kind``: ``symbolic`` | ``numeric`` | ``fuzz`` | ``benchmark`` | ``literature`` | ``real`` | ``record``.
    ``summary``: one line rendered from the values computed now (never a typed-in conclusion).
    ``supports``: True when it supports the reading's statement, False when it refutes it, None when
    it is context.  ``measured`` and ``predicted``: the number(s) measured and the closed form's
    value beside them (None where the item has no such pair).  ``data``: everything else, JSON-able.
    """

    kind: str
    summary: str
    supports: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    measured: Any = None
    predicted: Any = None

    @property
    def role(self) -> Role:
        if self.supports is None:
            return Role.CONTEXT
        return Role.SUPPORTS if self.supports else Role.REFUTES

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "role": self.role.value,
            "summary": self.summary,
            "supports": self.supports,
            "measured": self.measured,
            "predicted": self.predicted,
            "data": self.data,
        }


class MissingEvidence(KeyError):
    """A rule asked for evidence that its reading did not gather (a toolkit bug)."""


def find(evidence: list[Evidence], key: str) -> Evidence:
    """The item called ``key`` (exactly one must exist)."""
    hits = [e for e in evidence if e.key == key]
    if len(hits) != 1:
        have = ", ".join(e.key or "<no key>" for e in evidence)
        raise MissingEvidence(f"expected one evidence item {key!r}, found {len(hits)} (have: {have})")
    return hits[0]


def find_optional(evidence: list[Evidence], key: str) -> Evidence | None:
    """The item called ``key``, or None when the reading did not produce it."""
    hits = [e for e in evidence if e.key == key]
    if len(hits) > 1:
        raise MissingEvidence(f"evidence key {key!r} is not unique ({len(hits)} items)")
    return hits[0] if hits else None


def find_all(evidence: list[Evidence], prefix: str) -> list[Evidence]:
    """Every item whose key is ``prefix`` or starts with ``prefix + '.'``, in order."""
    return [e for e in evidence if e.key == prefix or e.key.startswith(prefix + ".")]


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
