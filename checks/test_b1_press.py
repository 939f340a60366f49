"""B1 – press reading: "O(d²)" means the cost of attention is independent of sequence length.

Lemmas: the count of the O(n d³) algorithm has ∂F/∂n > 0, constant in n (cost ∝ n, never
independent of it); the traced program's operations double, up to the closed form's constant,
when n doubles; every output row depends on every visible token (nothing to skip); the ledger
reads the growth off the traced program and reports the smallest doubling that costs more (the
clock is context, never asserted); the per-token cost is independent of n but of order d³, not d².
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from fractions import Fraction

from theorem.attention import attention
from theorem.claims import b1_press as b1
from theorem.claims.b1_press import GROWTH, READINGS, rule_a, rule_b
from theorem.claims.ledger import Evidence, Profile, Verdict
from theorem.numeric.linear_jaxpr import count_flops
from theorem.symbolic import flops as fl


@given(st.integers(1, 512), st.integers(1, 512), st.integers(1, 4096), st.booleans())
def test_cost_grows_with_n_at_a_constant_rate(dk, dv, chunk, causal):
    f = fl.cost("csq", "linear", causal).flops.subs({fl.DK: dk, fl.DV: dv, fl.C: chunk, fl.B: chunk})
    slope = sp.diff(f, fl.N)
    assert slope.free_symbols == set() and slope > 0
    assert sp.diff(f, fl.N, 2) == 0


@pytest.mark.parametrize("causal", [False, True])
def test_doubling_n_doubles_the_traced_work(causal):
    dk, dv, chunk = 4, 3, 32
    counts = []
    for n in (128, 256, 512):
        x, v = jnp.zeros((n, dk), jnp.float32), jnp.zeros((n, dv), jnp.float32)
        m = count_flops(lambda a, b, c: attention(a, b, c, kernel="csq", causal=causal, algorithm="linear",
                                                  chunk=chunk), x, x, v)
        counts.append(m.total)
    const = fl.cost("csq", "linear", causal).flops.subs({fl.DK: dk, fl.DV: dv, fl.C: chunk, fl.B: chunk, fl.N: 0})
    for a, b in zip(counts, counts[1:]):
        assert b - 2 * a == -int(const)  # F(2n) = 2 F(n) − F(0): exactly linear


def test_every_output_depends_on_every_token():
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((3, 64, 4))
    base = np.asarray(attention(q, k, v, kernel="csq", algorithm="linear"))
    for j in (0, 31, 63):
        v2 = v.copy()
        v2[j] += 1.0
        moved = np.abs(np.asarray(attention(q, k, v2, kernel="csq", algorithm="linear")) - base).max(axis=1)
        assert np.all(moved > 0)  # all 64 rows read token j: no algorithm can skip it


def _evidence_a(totals, slope_positive=True, seconds=None):
    """B1.a's evidence with the traced totals ``(n, F(n), closed form)`` given here."""
    ns = [n for n, _, _ in totals]
    seconds = seconds or [1e-6 * n for n in ns]
    return [
        Evidence("symbolic", "", not slope_positive, {}, key="symbolic.count"),
        Evidence("numeric", "", b1.first_growth(totals) is None, {"rows": totals, "first_growth": b1.first_growth(totals)},
                 key="counts.traced"),
        Evidence("benchmark", "", None, {"rows": [{"n": n, "seconds": t} for n, t in zip(ns, seconds)]},
                 key="timing.csq-linear", measured=1.0),
    ]


def test_first_growth_and_marginal_cost_against_hand_counts():
    linear = [(n, 7 * n + 3, 0.0) for n in (64, 128, 256, 512)]
    assert b1.first_growth(linear) == (64, 128, (7 * 128 + 3) / (7 * 64 + 3))
    assert b1.marginal_per_token(linear) == [Fraction(7)] * 3
    flat = [(n, 1000, 0.0) for n in (64, 128, 256)]
    assert b1.first_growth(flat) is None and b1.marginal_per_token(flat) == [0, 0]
    late = [(64, 100, 0.0), (128, 110, 0.0), (256, 400, 0.0)]  # grows by more than GROWTH only at the 2nd step
    assert b1.first_growth(late) == (128, 256, 400 / 110)


def test_rule_a_can_come_out_either_way():
    linear = [(n, 100 * n, 100.0 * n) for n in (512, 1024, 2048)]
    out = rule_a(_evidence_a(linear))
    assert out.verdict == Verdict.FAILS and out.counterexample["n"] == [512, 1024]
    assert out.counterexample["flop_ratio"] == 2.0 and out.counterexample["time_ratio"] == pytest.approx(2.0)
    flat = [(n, 1000, 1000.0) for n in (512, 1024, 2048)]
    assert rule_a(_evidence_a(flat, slope_positive=False)).verdict == Verdict.HOLDS
    # a flat clock does not rescue a count that grows, nor does a steep one refute a flat count
    assert rule_a(_evidence_a(linear, seconds=[1e-3] * 3)).verdict == Verdict.FAILS
    steep = rule_a(_evidence_a(flat, slope_positive=False, seconds=[1e-3, 4e-3, 16e-3]))
    assert steep.verdict == Verdict.HOLDS


def test_the_ledger_reads_the_growth_off_the_traced_program():
    res = READINGS[0].check("B1", Profile("quick"))
    assert res.error is None, res.error
    assert res.outcome.verdict == Verdict.FAILS
    c = res.outcome.counterexample
    assert c["n"] == [512, 1024]  # the smallest doubling measured already costs more
    # oracle written here: the count is affine, F(n) = a·n + 2·d_k (the mean's d_k twice), so F(2n)/F(n) < 2
    counts = next(e for e in res.evidence if e.key == "counts.traced")
    (n1, f1, _), (n2, f2, _) = counts.data["rows"][:2]
    a = Fraction(f2 - f1, n2 - n1)
    assert f1 == a * n1 + 2 * b1.DK
    assert c["flop_ratio"] == pytest.approx(float((2 * a * n1 + 2 * b1.DK) / (a * n1 + 2 * b1.DK)))
    assert GROWTH < c["flop_ratio"] < 2


def test_per_token_cost_is_cubic_in_d():
    f = fl.cost("csq", "linear", False).flops
    per_token = sp.limit(f / fl.N, fl.N, sp.oo).subs({fl.DK: fl.D_SYM, fl.DV: fl.D_SYM, fl.B: 256})
    assert sp.limit(per_token / fl.D_SYM**3, fl.D_SYM, sp.oo) == sp.Rational(1025, 512)


def test_per_token_reading_is_decided_by_the_marginal_count():
    ev = READINGS[1].gather(Profile("quick"))
    counts = next(e for e in ev if e.key == "counts.per_token")
    # oracle: d_k = d_v = 8, B = 64, D = 45 features: the closed form's ∂F/∂n written out here
    dk = dv = 8
    block = 64
    d = (dk + 1) * (dk + 2) // 2
    per_token = (4 * d * (dv + 1) + 3 * d + dv  # state and output products, features, division
                 + Fraction(d * (dv + 1), block) + 6 * dk + 1)  # state updates per block, the offsets e_i
    assert counts.supports and counts.predicted == pytest.approx(float(per_token))
    assert counts.measured == [counts.predicted] * len(counts.measured)
    out = rule_b(ev)  # independent of n, but Θ(d³) per token: "of order d²" fails
    assert out.verdict == Verdict.FAILS and "Θ(d³)" in out.corrected and out.counterexample["per_token_over_d3"] == "1025/512"
    bent = [e if e.key != "counts.per_token" else Evidence("numeric", "", False, {}, key="counts.per_token",
                                                            measured=[1.0, 2.0], predicted=1.0) for e in ev]
    out = rule_b(bent)
    assert out.verdict == Verdict.FAILS and out.counterexample["key"] == "counts.per_token"
