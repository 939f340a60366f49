"""Verdicts do not move with machine load (issue 12): each reading is gathered and judged twice, once on the
machine as it is and once while another CPU-bound process spins, and the verdict, the corrected statement and
the counterexample must be identical.  The timings in the evidence differ between the two runs (that is what
load does); the rules decide from counts and proofs only, so the outcome may not.

* quick (CI): the cost readings whose gathering takes seconds and includes a timing sweep (R1.b, B1.a, B1.b);
* quick (CI): one reading of every claim whose gathering takes a few seconds or less on an idle machine
  (:data:`SPANNING`; T5, T7, T8 and R2 have none: their cheapest readings take 6, 23, 50 and 5 s, and are run
  by the slow tests);
* slow: every cost reading (R1.d's crossover sweep, T7's timings and R2's pullbacks take minutes), and every
  reading of the ledger (about ten minutes: twice the quick profile's ``verify``).
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest

from theorem.claims import b1_press as b1
from theorem.claims import r1_crossover as r1
from theorem.claims import r2_conflation as r2
from theorem.claims import t7_csq_cost as t7
from theorem.claims.ledger import Profile
from theorem.claims.registry import CLAIM_IDS, load_claim
from theorem.util.jsonable import jsonable

SPIN = "import time\nt = time.time()\nwhile time.time() - t < 600:\n    sum(i * i for i in range(10000))\n"
QUICK = ("R1.b", "B1.a", "B1.b")
READINGS = {r.id: r for m in (r1, t7, b1, r2) for r in m.READINGS}
LEDGER = {r.id: r for cid in CLAIM_IDS for r in load_claim(cid)[0].readings}
# one cheap reading per claim (seconds from the committed quick report): T1.d 3.0, T2.b 1.4, T3.a 0.1, T4.e 0.0,
# T6.b:csq-uncentered 1.3, R1.c 0.4, R3.a 0.5, R4.b 0.0, B1.b 0.2: about 7 s a run on an idle machine
SPANNING = ("T1.d", "T2.b", "T3.a", "T4.e", "T6.b:csq-uncentered", "R1.c", "R3.a", "R4.b", "B1.b")


@contextmanager
def busy_cpu():
    """A CPU-bound subprocess spinning for the duration of the block (killed, by its own pid, after it)."""
    proc = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


# timings a counterexample shows as context (B1.a: the measured time ratio beside the operation counts): load
# moves them, so they are left out of the comparison; everything else in a counterexample must be identical
TIMING_KEYS = {"seconds", "time_ratio", "time_slope", "time_exponent", "wall_s"}


def without_timings(obj):
    if isinstance(obj, dict):
        return {k: without_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [without_timings(v) for v in obj]
    return obj


def outcomes(ids) -> dict[str, tuple]:
    """``{id: (verdict, corrected, counterexample, timing values)}`` of a fresh gather and rule per reading."""
    b1._TIMINGS.clear()  # B1 shares one timing sweep per profile: measure it again in this run
    out = {}
    for rid in ids:
        reading = LEDGER[rid]
        ev = reading.gather(Profile("quick"))
        res = reading.rule(ev)
        clocks = tuple(e.measured for e in ev if e.kind == "benchmark")
        out[rid] = (res.verdict, res.corrected, without_timings(jsonable(res.counterexample)), clocks)
    return out


def check_identical(ids):
    idle = outcomes(ids)
    with busy_cpu() as proc:
        busy = outcomes(ids)
        assert proc.poll() is None, "the load ended before the second run did"
    for rid in ids:
        assert idle[rid][:3] == busy[rid][:3], (rid, idle[rid], busy[rid])
    return idle, busy


def test_quick_cost_verdicts_are_identical_with_and_without_load():
    check_identical(QUICK)


@pytest.mark.slow
def test_every_cost_verdict_is_identical_with_and_without_load():
    check_identical(tuple(READINGS))


def test_timings_are_dropped_from_counterexamples_and_nothing_else():
    cx = {"n": [64, 128], "flop_ratio": 2.0, "time_ratio": 1.7, "rows": [{"seconds": 0.1, "count": 3}]}
    assert without_timings(cx) == {"n": [64, 128], "flop_ratio": 2.0, "rows": [{"count": 3}]}


def test_spanning_set_covers_every_claim():
    claims = {rid.split(".")[0] for rid in SPANNING}
    assert claims == set(CLAIM_IDS) - {"T5", "T7", "T8", "R2"}
    assert all(rid in LEDGER for rid in SPANNING)


def test_one_cheap_reading_per_claim_is_identical_with_and_without_load():
    check_identical(SPANNING)


@pytest.mark.slow
def test_every_verdict_of_the_ledger_is_identical_with_and_without_load():
    check_identical(tuple(LEDGER))
