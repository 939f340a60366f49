"""``verify --workers 2`` reports what the serial run reports, evidence included, for the reading whose
numbers depend on XLA's threading: T8.probe's depth fits (hundreds of Adam steps amplify a round-off
difference; on one-thread workers its best residual at p = 4, L = 2 came back as 3.90·10⁻² against the serial
3.86·10⁻²).  The workers keep the driver's threading (``threads=None``, docs/parallel.md), so the results must
be equal item for item.  Slow: a fresh local Ray and the reading twice (about a minute idle)."""

from __future__ import annotations

import pytest

from theorem.claims import runner
from theorem.claims.ledger import Profile
from theorem.claims.registry import load_claim
from theorem.util.executor import ray_available
from theorem.util.search import SearchOptions

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not ray_available(), reason="Ray (the parallel extra) is not installed")]


def _items(result) -> list[tuple]:
    return [(e.key, e.kind, e.supports, repr(e.measured), repr(e.predicted)) for e in result.evidence]


def test_the_depth_probe_reading_on_two_workers_is_the_serial_run(monkeypatch):
    monkeypatch.setattr(runner, "ALL_EVIDENCE", {})  # the real-model context is attached in the driver anyway
    claim, _ = load_claim("T8")
    probe = next(r for r in claim.readings if r.id == "T8.probe")
    # a second, cheap reading, so the two workers each run one
    other = next(r for r in claim.readings if r.id != "T8.probe")
    selected = [(claim, probe), (claim, other)]
    search = SearchOptions(seed=3)
    serial = runner.run_readings(selected, Profile("quick"), search=search)
    parallel = runner.run_readings(selected, Profile("quick"), workers=2, search=search)
    assert all(r.error is None for r in serial + parallel), [r.error for r in serial + parallel]
    for s, p in zip(serial, parallel):
        assert p.reading_id == s.reading_id
        assert (p.verdict, p.outcome.corrected, p.outcome.counterexample) == (s.verdict, s.outcome.corrected,
                                                                             s.outcome.counterexample)
        assert _items(p) == _items(s)
