"""R1 – attention is O(n²d), not O(n²); O(n d³) only wins when n ≫ d².  Each test states its lemma.

Lemmas: the quadratic form's traced operations are 2n²(d_k+d_v) matmul FLOPs plus O(n²), so Θ(n²·d)
(R1.a is decided from them, not from the clock); 128³ = 2,097,152 and 2048² = 4,194,304;
n·d³ < n²·d ⟺ d² < n, so d³ vs n² is not the comparison that decides (minimal counterexample d = 2,
n = 3, and the commenter's own numbers); the crossover n* is the positive root of the two exact
counts, which SymPy solves, and it tends to d²/2; the cost model's n* (with the calibration record's
balance) is the one ``auto`` switches at.
"""

from __future__ import annotations

import itertools
import math

import pytest
import sympy as sp
from hypothesis import example, given, note
from hypothesis import strategies as st

from theorem.attention import resolve_algorithm
from theorem.claims import r1_crossover as r1
from theorem.claims.ledger import Evidence, Profile, Verdict
from theorem.claims.r1_crossover import READINGS, STATED, gather_b, gather_c, rule_a, rule_b, rule_c, rule_d
from theorem.kernels import CSQ
from theorem.numeric.scaling_fits import measured_crossover
from theorem.symbolic import flops as fl
from theorem.util.machine import this_machine


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
    assert r1.minimal_counterexample(19, 399) == (2, 3) and r1.minimal_counterexample(1, 1) is None


@given(st.integers(1, 256), st.integers(1, 256), st.sampled_from([16, 64, 256]), st.sampled_from([64, 256, 1024]),
       st.sampled_from([0, 1, 8]), st.sampled_from([0, 1e4]), st.booleans())
@example(128, 128, 64, 256, 1, 0, False)
def test_crossover_is_the_root_of_the_two_counts(dk, dv, chunk, block, rho, omega, causal):
    bal = fl.MachineBalance(rho_q=float(rho), rho_l=2.0 * rho, omega=float(omega), kappa=1e3 * rho, source="test")
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
    n_star = fl.crossover_value("csq", dk, dk, False, this_machine())
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
    return Evidence("benchmark", "synthetic", None, {"dk": dk, "causal": causal},
                    key=f"benchmark.crossover.d{dk}{'.causal' if causal else ''}", measured=n_star, predicted=n_star)


def _sym(kappa, key="symbolic.flop_crossover"):
    return Evidence("symbolic", "", None, {"n_star_over_d2_limit": str(kappa), "n_star_128": 8427.0}, key=key,
                    measured=kappa)


SYM_D = [_sym(0.5), _sym(1.0, "symbolic.based_crossover")]


def test_rule_d_is_decided_by_the_flop_count():
    # the measured crossover is context: far above d² or absent, the count's n* → d²/2 decides
    assert rule_d([*SYM_D, _bench_ev(8, 140), _bench_ev(16, 500)]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    assert rule_d([*SYM_D, _bench_ev(8, 5 * 64), _bench_ev(16, 5 * 256)]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    assert rule_d([*SYM_D, _bench_ev(8, None)]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    # 4·d² is the line: 4.0·d² holds, just under it does not; a crossover not of order d² fails
    assert rule_d([_sym(4.0), SYM_D[1], _bench_ev(8, None)]).verdict == Verdict.HOLDS
    assert rule_d([_sym(4.0 - 1e-9), SYM_D[1]]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    assert rule_d([_sym(None), SYM_D[1]]).verdict == Verdict.FAILS


def test_based_features_move_the_crossover_to_d_squared():
    # Based's unsymmetrized features: D = 1 + d + d², about twice the symmetric (d+1)(d+2)/2
    assert fl.feature_dim("based", 16) == 1 + 16 + 256 and fl.feature_dim("csq", 16) == 17 * 18 // 2
    sym = r1.flop_crossover("csq", "symbolic.flop_crossover")
    based = r1.flop_crossover("based", "symbolic.based_crossover")
    assert sym.measured == pytest.approx(0.5, abs=0.01) and based.measured == pytest.approx(1.0, abs=0.01)
    assert based.predicted > 1.9 * sym.predicted  # n*(128)


# -- R1.a: decided from the traced operation counts, the clock is context ---------------------


@pytest.fixture(scope="module")
def r1a_untimed():
    return [r1.symbolic_quadratic("softmax"), r1.symbolic_quadratic("csq"), r1.traced_quadratic((16, 64, 256))]


def test_traced_quadratic_counts_against_the_closed_form_written_here(r1a_untimed):
    rows = r1a_untimed[2].data["rows"]
    n = r1.N_TRACED
    for r in rows:
        d = r["dk"]
        assert r["measured_matmul"] == 2 * n * n * (d + d)  # Q Kᵀ and A V: 2·n·n·d each
        # softmax, non-causal: max, subtract, exp, row sum per n×n entry; scale q (n·d) and divide (n·d_v)
        assert r["measured_elementwise"] == 4 * n * n + n * d + n * d
    assert r1a_untimed[2].supports


def test_rule_a_holds_from_the_counts_without_any_timing(r1a_untimed):
    out = rule_a(r1a_untimed)
    assert out.verdict == Verdict.HOLDS
    assert "67,108,864 at d = 256" in out.because  # 2·256²·512, the traced count at the largest d


def test_rule_a_can_come_out_otherwise(r1a_untimed):
    sym_soft, sym_csq, counts = r1a_untimed
    wrong = Evidence(counts.kind, "", False, counts.data, key="counts.softmax")
    assert rule_a([sym_soft, sym_csq, wrong]).verdict == Verdict.FAILS
    flat = Evidence("symbolic", "", False, {}, key="symbolic.softmax")
    assert rule_a([flat, sym_csq, counts]).verdict == Verdict.FAILS
    heavy = Evidence(counts.kind, "", True, {**counts.data, "elementwise_over_matmul": 1.5}, key="counts.softmax")
    assert rule_a([sym_soft, sym_csq, heavy]).verdict == Verdict.HOLDS_WITH_CONDITIONS
    slow = Evidence("benchmark", "", None, {}, key="timing.softmax-jnp", measured=0.01)
    assert rule_a([sym_soft, sym_csq, counts, slow]).verdict == Verdict.HOLDS  # a flat clock decides nothing


def test_quadratic_count_is_n_squared_times_d():
    for kernel in ("softmax", "csq"):
        f = fl.cost(kernel, "quadratic", False).flops
        assert sp.expand(sp.diff(f, fl.DK, 1) - 2 * fl.N**2 - fl.N) == 0  # ∂F/∂d_k = 2n² + n
        assert sp.limit(sp.limit(f.subs({fl.DK: fl.D_SYM, fl.DV: fl.D_SYM}) / (fl.N**2 * fl.D_SYM), fl.D_SYM, sp.oo),
                        fl.N, sp.oo) == 4


def test_readings_exist():
    assert [r.id for r in READINGS] == ["R1.a", "R1.b", "R1.c", "R1.d"]


@pytest.mark.parametrize(("index", "verdict"), [(1, Verdict.HOLDS), (2, Verdict.FAILS)],
                         ids=["R1.b", "R1.c"])
def test_ledger_reading_gives_its_verdict(index, verdict):
    res = READINGS[index].check("R1", Profile("quick"))
    assert res.error is None, res.error
    assert res.outcome.verdict == verdict
    assert len({e.key for e in res.evidence}) == len(res.evidence) and all(e.key for e in res.evidence)


@pytest.mark.slow
def test_r1a_reading_holds_whatever_the_clock_says():
    res = READINGS[0].check("R1", Profile("quick"))
    assert res.error is None, res.error
    assert res.outcome.verdict == Verdict.HOLDS
    assert {e.key for e in res.evidence} == {"symbolic.softmax", "symbolic.csq", "counts.softmax",
                                             "timing.softmax-jnp", "timing.softmax-dpa"}


@pytest.mark.slow
def test_crossover_reading_sets_the_measured_beside_the_calibrated_model():
    res = READINGS[3].check("R1", Profile("quick"))
    assert res.error is None, res.error
    bench = [e for e in res.evidence if e.key.startswith("benchmark.crossover.")]
    assert [e.key for e in bench] == ["benchmark.crossover.d8", "benchmark.crossover.d16"]
    for e in bench:
        dk = e.data["dk"]
        assert e.predicted == fl.crossover_value("csq", dk, dk, False, this_machine())
        assert e.data["model_balance"] == this_machine().source
