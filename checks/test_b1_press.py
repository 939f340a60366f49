"""B1 – press reading: "O(d²)" means the cost of attention is independent of sequence length.

Lemmas: the count of the O(n d³) algorithm has ∂F/∂n > 0, constant in n (cost ∝ n, never
independent of it); the traced program's operations double, up to the closed form's constant,
when n doubles; every output row depends on every visible token (nothing to skip); the ledger
measures the growth at run time and reports the smallest doubling that costs more; the
per-token cost is independent of n but of order d³, not d².
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theorem.attention import attention
from theorem.claims.b1_press import READINGS, GROWTH, rule_a, rule_b
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


def _bench(rows):
    from theorem.bench.attention import fit_exponent

    growth = [(a["n"], b["n"], b["seconds"] / a["seconds"], b["flops"] / a["flops"]) for a, b in zip(rows, rows[1:])]
    first = next((g for g in growth if g[2] > GROWTH), None)
    exp = fit_exponent([r["n"] for r in rows], [r["seconds"] for r in rows])["exponent"]
    return Evidence("benchmark", "synthetic", None, {"rows": rows, "growth": growth, "first_growth": first,
                                                     "measured_exponent": exp})


def test_rule_a_can_come_out_either_way():
    linear = _bench([{"n": n, "seconds": 1e-6 * n, "flops": 100 * n} for n in (512, 1024, 2048)])
    flat = _bench([{"n": n, "seconds": 1e-3, "flops": 100 * n} for n in (512, 1024, 2048)])
    out = rule_a([linear])
    assert out.verdict == Verdict.FAILS and out.counterexample["n"] == [512, 1024]
    assert rule_a([flat]).verdict == Verdict.HOLDS


def test_the_ledger_measures_the_growth_now():
    reading = READINGS[0]
    res = reading.check("B1", Profile("quick"))
    assert res.error is None, res.error
    assert res.outcome.verdict == Verdict.FAILS
    c = res.outcome.counterexample
    assert c["n"][1] > c["n"][0] and c["time_ratio"] > 1.0 and c["flop_ratio"] > 1.9
    bench = next(e for e in res.evidence if e.kind == "benchmark")
    assert bench.data["measured_exponent"] > 0.5  # cost ∝ n^p with p near 1, far from 0


def test_per_token_cost_is_cubic_in_d():
    ev = READINGS[1].gather.__globals__["gather_b"]  # the same function the ledger runs
    assert ev is READINGS[1].gather
    f = fl.cost("csq", "linear", False).flops
    per_token = sp.limit(f / fl.N, fl.N, sp.oo).subs({fl.DK: fl.D_SYM, fl.DV: fl.D_SYM, fl.B: 256})
    assert sp.limit(per_token / fl.D_SYM**3, fl.D_SYM, sp.oo) == sp.Rational(1025, 512)
    flat = Evidence("benchmark", "", True, {})
    assert rule_b([Evidence("symbolic", "", True, {}), flat]).verdict == Verdict.HOLDS_WITH_CONDITIONS
