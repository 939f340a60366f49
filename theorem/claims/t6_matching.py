"""T6 (matching part) – CSQ keeps the Euclidean matching property.

CSQ is the project's reconstruction (``claims.md``): weight ∝ (q·(k_j − k̄)/√d_k + c)², row
normalized; the soft penalty is :func:`theorem.numeric.matching.csq_penalty`.  Readings:

* ``T6.a:<variant>``, ``T6.b:<variant>`` — (a) dot-product monotonicity and (b) Euclidean
  matching for CSQ (centered, c = 1), CSQ without centering, CSQ without shift (c = 0);
  poly2 (no centering, no shift) is in T4.  Built by :func:`t4_matching.property_reading`.
  For c > 0 the weights depend on the scores only through s̃/c, so c = 1 loses no generality.
* ``T6.c`` — contrast: does CSQ keep softmax's log(n − 1) half-mass gap?
* ``T6.d`` — realistic inputs, penalty off: how often (a), (b) fail, measured beside closed forms;
  what centering changes when keys share a mean.
* ``T6.e`` — penalty on: a short training run, held-out violations and task loss.

The stability part of T6 lives in :mod:`theorem.claims.t6_stability`.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict
from theorem.claims.t4_matching import contrast_table, property_reading
from theorem.numeric import matching as nm
from theorem.symbolic import matching as sm

CSQ_VARIANTS = ("csq", "csq-uncentered", "csq-noshift")


# ------------------------------------------------------------------------------------
# T6.c: contrast
# ------------------------------------------------------------------------------------


def gather_contrast(profile: Profile) -> list[Evidence]:
    import jax.numpy as jnp

    from theorem.kernels import get_kernel

    ns = profile.pick((3, 10, 100), (3, 5, 10, 30, 100, 300, 1000))
    rows = contrast_table(("csq", "softmax"), ns)
    g = sm.contrast_gap("csq")
    limit_vs_log = sp.limit(g.expr / sp.log(sm.N), sm.N, sp.oo)
    mine = [r for r in rows if r["kernel"] == "csq"]
    agrees = g.holds and all(r["rel_error"] <= 1e-9 and r["first_crossing"] for r in rows)
    # c is a unit: CSQ(c) on scores S equals CSQ(2c) on 2S (kernel code)
    rng = np.random.default_rng(1)
    s = jnp.asarray(rng.standard_normal((6, 6)) * 3)
    diff = float(jnp.max(jnp.abs(get_kernel("csq", shift=1.0).weights_from_scores(s)
                                 - get_kernel("csq", shift=2.0).weights_from_scores(2 * s))))
    return [
        Evidence(
            "symbolic",
            f"CSQ (centered): Δ* = {g.expr}; {g.asymptotic}; Δ*/log n → {limit_vs_log}; {g.detail}",
            supports=None,
            data={"formula": str(g.expr), "asymptotic": g.asymptotic, "limit_over_log": str(limit_vs_log),
                  "closed_form_holds": g.holds},
        ),
        Evidence(
            "numeric",
            f"measured by bisection on the kernels' weights at n ∈ {list(ns)}: max relative error "
            f"{max(r['rel_error'] for r in rows):.1e} (CSQ at levels {list(nm.CONTRAST_LEVELS['csq'])}: the "
            "centering makes the gap level-free)",
            supports=None,
            data={"agrees": agrees, "rows": rows},
        ),
        Evidence(
            "numeric",
            f"the shift is a unit: max |CSQ(c=1)(S) − CSQ(c=2)(2S)| = {diff:.1e} (predicted 0)",
            supports=None,
            data={"measured": diff, "predicted": 0.0},
        ),
    ]


def rule_contrast(evidence: list[Evidence]) -> Outcome:
    sym, meas, unit = evidence
    if not (meas.data["agrees"] and sym.data["closed_form_holds"]) or unit.data["measured"] > 1e-12:
        return Outcome(Verdict.OPEN, "closed form and measurement disagree: find out which is wrong")
    rows = meas.data["rows"]
    csq = {r["n"]: r["measured"] for r in rows if r["kernel"] == "csq"}
    soft = {r["n"]: r["measured"] for r in rows if r["kernel"] == "softmax"}
    ratios = {n: csq[n] / soft[n] for n in sorted(csq)}
    growing = list(ratios.values()) == sorted(ratios.values()) and sym.data["limit_over_log"] == "oo"
    n_max = max(ratios)
    if not growing:
        return Outcome(Verdict.HOLDS, f"CSQ's gap stays within a constant of log(n − 1): ratios {ratios}")
    return Outcome(
        Verdict.FAILS,
        f"CSQ needs Δ* = n c(√(n−1) − 1)/(n − 1 + √(n−1)) ~ c√n; at n = {n_max}: {csq[n_max]:.4g} (c = 1) vs "
        f"softmax's log(n − 1) = {soft[n_max]:.4g}; the ratio grows without bound (Δ*/log n → ∞)",
        corrected=(
            "CSQ (centered, shift c) gives the best of n keys half the mass at a centered score gap "
            "Δ* = n·c·(√(n−1) − 1)/(n − 1 + √(n−1)), which grows like c·√n, not like softmax's log(n − 1). "
            "Since CSQ's weights depend on the scores only through s̃/c, the gap is in units of c; full mass "
            "needs Δ = n·c (every distractor at the vertex)."
        ),
        counterexample={"n": n_max, "csq_gap": csq[n_max], "softmax_gap": soft[n_max], "shift": 1.0},
    )


# ------------------------------------------------------------------------------------
# T6.d: realistic inputs, penalty off
# ------------------------------------------------------------------------------------

_RATE_SETTINGS = (  # (kernel, key mean τ)
    ("csq", 0.0),
    ("csq", 1.0),
    ("csq-uncentered", 0.0),
    ("csq-uncentered", 1.0),
    ("csq-noshift", 0.0),
    ("softmax", 0.0),
    ("softmax", 1.0),
)


def _predicted_a(kernel_name: str, n: int, key_mean: float) -> float | None:
    """Closed-form (a) rate: 0 for softmax; the vertex formula for CSQ and poly2 (= CSQ(c=0, uncentered))."""
    kernel = nm.matching_kernel(kernel_name)
    if kernel_name == "softmax":
        return 0.0
    if kernel_name == "poly2":
        return nm.predicted_vertex_misorder_rate(center=False, shift=0.0, n=n, key_mean=key_mean)
    if not hasattr(kernel, "shift"):
        return None
    return nm.predicted_vertex_misorder_rate(center=kernel.center, shift=kernel.shift, n=n, key_mean=key_mean)


def rate_table(
    settings: tuple[tuple[str, float], ...] = _RATE_SETTINGS, *, n: int = 32, dk: int = 16, trials: int = 40
) -> list[dict]:
    """Measured (a), (b) violation rates beside their closed forms, per (kernel, key mean τ)."""
    rows = []
    for kernel_name, tau in settings:
        r = nm.realistic_violation_rates(kernel_name, n=n, dk=dk, trials=trials, key_mean=tau)
        pa = _predicted_a(kernel_name, n, tau)
        pb_soft = nm.predicted_euclid_misorder_rate(dk=dk, key_mean=tau)
        data = {**r.to_dict(), "a_predicted": pa,
                "a_formula": ("0 (exp is increasing)" if kernel_name == "softmax" else
                              "Φ(−2c/√(2 − 4/n))" if kernel_name in ("csq", "csq-noshift") else "Φ(−2c/√(2 + 4τ²))")}
        if kernel_name == "softmax":
            data.update(b_predicted=pb_soft, b_formula="E[atan2(σ_w√W, 2√d_k − σ_w Z)]/π, σ_w² = 2 + 4τ²")
        else:  # a reversed nearer key is either a score/distance disagreement or a vertex reversal
            data.update(b_upper_bound=pb_soft + (pa or 0.0), b_formula="≤ P_b(softmax) + P_a(kernel) (union bound)")
        rows.append(data)
    return rows


def gather_realistic(profile: Profile) -> list[Evidence]:
    n, dk = 32, 16
    evidence = []
    for data in rate_table(n=n, dk=dk, trials=profile.pick(40, 400)):
        kernel_name, tau = data["kernel"], data["key_mean"]
        pa = data["a_predicted"]
        evidence.append(
            Evidence(
                "numeric",
                f"{kernel_name}, key mean τ = {tau:g}: (a) reversed on {data['a_rate']:.4f} ± {data['a_se']:.4f} of "
                f"pairs (predicted {pa:.4f}); (b) on {data['b_rate']:.4f} ± {data['b_se']:.4f}"
                + (f" (predicted {data['b_predicted']:.4f})" if "b_predicted" in data
                   else f" (bound {data['b_upper_bound']:.4f})")
                + ("" if math.isnan(data["below_vertex"]) else f"; {data['below_vertex']:.3f} of keys below the vertex"),
                supports=None,
                data=data,
            )
        )
    ex = nm.realistic_example("csq", "a", n=n, dk=dk)
    evidence.append(
        Evidence(
            "numeric",
            "a realistic draw with a reversed pair under CSQ (centered, c = 1)" if ex else "no reversal in one draw",
            supports=ex is None,
            data={"example": ex},
        )
    )
    return evidence


def _agrees(measured: float, se: float, predicted: float) -> bool:
    """Within 4 standard errors (trial-level), with an absolute floor for zero-variance rates."""
    return abs(measured - predicted) <= 4.0 * se + 1e-9


def rule_realistic(evidence: list[Evidence]) -> Outcome:
    rates = [e.data for e in evidence if "a_rate" in e.data]
    example = next(e.data["example"] for e in evidence if "example" in e.data)
    bad = []
    for d in rates:
        if d["a_predicted"] is not None and not _agrees(d["a_rate"], d["a_se"], d["a_predicted"]):
            bad.append(f"{d['kernel']} τ={d['key_mean']} (a)")
        if "b_predicted" in d and not _agrees(d["b_rate"], d["b_se"], d["b_predicted"]):
            bad.append(f"{d['kernel']} τ={d['key_mean']} (b)")
        if "b_upper_bound" in d and d["b_rate"] > d["b_upper_bound"] + 4 * d["b_se"]:
            bad.append(f"{d['kernel']} τ={d['key_mean']} (b bound)")
    if bad:
        return Outcome(Verdict.OPEN, f"closed form and measurement disagree for {bad}: find out which is wrong")
    by = {(d["kernel"], d["key_mean"]): d for d in rates}
    csq0 = by[("csq", 0.0)]
    if csq0["a_rate"] <= 4 * csq0["a_se"] + 1e-9 and example is None:
        return Outcome(Verdict.HOLDS, "no measurable violation of (a) on realistic inputs")
    c1, u1, ns = by[("csq", 1.0)], by[("csq-uncentered", 1.0)], by[("csq-noshift", 0.0)]
    soft0 = by[("softmax", 0.0)]
    return Outcome(
        Verdict.FAILS,
        f"with the penalty off, CSQ reverses (a) on {csq0['a_rate']:.3f} of key pairs (closed form "
        f"Φ(−2/√(2 − 4/n)) = {csq0['a_predicted']:.3f}); without centering and with key mean τ = 1: "
        f"{u1['a_rate']:.3f} (centered: {c1['a_rate']:.3f}); without shift: {ns['a_rate']:.3f}; (b) fails on "
        f"{csq0['b_rate']:.3f} (softmax itself: {soft0['b_rate']:.3f})",
        corrected=(
            "On Gaussian keys with layer-norm-scale queries (score s.d. σ), CSQ's dot-product monotonicity fails on "
            "a fraction Φ(−2c/(σ√(2 − 4/n))) of key pairs with centering and Φ(−2c/(σ√(2 + 4τ²))) without it "
            "(τ: spread of a shared key mean, which centering cancels); without shift half of all pairs are "
            "reversed. Euclidean matching fails more often still, since unequal key norms already break it for "
            "softmax (E[atan2(σ_w√W, 2√d_k − σ_w Z)]/π of pairs)."
        ),
        counterexample=example,
    )


# ------------------------------------------------------------------------------------
# T6.e: the soft penalty in a short training run
# ------------------------------------------------------------------------------------

A_RATE_MAX = 0.01  # "keeps (a)": at most 1% of held-out key pairs reversed
LOSS_COST_MAX = 0.10  # "little cost": median task loss at most 10% above the unpenalized one


def _brief(run: nm.PenaltyRun) -> dict:
    return {k: v for k, v in run.to_dict().items() if k != "t_quantiles"}


def gather_penalty(profile: Profile) -> list[Evidence]:
    lams = profile.pick((0.0, 100.0), (0.0, 1.0, 10.0, 100.0, 1000.0))
    seeds = profile.pick((0, 1), (0, 1, 2, 3, 4))
    runs = nm.penalty_sweep(lams, seeds=seeds)
    evidence = []
    for lam in lams:
        mine = [r for r in runs if r.lam == lam]
        med = lambda key: float(np.median([getattr(r, key) for r in mine]))  # noqa: E731
        evidence.append(
            Evidence(
                "numeric",
                f"CSQ, λ = {lam:g}: held-out task loss (median of {len(mine)} seeds) {med('task_loss'):.3f}, "
                f"target mass {med('target_mass'):.3f}, (a) reversed on {med('a_rate'):.4f} of pairs, "
                f"{med('below_vertex'):.4f} of keys below the vertex",
                supports=None,
                data={"kernel": "csq", "lam": lam, "runs": [_brief(r) for r in mine],
                      **{f"median_{k}": med(k) for k in ("task_loss", "target_mass", "a_rate", "below_vertex")}},
            )
        )
    if profile.full:
        ref = nm.penalty_sweep((0.0,), seeds=seeds, kernel_name="softmax")
        evidence.append(
            Evidence(
                "numeric",
                f"softmax reference: held-out task loss {np.median([r.task_loss for r in ref]):.3f}, target mass "
                f"{np.median([r.target_mass for r in ref]):.3f}",
                supports=None,
                data={"kernel": "softmax", "lam": 0.0, "runs": [_brief(r) for r in ref],
                      "median_task_loss": float(np.median([r.task_loss for r in ref])),
                      "median_target_mass": float(np.median([r.target_mass for r in ref]))},
            )
        )
    return evidence


def rule_penalty(evidence: list[Evidence]) -> Outcome:
    csq = sorted((e.data for e in evidence if e.data.get("kernel") == "csq"), key=lambda d: d["lam"])
    base, pen = csq[0], csq[-1]
    if base["lam"] != 0.0 or pen["lam"] <= 0.0:
        return Outcome(Verdict.OPEN, "need a run without and one with the penalty")
    worst_pen = max(r["a_rate"] for r in pen["runs"])
    kept = worst_pen <= A_RATE_MAX
    cost = pen["median_task_loss"] / base["median_task_loss"] - 1.0
    ref = next((e.data for e in evidence if e.data.get("kernel") == "softmax"), None)
    ref_text = (f"; softmax reaches {ref['median_task_loss']:.3f} (target mass {ref['median_target_mass']:.3f})"
                if ref else "")
    summary = (
        f"λ = {pen['lam']:g}: (a) reversed on ≤ {worst_pen:.4f} of held-out pairs (λ = 0: median "
        f"{base['median_a_rate']:.4f}), keys below the vertex {pen['median_below_vertex']:.4f} "
        f"(λ = 0: {base['median_below_vertex']:.4f}); task loss {pen['median_task_loss']:.3f} vs "
        f"{base['median_task_loss']:.3f} ({cost:+.0%}){ref_text}"
    )
    if not kept:
        return Outcome(Verdict.FAILS, summary, counterexample=max(pen["runs"], key=lambda r: r["a_rate"]))
    if cost <= LOSS_COST_MAX:
        return Outcome(Verdict.HOLDS, summary)
    return Outcome(
        Verdict.HOLDS_WITH_CONDITIONS,
        summary,
        corrected=(
            f"With the soft penalty (λ = {pen['lam']:g}) a trained CSQ head keeps dot-product monotonicity on "
            f"held-out inputs up to {worst_pen:.2%} of key pairs (not exactly), but its task loss is "
            f"{cost:+.0%} relative to the unpenalized median on this matching task: the penalty trades contrast "
            "for monotonicity."
        ),
    )


READINGS: tuple[Reading, ...] = (
    *(property_reading("T6", k, r) for k in CSQ_VARIANTS for r in ("a", "b")),
    Reading(
        "T6.c",
        "CSQ keeps softmax's contrast: the score gap giving the best of n keys half the mass grows like "
        "log(n − 1), as for softmax (fixed shift c).",
        gather_contrast,
        rule_contrast,
    ),
    Reading(
        "T6.d",
        "Without its penalty, CSQ keeps dot-product monotonicity (a) on realistic inputs (layer-norm-scale "
        "queries, Gaussian keys).",
        gather_realistic,
        rule_realistic,
    ),
    Reading(
        "T6.e",
        f"Trained with the soft penalty, CSQ keeps dot-product monotonicity on held-out inputs (≤ {A_RATE_MAX:.0%} of "
        f"key pairs reversed) at little cost to the task loss (≤ {LOSS_COST_MAX:.0%} above training without it).",
        gather_penalty,
        rule_penalty,
    ),
)
