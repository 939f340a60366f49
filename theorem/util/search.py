"""The one Hypothesis search driver: a search run from library code (the ledger), not only from pytest.

:func:`search` looks for an input on which ``check`` reports a violation, steering with
``target()`` toward large violation scores, and returns the *minimal* violating input as
Hypothesis shrank it (the last failing call is the replay of the shrunk example).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings, target
from hypothesis.errors import Unsatisfiable


class _Found(Exception):
    pass


@dataclass
class SearchResult:
    found: bool
    example: Any = None
    detail: dict = field(default_factory=dict)
    examples_run: int = 0
    skipped: int = 0


def search(
    strategy,
    check: Callable[[Any], tuple[bool | None, float, dict]],
    *,
    max_examples: int = 100,
) -> SearchResult:
    """Search ``strategy`` for an input where ``check`` says the property is violated.

    ``check(x)`` returns ``(violated, score, detail)``: ``violated`` True/False, or None when
    the input is outside the property's conditions (skipped); ``score`` steers the search
    (larger means closer to a violation).
    """
    state = {"runs": 0, "skipped": 0, "last": None}

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(x):
        state["runs"] += 1
        violated, score, detail = check(x)
        if violated is None:
            state["skipped"] += 1
            return
        target(float(score), label="violation")
        if violated:
            state["last"] = (x, detail)
            raise _Found()

    try:
        prop()
    except _Found:
        x, detail = state["last"]
        return SearchResult(True, x, detail, state["runs"], state["skipped"])
    except Unsatisfiable:
        pass
    return SearchResult(False, None, {}, state["runs"], state["skipped"])
