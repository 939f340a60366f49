"""The one Hypothesis search driver: a search run from library code (the ledger), not only from pytest.

:func:`search` looks for an input on which ``check`` reports a violation, steering with
``target()`` toward large violation scores, and returns the *minimal* violating input as
Hypothesis shrank it (the last failing call is the replay of the shrunk example).

Every search draws from its strategy alone: :func:`strategy_only` keeps Hypothesis from mixing in
constants it finds in the source of whatever local modules happen to be imported (it scans them as they
are imported), which would make a seeded search depend on import order and on whether the package is an
editable clone or installed — and so would move a verdict's counterexample between runs.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from hypothesis import HealthCheck, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from hypothesis.internal.conjecture import providers as _providers

__all__ = ["SearchOptions", "SearchResult", "search", "search_options", "strategy_only"]


@dataclass(frozen=True)
class SearchOptions:
    """Overrides for every :func:`search` run inside :func:`search_options` (``d2check fuzz`` and
    ``verify --seed``): ``max_examples`` replaces each search's own budget, ``seed`` replaces the
    derandomized (fixed) exploration by a seeded one, ``progress(examples, skipped)`` hears each example."""

    max_examples: int | None = None
    seed: int | None = None
    progress: Callable[[int, int], None] | None = None


_OPTIONS: contextvars.ContextVar[SearchOptions] = contextvars.ContextVar("search_options", default=SearchOptions())


@contextlib.contextmanager
def search_options(**overrides) -> Iterator[SearchOptions]:
    """Run the searches inside the ``with`` block with ``overrides`` (see :class:`SearchOptions`)."""
    token = _OPTIONS.set(SearchOptions(**overrides))
    try:
        yield _OPTIONS.get()
    finally:
        _OPTIONS.reset(token)


@contextlib.contextmanager
def strategy_only() -> Iterator[None]:
    """Inside the block, Hypothesis draws no constants collected from local source files (only its fixed,
    built-in ones), so a search is a function of its strategy, settings and seed alone.  Restored on exit."""
    original = _providers._get_local_constants
    empty = _providers.Constants()
    _providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        _providers._get_local_constants = original


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
    opts = _OPTIONS.get()

    @settings(
        max_examples=opts.max_examples or max_examples,
        derandomize=opts.seed is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def prop(x):
        state["runs"] += 1
        violated, score, detail = check(x)
        if opts.progress is not None:
            opts.progress(state["runs"], state["skipped"] + (violated is None))
        if violated is None:
            state["skipped"] += 1
            return
        target(float(score), label="violation")
        if violated:
            state["last"] = (x, detail)
            raise _Found()

    if opts.seed is not None:
        prop = hypothesis_seed(opts.seed)(prop)
    try:
        with strategy_only():
            prop()
    except _Found:
        x, detail = state["last"]
        return SearchResult(True, x, detail, state["runs"], state["skipped"])
    except Unsatisfiable:
        pass
    return SearchResult(False, None, {}, state["runs"], state["skipped"])
