"""R1 – attention is O(n²d), not O(n²); O(n d³) only wins when n ≫ d².  Each test states its lemma.

Lemmas: 128³ = 2,097,152 and 2048² = 4,194,304; n·d³ < n²·d ⟺ d² < n, so d³ vs n² is not the
comparison that decides (minimal counterexample d = 2, n = 3, and the commenter's own numbers);
the crossover n* is the positive root of the two exact counts, which SymPy solves, and it tends
to d²/2; the cost model's n* is the one ``auto`` switches at.
"""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from hypothesis import example, given, note
from hypothesis import strategies as st

from theorem.attention import resolve_algorithm
from theorem.bench.attention import measured_crossover
from theorem.claims.ledger import Evidence, Profile, Verdict
from theorem.claims.r1_crossover import READINGS, STATED, gather_b, gather_c, rule_b, rule_c, rule_d
from theorem.kernels import CSQ
from theorem.symbolic import flops as fl


def test_the_commenters_arithmetic_is_right():
    assert 128**3 == STATED["d_cubed"] == 2_097_152
    assert 2048**2 == STATED["n_squared"] == 4_194_304
    ev = gather_b(Profile("quick"))
    assert rule_b(ev).verdict == Verdict.HOLDS


@given(st.integers(1, 10**4), st.integers(1, 10**8))
def test_the_deciding_comparison_is_d_squared_vs_n(d, n):
    assert (n * d**3 < n**2 * d) == (d**2 < n)


def test_minimal_counterexample_to_comparing_d_cubed_with_n_squared():
    bad = [(d, n) for d, n in itertools.product(range(1, 20), range(1, 400))
           if d**3 < n**2 and n * d**3 > n**2 * d]
    assert min(bad) == (2, 3)
    assert 128**3 < 2048**2 and 2048 * 128**3 > 2048**2 * 128  # the commenter's own numbers are one
    out = rule_c(gather_c(Profile("quick")))
    assert out.verdict == Verdict.FAILS
    c = out.counterexample
    assert c["d_cubed"] < c["n_squared"] and c["n_d_cubed"] > c["n_squared_d"]
    assert (c["d"], c["n"]) == (2, 3)  # the ledger reports the minimal one


@given(st.integers(1, 256), st.integers(1, 256), st.sampled_from([16, 64, 256]), st.sampled_from([64, 256, 1024]),
       st.sampled_from([0, 1, 8]), st.sampled_from([0, 1e4]), st.booleans())
@example(128, 128, 64, 256, 1, 0, False)
def test_crossover_is_the_root_of_the_two_counts(dk, dv, chunk, block, rho, omega, causal):
    bal = fl.MachineBalance(rho_q=rho, rho_l=2 * rho, omega=omega, kappa=1e3 * rho, source="test")
    n_star = fl.crossover_value("csq", dk, dv, causal, bal, chunk=chunk, block=block)
    vals = dict(dk=dk, dv=dv, chunk=chunk, block=block)
    subs = {fl.DK: dk, fl.DV: dv, fl.C: chunk, fl.B: block}
    q = fl.cost("csq", "quadratic", causal).model(bal.rho_q, omega, bal.kappa).subs(subs)
    lin = fl.cost("csq", "linear", causal).model(bal.rho_l, omega, bal.kappa).subs(subs)
    gap = float((q - lin).subs(fl.N, n_star))
    note(f"n* = {n_star:.1f}, gap there {gap:.3e}, {vals}")
    assert n_star > 0
    assert abs(gap) <= 1e-9 * float(q.subs(fl.N, n_star))
    assert float((q - lin).subs(fl.N, 2 * n_star)) > 0 > float((q - lin).subs(fl.N, n_star / 2))


def test_flop_crossover_tends_to_half_d_squared():
    d = fl.D_SYM
    x = fl.crossover("csq", False, rho_q=1, rho_l=1, omega=0, kappa=0).subs({fl.DK: d, fl.DV: d, fl.B: 256})
    assert sp.limit(x / d**2, d, sp.oo) == sp.Rational(1025, 2048)
    n128 = fl.crossover_value("csq", 128, 128, False, fl.PURE_FLOPS)
    assert 8000 < n128 < 128**2  # a win well before n ≫ d²


@pytest.mark.parametrize("dk", [8, 16, 32, 64, 128])
def test_auto_switches_at_the_cost_model_crossover(dk):
    n_star = fl.crossover_value("csq", dk, dk, False, fl.THIS_MACHINE)
    assert resolve_algorithm(CSQ(), max(1, math.floor(n_star / 1.5)), dk, dk, False, "auto") == "quadratic"
    assert resolve_algorithm(CSQ(), math.ceil(n_star * 1.5), dk, dk, False, "auto") == "linear"


def test_measured_crossover_interpolates_the_sign_change():
    ns = [100, 200, 400, 800]
    tq = [1.0, 4.0, 16.0, 64.0]  # ∝ n²
    tl = [8.0, 16.0, 32.0, 64.0 * 0.5]  # ∝ n, crossing between 400 and 800
    m = measured_crossover(ns, tq, tl)
    assert m["status"] == "ok" and 400 < m["n_star"] < 800
    assert measured_crossover(ns, [2.0] * 4, [1.0] * 4)["status"] == "below"
    assert measured_crossover(ns, [1.0] * 4, [2.0] * 4)["status"] == "above"


def _bench_ev(dk, n_star, causal=False):
    return Evidence("benchmark", "synthetic", None, {"dk": dk, "causal": causal, "measured_n_star": n_star,
                                                       "model_n_star": n_star})


def test_rule_d_can_come_out_either_way():
    sym = Evidence("symbolic", "", None, {"n_star_over_d2_limit": "1/2", "n_star_128": 8427.0})
    assert rule_d([sym, _bench_ev(8, 140), _bench_ev(16, 500)]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    assert rule_d([sym, _bench_ev(8, 5 * 64), _bench_ev(16, 5 * 256)]).verdict == Verdict.HOLDS
    assert rule_d([sym, _bench_ev(8, None)]).verdict == Verdict.OPEN


def test_quadratic_count_is_n_squared_times_d():
    for kernel in ("softmax", "csq"):
        f = fl.cost(kernel, "quadratic", False).flops
        assert sp.expand(sp.diff(f, fl.DK, 1) - 2 * fl.N**2 - fl.N) == 0  # ∂F/∂d_k = 2n² + n
        assert sp.limit(sp.limit(f.subs({fl.DK: fl.D_SYM, fl.DV: fl.D_SYM}) / (fl.N**2 * fl.D_SYM), fl.D_SYM, sp.oo),
                        fl.N, sp.oo) == 4


def test_readings_exist():
    assert [r.id for r in READINGS] == ["R1.a", "R1.b", "R1.c", "R1.d"]


@pytest.mark.parametrize("reading", READINGS[:3], ids=lambda r: r.id)
def test_ledger_reading_gives_a_verdict(reading):
    res = reading.check("R1", Profile("quick"))
    assert res.error is None, res.error
    assert res.outcome.verdict in (Verdict.HOLDS, Verdict.HOLDS_WITH_CONDITIONS, Verdict.FAILS)


@pytest.mark.slow
def test_crossover_reading_gives_a_verdict():
    res = READINGS[3].check("R1", Profile("quick"))
    assert res.error is None, res.error
