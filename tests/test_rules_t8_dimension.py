"""T8.dimension's rule driven, on synthetic dimension counts, to each verdict it can return."""

from __future__ import annotations

import pytest

from theorem.claims import t8_algebra as t8a
from theorem.claims.ledger import Evidence, Verdict


def row(family, d, rank, *, p=2, width=4, depth=1, exact=True, closed=None, ranks=None, status="ok", exact_rank=None,
        exact_float=None):
    ranks = ranks or [rank, rank]
    r = {"family": family, "d": d, "n": 4, "parameters": 100, "closed_form": closed, "float_rank": ranks[-1],
         "ok": status == "ok", "saturated": len(set(ranks)) == 1,
         "float": [{"samples": 10 + k, "outputs": 80, "float_rank": x, "tolerance": 1e-12, "gap": 1e12,
                    "float_status": status} for k, x in enumerate(ranks)]}
    r.update({"p": p} if family == "poly" else {"width": width, "depth": depth})
    er = rank if exact_rank is None else exact_rank
    r["exact"] = ({"samples": 9, "outputs": 72, "exact_rank": er, "float_rank": er if exact_float is None else exact_float,
                   "tolerance": 1e-12, "gap": 1e12, "jacobian_difference": 1e-16, "exact_seconds": 0.1}
                  if exact else None)
    return r


def ev(rows, key="record.function_dimension"):
    return [Evidence("record", "synthetic", None, {"rows": rows}, key=key)]


POLY = row("poly", 2, 7, p=4, closed=7)


@pytest.mark.parametrize("rows,verdict,words", [
    ([POLY, row("stack", 2, 11, closed=11), row("stack", 2, 34, depth=2)], Verdict.HOLDS, "all 2 certified exactly"),
    ([POLY, row("stack", 2, 11, closed=11), row("stack", 2, 34, depth=2, exact=False)], Verdict.HOLDS_WITH_CONDITIONS,
     "float64 only: L=2 stack"),
    ([POLY, row("stack", 2, 6, width=2)], Verdict.FAILS, "below the target's dimension: L=1 stack (d=2, w=2)"),
    ([POLY, row("stack", 2, 11, ranks=[10, 11], exact=False)], Verdict.OPEN, "differ with the sample count"),
    ([POLY, row("stack", 2, 11, status="ill-defined", exact=False)], Verdict.OPEN, "ill-defined"),
    ([POLY, row("stack", 2, 11, exact_rank=5, exact_float=6)], Verdict.OPEN, "≠ float64 rank"),
    ([POLY, row("stack", 2, 34, depth=2, ranks=[30, 32], exact_rank=31, exact_float=32)], Verdict.HOLDS,
     "float64 unreliable where the exact rank certifies the bound anyway: L=2 stack (d=2, w=4): ranks [30, 32]"),
    ([row("poly", 2, 8, closed=7), row("stack", 2, 11)], Verdict.OPEN, "above its proved bound 7"),
    ([POLY], Verdict.OPEN, "no dimension counts"),
])
def test_each_verdict(rows, verdict, words):
    out = t8a.rule_dimension(ev(rows))
    assert out.verdict is verdict and words in out.because, out.because


def test_an_exact_rank_below_the_target_is_not_a_certificate():
    # the float64 count is 11 but the exact rank at its point (fewer samples) is only 5: a lower bound below 7
    rows = [POLY, row("stack", 2, 11, exact_rank=5)]
    assert t8a.rule_dimension(ev(rows)).verdict is Verdict.HOLDS_WITH_CONDITIONS


def test_a_stack_narrower_than_d_is_outside_the_statement():
    rows = [POLY, row("stack", 2, 11), row("stack", 2, 3, width=1)]
    assert t8a.rule_dimension(ev(rows)).verdict is Verdict.HOLDS


def test_the_growth_with_depth_is_reported_from_the_counts():
    rows = [POLY, row("stack", 2, 11), row("stack", 2, 34, depth=2), row("stack", 2, 65, depth=3)]
    (g,) = t8a.growth(rows)
    assert g["dims"] == {1: 11, 2: 34, 3: 65} and g["increments"] == {2: 23, 3: 31} and g["full_stream_increment"] == 31
    assert "increments [23, 31]; 2w² − 1 = 31" in t8a.rule_dimension(ev(rows)).because


def test_a_missing_record_alone_is_open():
    out = t8a.rule_dimension([Evidence("record", "missing", None, {"missing": True}, key="record.function_dimension")])
    assert out.verdict is Verdict.OPEN
