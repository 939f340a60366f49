"""Every rule of R1, T7, B1 and R2 driven, on synthetic evidence found by key, to each verdict its reading
allows; and the clock never decides: the same evidence with its timings replaced by wild values (as a
loaded machine gives) reaches the same verdict and corrected statement.
"""

from __future__ import annotations

import math

import pytest

from theorem.claims import _penalty_candidates as pc
from theorem.claims import b1_press as b1
from theorem.claims import r1_crossover as r1
from theorem.claims import r2_conflation as r2
from theorem.claims import t7_csq_cost as t7
from theorem.claims.ledger import Evidence, MissingEvidence, Verdict


def ev(key, supports=None, measured=None, predicted=None, kind="numeric", **data):
    return Evidence(kind, f"{key}: synthetic", supports, data, key=key, measured=measured, predicted=predicted)


def loaded(evidence, factor):
    """The same evidence with every timing (``timing.*``, ``benchmark.*``) rescaled by ``factor``, as load would."""
    out = []
    for e in evidence:
        if e.key.startswith(("timing.", "benchmark.")) and isinstance(e.measured, (int, float)):
            e = Evidence(e.kind, e.summary, e.supports, e.data, key=e.key, measured=e.measured * factor,
                         predicted=e.predicted)
        out.append(e)
    return out


def same_outcome(rule, evidence):
    """The rule's outcome, asserted identical under 20× slower and 20× faster timings."""
    base = rule(evidence)
    for factor in (20.0, 0.05):
        other = rule(loaded(evidence, factor))
        assert (other.verdict, other.corrected) == (base.verdict, base.corrected)
    return base


# --- R1.a ---------------------------------------------------------------------------------------
def r1a(sym_ok=True, counts_ok=True, share=0.5):
    rows = [{"dk": 16, "measured_matmul": 100}, {"dk": 256, "measured_matmul": 1600}]
    return [ev("symbolic.softmax", sym_ok), ev("symbolic.csq", True),
            ev("counts.softmax", counts_ok, rows=rows, elementwise_over_matmul=share),
            ev("timing.softmax-jnp", None, 1.0, kind="benchmark"), ev("timing.softmax-dpa", None, 0.4, kind="benchmark")]


@pytest.mark.parametrize("kwargs,verdict", [
    ({}, Verdict.HOLDS),
    ({"share": 2.0}, Verdict.HOLDS_WITH_CONDITIONS),
    ({"sym_ok": False}, Verdict.FAILS),
    ({"counts_ok": False}, Verdict.FAILS),
])
def test_r1a_reaches_each_verdict(kwargs, verdict):
    assert same_outcome(r1.rule_a, r1a(**kwargs)).verdict is verdict


def test_r1a_without_its_counts_is_a_toolkit_error():
    with pytest.raises(MissingEvidence):
        r1.rule_a(r1a()[:2])


# --- R1.b, R1.c ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ok,verdict", [(True, Verdict.HOLDS), (False, Verdict.FAILS)])
def test_r1b_reaches_each_verdict(ok, verdict):
    out = r1.rule_b([ev("arithmetic", ok, {"d_cubed": 1}, {"d_cubed": 2 if not ok else 1})])
    assert out.verdict is verdict and (out.counterexample is not None) == (not ok)


@pytest.mark.parametrize("found,verdict", [(True, Verdict.FAILS), (False, Verdict.HOLDS)])
def test_r1c_reaches_each_verdict(found, verdict):
    own = ev("commenter", False, n_d_cubed=2048 * 128**3, n_squared_d=2048**2 * 128, linear_flops=8.0,
             quadratic_flops=2.0)
    fz = ev("fuzz.comparison", not found, counterexample={"d": 2, "n": 3}) if found else ev("fuzz.comparison", True)
    out = r1.rule_c([fz, own])
    assert out.verdict is verdict
    if found:
        assert out.counterexample == {"d": 2, "n": 3} and "8×" in out.corrected  # d²/n = 16384/2048


# --- R1.d: decided by the FLOP count, the measured crossovers are context -------------------------
def r1d(kappa, based=1.0, measured=(140.0, 500.0)):
    sym = ev("symbolic.flop_crossover", None, kappa, 8435.0, kind="symbolic", n_star_over_d2_limit=str(kappa),
             n_star_128=8435.0)
    bsym = ev("symbolic.based_crossover", None, based, 16672.0, kind="symbolic", n_star_over_d2_limit=str(based),
              n_star_128=16672.0)
    bench = [ev(f"benchmark.crossover.d{dk}", None, m, 100.0, kind="benchmark", dk=dk, causal=False)
             for dk, m in zip((8, 16), measured)]
    return [sym, bsym, *bench, ev("literature.nauen2024", kind="literature")]


@pytest.mark.parametrize("kappa,verdict", [
    (0.5, Verdict.HOLDS_WITH_CONDITIONS), (r1.MUCH_GREATER, Verdict.HOLDS), (r1.MUCH_GREATER - 1e-9,
                                                                           Verdict.HOLDS_WITH_CONDITIONS),
    (None, Verdict.FAILS), (0.0, Verdict.FAILS),
])
def test_r1d_reaches_each_verdict(kappa, verdict):
    assert same_outcome(r1.rule_d, r1d(kappa)).verdict is verdict


def test_r1d_is_not_moved_by_the_measured_crossover():
    # a measured crossover of 10·d² (as a loaded machine might give) does not make "n ≫ d²" hold
    far = r1d(0.5, measured=(10 * 64.0, 10 * 256.0))
    none = r1d(0.5, measured=(None, None))
    assert r1.rule_d(far).verdict is r1.rule_d(none).verdict is Verdict.HOLDS_WITH_CONDITIONS


def test_r1d_names_both_feature_maps_in_the_corrected_statement():
    out = r1.rule_d(r1d(0.5005, based=1.001))
    assert "0.50·d²" in out.corrected and "1.00·d²" in out.corrected and "1 + d + d²" in out.corrected


# --- T7.a, T7.b -------------------------------------------------------------------------------
def t7a(refuted=None, timing=1.0):
    items = [ev(k, k != refuted, [1e-14] if k == "exactness.outputs" else (0 if k == "memory.forward" else None),
                [1e-12] if k == "exactness.outputs" else None) for k in t7.DECIDING_A]
    return items + [ev("timing.n.csq-linear", None, timing, 1.0, kind="benchmark"),
                    ev("timing.n.csq-linear-causal", None, timing, 1.0, kind="benchmark"),
                    ev("timing.d", None, 2.0, kind="benchmark")]


@pytest.mark.parametrize("refuted", [None, *t7.DECIDING_A])
def test_t7a_reaches_each_verdict(refuted):
    out = same_outcome(t7.rule_a, t7a(refuted))
    if refuted is None:
        assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and out.corrected == t7.CORRECTED_A
    else:
        assert out.verdict is Verdict.FAILS and out.counterexample["key"] == refuted


def test_t7a_a_quadratic_looking_clock_does_not_refute_it():
    assert t7.rule_a(t7a(timing=2.0)).verdict is Verdict.HOLDS_WITH_CONDITIONS


# --- B1.a, B1.b -------------------------------------------------------------------------------
def b1a(first, slope_positive=True):
    rows = [(512, 100, 100.0), (1024, 200, 200.0), (2048, 400, 400.0)]
    return [ev("symbolic.count", not slope_positive, kind="symbolic"),
            ev("counts.traced", first is None, [r[1] for r in rows], [r[2] for r in rows], rows=rows,
               first_growth=first),
            ev("timing.csq-linear", None, 1.0, 1.0, kind="benchmark",
               rows=[{"n": n, "seconds": 1e-3 * n} for n, _, _ in rows])]


@pytest.mark.parametrize("first,positive,verdict", [
    ((512, 1024, 2.0), True, Verdict.FAILS),
    (None, True, Verdict.FAILS),  # no doubling measured grows, but the closed form does: the whole range decides
    (None, False, Verdict.HOLDS),
])
def test_b1a_reaches_each_verdict(first, positive, verdict):
    assert same_outcome(b1.rule_a, b1a(first, positive)).verdict is verdict


def b1b(flat_in_n=True, order_d2=False, counts_flat=True):
    sym = ev("symbolic.per_token", flat_in_n and order_d2, kind="symbolic", per_token="4*D*(d_v+1)",
             per_token_d="2*d**3", per_token_over_d3="2" if not order_d2 else "0",
             per_token_over_d2="oo" if not order_d2 else "3", independent_of_n=flat_in_n, order_d2=order_d2)
    counts = ev("counts.per_token", counts_flat, [10.0, 10.0] if counts_flat else [10.0, 12.0], 10.0)
    return [sym, counts, ev("timing.per_token", None, 0.1, 0.0, kind="benchmark")]


@pytest.mark.parametrize("kwargs,verdict,key", [
    ({"order_d2": True}, Verdict.HOLDS, None),
    ({}, Verdict.FAILS, None),  # independent of n, but Θ(d³): the reading's "of order d²" fails
    ({"counts_flat": False}, Verdict.FAILS, "counts.per_token"),
    ({"flat_in_n": False}, Verdict.FAILS, "symbolic.per_token"),
])
def test_b1b_reaches_each_verdict(kwargs, verdict, key):
    out = same_outcome(b1.rule_b, b1b(**kwargs))
    assert out.verdict is verdict
    if key:
        assert out.counterexample["key"] == key
    elif verdict is Verdict.FAILS:
        assert "Θ(d³)" in out.corrected and out.counterexample["per_token_over_d3"] == "2"


# --- R2.a, R2.b -------------------------------------------------------------------------------
def r2a(dims=(9, 9), predicted=None, status="ok", slope=2.0, exact=True):
    rows = [{"n": n, "measured": m, "predicted": m, "status": status} for n, m in zip((8, 16), dims)]
    return [ev("dimension.softmax", None, list(dims), list(predicted or dims), rows=rows),
            ev("counts.softmax", None, [1, 4], [1, 4] if exact else [1, 5], slope=slope),
            ev("timing.softmax", None, 2.0, kind="benchmark"), ev("literature.keles2022", kind="literature")]


@pytest.mark.parametrize("kwargs,verdict", [
    ({}, Verdict.HOLDS),
    ({"dims": (9, 12)}, Verdict.FAILS),
    ({"slope": 0.5}, Verdict.FAILS),
    ({"exact": False}, Verdict.OPEN),
    ({"status": "ill-defined"}, Verdict.OPEN),
    ({"predicted": (9, 10)}, Verdict.OPEN),
])
def test_r2a_reaches_each_verdict(kwargs, verdict):
    assert same_outcome(r2.rule_a, r2a(**kwargs)).verdict is verdict


def r2b(same=True, differ=True, err=1e-14):
    dims = {"softmax": {"measured": 12, "status": "ok"}, "csq": {"measured": 12 if same else 13, "status": "ok"}}
    ranks = {"softmax_rank_lower_bound": 48 if differ else 15, "csq_rank": 15, "csq_closed_form": 15,
             "csq_factorized_error": err}
    return [ev("dimension.pair", None, **dims), ev("rank.pair", None, **ranks), ev("literature.keles2022")]


@pytest.mark.parametrize("kwargs,verdict", [
    ({}, Verdict.HOLDS), ({"same": False}, Verdict.OPEN), ({"differ": False}, Verdict.OPEN),
    ({"err": 1e-3}, Verdict.OPEN),
])
def test_r2b_reaches_each_verdict(kwargs, verdict):
    assert r2.rule_b(r2b(**kwargs)).verdict is verdict


def penalty(name, growth, square=0):
    rows = [{"n": n, "forward_and_backward": int(100 * (n / 256) ** growth), "square": [[n, n]] * square}
            for n in (256, 1024)]
    return ev(f"penalty.{name}", (square == 0 and growth < 1.5) if name == "exact" else None,
              [r["forward_and_backward"] for r in rows], [50, 200], rows=rows, growth_exponent=growth,
              square_arrays=square)


def t7b(refuted=None, timing=1.0, penalty_linear=True):
    items = [ev(k, k != refuted, {"exactness.grads": [1e-13], "counts.grad_ratio": [3.1, 3.2]}.get(k, 0))
             for k in t7.DECIDING_B]
    exact = penalty("exact", 1.0) if penalty_linear else penalty("exact", 2.0, square=3)
    return items + [exact, penalty("moments", 1.0), penalty("sampled", 1.0),
                    ev("timing.grad", None, timing, 1.0, kind="benchmark"), ev("literature.katharopoulos2020")]


@pytest.mark.parametrize("refuted", [None, *t7.DECIDING_B])
def test_t7b_reaches_each_verdict(refuted):
    out = same_outcome(t7.rule_b, t7b(refuted))
    if refuted is None:
        assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and "3.10–3.20" in out.corrected
    else:
        assert out.verdict is Verdict.FAILS and out.counterexample["key"] == refuted


def test_t7b_fails_when_the_penalty_gradient_is_quadratic():
    out = same_outcome(t7.rule_b, t7b(penalty_linear=False))
    assert out.verdict is Verdict.FAILS and out.counterexample["key"] == "penalty.exact"
    assert out.counterexample["growth_exponent"] == 2.0 and "n^2.00" in out.corrected
    assert "3 arrays with two axes ≥ n" in out.corrected and "1,600" in out.corrected  # 100·4²


# --- T7.b: the linear-time candidates (claims/_penalty_candidates.py) ---------------------------------
def candidate(label="moments κ=2", keeps=True, matched=3, targets=3, diverged=0, runs=24, kappa=2.0):
    name = label.split()[0]
    return ev(f"candidate.{pc.slug(label)}", None, matched, targets, label=label, penalty=name,
              kappa=kappa if name == "moments" else None, m=4 if name == "sampled" else None, keeps=keeps,
              cost={"ops_exponent": 1.0, "square_arrays": 0},
              stability={"runs": runs, "diverged": diverged, "trained": runs - diverged}, base_loss=1.0,
              points={1.0: {"task_loss": 1.2}, 10.0: {"task_loss": 1.5}})


def record_item(missing=False):
    if missing:
        return ev(f"record.{pc.RECORD}", kind="record", missing=True)
    return ev(f"record.{pc.RECORD}", kind="record", profile="medium", reference_lr=0.03,
              settings={"seeds": [0, 1, 2, 3], "lrs": [0.03, 0.3], "lams": [1.0, 10.0, 100.0], "steps": 1000, "n": 16})


def t7b_penalized(*candidates, missing=False):
    return t7b(penalty_linear=False) + [record_item(missing), *candidates]


def test_t7b_holds_with_conditions_when_a_linear_candidate_keeps_the_penalty():
    out = same_outcome(t7.rule_b, t7b_penalized(candidate(keeps=True), candidate("sampled m=4", keeps=False)))
    assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS
    assert "'moments κ=2'" in out.corrected and "3 of 3" in out.corrected
    assert f"{1 / (1 + 2.0**2):.0%}" in out.corrected  # Cantelli: 1/(1+κ²) = 20 % at κ = 2
    assert "n^2.00" in out.corrected and "medium profile" in out.corrected
    assert "+20% to +50%" in out.corrected  # its loss cost over the unpenalized 1.0: 1.2 and 1.5
    assert "'sampled m=4' matches 3 of 3" in out.corrected  # the other candidate, named


def test_t7b_fails_when_no_candidate_keeps_the_penalty_and_names_the_best():
    out = same_outcome(t7.rule_b, t7b_penalized(candidate(keeps=False, matched=1),
                                                candidate("sampled m=4", keeps=False, matched=2)))
    assert out.verdict is Verdict.FAILS and out.counterexample["key"] == "penalty.exact"
    assert "No linear-time candidate" in out.corrected and "'sampled m=4', matches 2 of 3" in out.corrected


def test_t7b_fails_as_reconstructed_when_the_comparison_is_missing():
    out = same_outcome(t7.rule_b, t7b_penalized(missing=True))
    assert out.verdict is Verdict.FAILS and "not measured (no comparison recorded)" in out.corrected


def synthetic_record(candidate_rows):
    """A penalty_candidates record: λ = 0, the exact penalty at λ = 1, 10, and one candidate's rows."""
    def row(label, penalty, lam, a, loss, seed, diverged=False, lr=0.03, **extra):
        return {"label": label, "penalty": penalty, "lam": lam, "lr": lr, "seed": seed, "a_rate": a, "task_loss": loss,
                "target_mass": 0.2, "below_vertex": 0.0, "diverged": diverged, "trained": not diverged,
                "kappa": 2.0, "m": 4, **extra}
    rows = [row("none", "none", 0.0, 0.25, 1.3, s) for s in range(4)]
    rows += [row("exact", "exact", lam, a, loss, s) for lam, a, loss in ((1.0, 0.1, 1.5), (10.0, 0.01, 1.7))
             for s in range(4)]
    rows += [row("moments κ=2", "moments", lam, a, loss, s, diverged=(s < d)) for lam, a, loss, d in candidate_rows
             for s in range(4)]
    cost = {"penalties": [{"label": "exact", "ops_exponent": 2.0, "square_arrays": 19},
                          {"label": "moments κ=2", "ops_exponent": 1.0, "square_arrays": 0}]}
    return {"profile": "medium", "provenance": {"date": "d", "git_commit": "c", "seconds": 1},
            "settings": {"seeds": [0, 1, 2, 3], "lrs": [0.03], "lams": [1.0, 10.0], "steps": 10, "n": 16},
            "result": {"runs": rows, "cost": cost, "reference_lr": 0.03}}


@pytest.mark.parametrize("candidate_rows,matched,keeps", [
    # reaches both exact points' (a) rates at their losses: (a) 0.1 at 1.5 by the point (0.09, 1.52) ≤ 1.5·1.03,
    # 0.01 by interpolation between (0.09, 1.52) and (0.001, 1.9): 1.52 + 0.38·log(9)/log(90) = 1.705 ≤ 1.7·1.03
    ([(1.0, 0.2, 1.4), (3.0, 0.09, 1.52), (10.0, 0.001, 1.9)], 2, True),
    # the same points, but 3 of 4 seeds diverge at every λ: more divergent than the exact penalty (0/8)
    ([(1.0, 0.2, 1.4, 3), (3.0, 0.09, 1.52, 3), (10.0, 0.001, 1.9, 3)], 2, False),
    # monotone enough, but at (a) = 0.01 its loss is 1.5 + 0.4·log(10)/log(20) = 1.807, 6 % above the exact's 1.7
    ([(1.0, 0.1, 1.5), (10.0, 0.005, 1.9)], 1, False),
])
def test_candidates_are_matched_on_the_exact_operating_points(monkeypatch, candidate_rows, matched, keeps):
    rows = [r if len(r) == 4 else (*r, 0) for r in candidate_rows]
    monkeypatch.setattr(pc, "load_record", lambda name: synthetic_record(rows))
    items = {e.key: e for e in pc.gather_candidates()}
    c = items["candidate.moments-kappa=2"]
    assert (c.measured, c.predicted, c.data["keeps"]) == (matched, 2, keeps)
    assert items["reference.exact"].data["stability"]["runs"] == 8


def test_frontier_loss_interpolates_in_log_a_and_takes_dominating_points():
    pts = [(0.2, 1.4), (0.001, 1.9)]
    t = math.log(20) / math.log(200)  # where log 0.01 lies between log 0.2 and log 0.001
    assert pc.frontier_loss(pts, 0.01) == pytest.approx(1.4 + 0.5 * t, rel=1e-12)
    assert pc.frontier_loss(pts, 0.3) == 1.4  # a point reaching the target's (a) rate at a lower loss
    assert pc.frontier_loss(pts, 1e-4) == math.inf  # beyond what the candidate reaches
