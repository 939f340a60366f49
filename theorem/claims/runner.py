"""Run the ledger: every selected reading checked once, real-model evidence attached once.

This is the one place where readings are run (``d2check verify``, :func:`run_claims` and the
tests all come here).  A reading's verdict is decided on its own (synthetic) evidence; what the
pretrained model's heads show is attached afterwards as context, by the reading ID that each
real-model item names at the start of its ``bears_on`` field.

Readings are tasks of the one executor (:func:`theorem.util.executor.map_tasks`): in this process
with one worker, on Ray with more, each under the same search options (seed, budget), so the
results, and their order, are those of the serial run.  The real-model evidence is attached here,
in the driver, once, after the readings come back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from theorem.claims.ledger import Claim, Evidence, Profile, Reading, ReadingResult
from theorem.claims.real_evidence import ALL_EVIDENCE
from theorem.claims.registry import CLAIM_IDS, load_claim
from theorem.util.executor import TaskFailure, map_tasks, resolve_workers
from theorem.util.search import SearchOptions, search_options

__all__ = ["ReadingTask", "attach_real_evidence", "check_reading", "run_readings", "run_claims"]


@dataclass(frozen=True)
class ReadingTask:
    """One reading to check: the claim it belongs to, the reading, the profile, and the search options
    every Hypothesis search in it runs under (None: the caller's, in-process only)."""

    claim_id: str
    reading: Reading
    profile: Profile
    search: SearchOptions | None = None


def check_reading(task: ReadingTask) -> ReadingResult:
    """The reading's result (a toolkit failure inside it becomes its ``error``, as always)."""
    if task.search is None:
        return task.reading.check(task.claim_id, task.profile)
    with search_options(**{f.name: getattr(task.search, f.name) for f in dataclasses.fields(task.search)}):
        return task.reading.check(task.claim_id, task.profile)


def _line(index: int, result: ReadingResult) -> str:
    return f"{result.reading_id}: {result.verdict} ({result.seconds:.1f} s)"


def _failed(task: ReadingTask, failure: TaskFailure) -> ReadingResult:
    """A reading whose task failed outside the reading itself (its worker died, its result did not come
    back): an error result, named, as a reading that raises gets."""
    return ReadingResult(task.claim_id, task.reading.id, task.reading.statement, None, [], 0.0,
                         error=f"{failure.error} (task {failure.label})")


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
    selected: list[tuple[Claim, Reading]],
    profile: Profile,
    progress: bool = False,
    *,
    workers: int | str | None = 1,
    address: str | None = None,
    search: SearchOptions | None = None,
    real: bool = True,
) -> list[ReadingResult]:
    """Check each (claim, reading) pair: the results in the order given, real-model evidence attached
    (``real=False``: without it — the pretrained model's heads are context, never a verdict, so a caller
    that checks only how a reading is decided can skip measuring them).

    ``progress``: one line per finished reading on stderr (``[k/total] ID: verdict (s)``; a bar as well
    on a terminal).  ``workers``/``address``: see :func:`~theorem.util.executor.map_tasks`.  ``search``:
    the options of every search (seed, budget); with one worker and none given, the caller's
    :func:`~theorem.util.search.search_options` hold, as before; a Ray worker gets ``search`` without
    its ``progress`` callback (that stays in this process).
    """
    remote = resolve_workers(workers) > 1 or address is not None
    if remote and search is not None and search.progress is not None:
        search = dataclasses.replace(search, progress=None)
    if remote and search is None:
        search = SearchOptions()
    tasks = [ReadingTask(claim.id, reading, profile, search) for claim, reading in selected]
    # threads=None: the workers keep this process's XLA threading, so a fit whose round-off depends on how
    # a reduction is split across threads (T8.probe's depth fits) gives the serial run's evidence
    outcomes = map_tasks(check_reading, tasks, workers=workers, address=address, failures="return",
                         label=lambda t: t.reading.id, progress=_line if progress else False, threads=None)
    results = [_failed(task, out) if isinstance(out, TaskFailure) else out for task, out in zip(tasks, outcomes)]
    return [attach_real_evidence(r, profile) for r in results] if real else results


def run_claims(
    ids: list[str] | None, profile: Profile, progress: bool = False, *, workers: int | str | None = 1,
    address: str | None = None,
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
    results = run_readings(selected, profile, progress, workers=workers, address=address)
    return results, unchecked, time.perf_counter() - start
