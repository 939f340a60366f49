"""The cost readings' verdicts do not move with machine load (issue 12): each reading is gathered and judged
twice, once on the machine as it is and once while another CPU-bound process spins, and the verdict and the
corrected statement must be identical.  The timings in the evidence differ between the two runs (that is what
load does); the rules decide from counts and proofs only, so the outcome may not.

The quick test runs readings whose gathering takes seconds and includes a timing sweep (R1.b, B1.a,
B1.b); the slow one runs every cost reading (R1.d's crossover sweep, T7's timings and R2's pullbacks
take minutes).
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

SPIN = "import time\nt = time.time()\nwhile time.time() - t < 600:\n    sum(i * i for i in range(10000))\n"
QUICK = ("R1.b", "B1.a", "B1.b")
READINGS = {r.id: r for m in (r1, t7, b1, r2) for r in m.READINGS}


@contextmanager
def busy_cpu():
    """A CPU-bound subprocess spinning for the duration of the block (killed, by its own pid, after it)."""
    proc = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def outcomes(ids) -> dict[str, tuple]:
    """``{id: (verdict, corrected, timing values)}`` of a fresh gather and rule per reading."""
    b1._TIMINGS.clear()  # B1 shares one timing sweep per profile: measure it again in this run
    out = {}
    for rid in ids:
        reading = READINGS[rid]
        ev = reading.gather(Profile("quick"))
        res = reading.rule(ev)
        clocks = tuple(e.measured for e in ev if e.kind == "benchmark")
        out[rid] = (res.verdict, res.corrected, clocks)
    return out


def check_identical(ids):
    idle = outcomes(ids)
    with busy_cpu() as proc:
        busy = outcomes(ids)
        assert proc.poll() is None, "the load ended before the second run did"
    for rid in ids:
        assert idle[rid][:2] == busy[rid][:2], (rid, idle[rid], busy[rid])
    return idle, busy


def test_quick_cost_verdicts_are_identical_with_and_without_load():
    check_identical(QUICK)


@pytest.mark.slow
def test_every_cost_verdict_is_identical_with_and_without_load():
    check_identical(tuple(READINGS))
