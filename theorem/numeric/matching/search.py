"""The counterexample search for (a), (b): the project's one Hypothesis driver over matching cases."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import target

from theorem.util.search import search
from theorem.kernels import Kernel
from theorem.numeric.matching.cases import MatchingCase, check_reading, kernel_offsets, matching_kernel, reversal, vertex_margin
from theorem.numeric.matching.conditions import candidate_conditions, check_conditions, meets
from theorem.numeric.matching.strategy import matching_cases

__all__ = ["SearchResult", "describe_violation", "search_counterexample", "search_with_conditions"]


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one Hypothesis search for a violation of ``reading`` by ``kernel``.

    ``counterexample`` is the minimal case Hypothesis shrank to (``None``: none found in
    ``max_examples``); ``evaluated``/``met`` count the cases tried and those meeting the
    conditions with at least one pair the reading speaks about (``met == 0``: the conditions
    were never met non-vacuously, so the search says nothing).
    """

    kernel: str
    reading: str
    conditions: tuple[str, ...]
    counterexample: dict[str, Any] | None
    evaluated: int
    met: int
    max_examples: int
    seconds: float

    @property
    def found(self) -> bool:
        return self.counterexample is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "reading": self.reading,
            "conditions": list(self.conditions),
            "counterexample": self.counterexample,
            "cases_evaluated": self.evaluated,
            "cases_meeting_conditions": self.met,
            "max_examples": self.max_examples,
            "seconds": round(self.seconds, 3),
        }


def describe_violation(kernel: Kernel, case: MatchingCase, reading: str) -> dict[str, Any]:
    """A counterexample as plain numbers: the case, scores, distances, weights, the reversed pair."""
    rev = reversal(kernel, case, reading)
    out = case.to_dict()
    out.update(
        scores=case.scores.tolist(),
        sq_distances=case.sq_distances.tolist(),
        weights=rev.weights.tolist(),
        preferred=rev.i,
        beaten_by=rev.j,
        reversal=rev.amount,
    )
    t = kernel_offsets(kernel, case)
    if t is not None:
        out["t"] = t.tolist()
    return out


def search_counterexample(
    kernel_name: "str | Kernel",
    reading: str,
    conditions: tuple[str, ...] = (),
    *,
    max_examples: int = 200,
) -> SearchResult:
    """Search a minimal violation of ``reading`` (``a``/``b``) by the kernel labelled ``kernel_name``.

    :func:`theorem.util.search.search` over :func:`matching_cases`: cases outside the ``conditions``
    are skipped; the reversal amount steers the search (``target``), and under ``above-vertex``
    so does the vertex margin (toward keys above the vertex, so the condition is met often
    enough to mean something).  Derandomized, no database: the same result every run.
    """
    kernel = matching_kernel(kernel_name)
    check_reading(reading)
    check_conditions(conditions)
    if max_examples < 1:
        raise ValueError(f"max_examples: must be ≥ 1, got {max_examples}")
    counts = {"evaluated": 0, "met": 0}
    strategy = matching_cases(equal_norms="equal-key-norms" in conditions, nonnegative="nonnegative-inputs" in conditions)

    def check(case: MatchingCase) -> tuple[bool | None, float, dict]:
        counts["evaluated"] += 1
        if "above-vertex" in conditions:
            target(float(np.clip(vertex_margin(kernel, case), -1e3, 1e3)), label="vertex margin")
        if not meets(kernel, case, conditions):
            return None, 0.0, {}
        rev = reversal(kernel, case, reading)
        if rev.i >= 0:  # count only cases with a pair the reading speaks about (not all tied)
            counts["met"] += 1
        return rev.violated, rev.amount, {}

    start = time.perf_counter()
    found = search(strategy, check, max_examples=max_examples)
    cex = describe_violation(kernel, found.example, reading) if found.found else None
    return SearchResult(
        kernel_name if isinstance(kernel_name, str) else kernel.name, reading, tuple(conditions), cex, counts["evaluated"], counts["met"], max_examples,
        time.perf_counter() - start,
    )


def search_with_conditions(
    kernel_name: str, reading: str, *, max_examples: int = 200
) -> tuple[SearchResult, SearchResult | None]:
    """The search a matching reading runs: without conditions and, if that finds a violation, again
    under :func:`~theorem.numeric.matching.candidate_conditions` (None when there are none to try)."""
    free = search_counterexample(kernel_name, reading, (), max_examples=max_examples)
    if not free.found:
        return free, None
    conditions = candidate_conditions(matching_kernel(kernel_name), reading)
    if not conditions:
        return free, None
    return free, search_counterexample(kernel_name, reading, conditions, max_examples=max_examples)
