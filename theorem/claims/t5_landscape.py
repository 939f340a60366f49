"""T5: "replacing softmax by the degree-2 kernel x² explores exactly the same landscape".

Readings (each with its own verdict):

* **T5.a** — the same parameter-space dimension: the pulled-back gradient space of the weights
  map (θ = M) has the same dimension for poly2 and CSQ as for softmax, on every input;
* **T5.b** — the same function class: every attention row one kernel realises, the other
  realises too (approximation gap 0 in both directions);
* **T5.c** — the same landscape up to reparametrization: a diffeomorphism of parameter space
  carries the poly2 loss onto the softmax loss (necessary: critical points of equal nullity);
  at matched points the Hessian spectra and the loss along lines are compared as well.

Evidence is measured at run time: dense Jacobian ranks beside their closed forms and a
Hypothesis search for the smallest input where the dimensions differ (T5.a), optimized gaps
beside exact bounds and an exact CSQ certificate (T5.b), Hessians, the Euler identity of
degree-0 homogeneity and the Gauss–Newton closed form (T5.c).

Evidence keys: ``panel.<input>`` and ``fuzz`` (T5.a), each beside its exact certificate over Q
(``certificate.panel.<input>``, ``certificate.counterexample``: :mod:`theorem.claims._certificates`); ``minimal_instance``, ``pattern.antipodal``,
``pattern.nonmonotone`` (T5.b); ``euler``, ``poly2_critical``, ``softmax_minimum``, ``spectra`` (T5.c).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import find as hypothesis_find
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from theorem.claims._certificates import certificate_item
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find, find_all, find_optional
from theorem.kernels import get_kernel
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.util.search import strategy_only
from theorem.numeric.rank import numerical_rank
from theorem.training.function_class import antipodal_gaps, nonmonotone_gaps, row_weights
from theorem.training.landscape import LandscapeProblem, compare_landscapes
from theorem.util.precision import float64

KERNELS = (("softmax", {}), ("poly2", {}), ("csq", {"shift": 1.0, "center": True}))


# --------------------------------------------------------------------------------------------
# T5.a — dimension
# --------------------------------------------------------------------------------------------
def _dims(x: np.ndarray) -> dict[str, dict]:
    """Measured and predicted dimension of the weights map (θ = M) for each kernel."""
    out = {}
    for name, params in KERNELS:
        problem = PullbackProblem(np.asarray(x, dtype=np.float64), get_kernel(name, **params), "weights")
        try:
            meas = measure_rank(problem, route="dense")
            pred = predict_rank(problem)
        except ValueError as err:  # the map is undefined at θ₀ (0/0)
            out[problem.kernel.describe()] = {"measured": None, "status": "undefined", "predicted": None,
                                              "formula": "", "valid": False, "error": str(err)}
            continue
        out[problem.kernel.describe()] = {
            "measured": meas.rank.rank,
            "status": meas.rank.status,
            "predicted": pred.rank,
            "formula": pred.formula,
            "valid": pred.valid,
        }
    return out


def _counts(dims: dict[str, dict]) -> dict[str, int | None]:
    """The float64 count of each kernel where its rank is well defined."""
    return {k: v["measured"] if v["status"] == "ok" else None for k, v in dims.items()}


def _reliable(row: dict) -> bool:
    return row["status"] == "ok" and row["valid"] and row["measured"] == row["predicted"]


PANEL_A = (
    ("Gaussian n=8, d=3", lambda: np.random.default_rng(0).standard_normal((8, 3))),
    ("Gaussian n=5, d=2", lambda: np.random.default_rng(1).standard_normal((5, 2))),
    ("ones column n=8, d=3", lambda: np.column_stack([np.ones(8), np.random.default_rng(2).standard_normal((8, 2))])),
)


@float64
def gather_dimension(profile: Profile) -> list[Evidence]:
    ev = []
    for label, make in PANEL_A:
        x = make()
        dims = _dims(x)
        n, d = x.shape
        soft = dims["softmax"]["measured"]
        differ = {k: v["measured"] for k, v in dims.items() if v["measured"] != soft}
        reliable = all(_reliable(v) for v in dims.values())
        summary = f"{label}: " + ", ".join(
            f"{k} {v['measured']} (closed form {v['predicted']}: {v['formula']})" for k, v in dims.items()
        ) + f"; d² = {d * d}"
        ev.append(Evidence("numeric", summary, None if not reliable else not differ,
                           {"input": label, "n": n, "d": d, "dims": dims, "reliable": reliable},
                           key=f"panel.{label}", measured={k: v["measured"] for k, v in dims.items()},
                           predicted={k: v["predicted"] for k, v in dims.items()}))
        ev.append(certificate_item(f"certificate.panel.{label}", label, x, KERNELS, measured=_counts(dims)))

    # Hypothesis: the smallest integer token matrix on which the dimensions differ, in the claim's regime
    # (d ≥ 2, n > d, rank X = d: the headline) and, as secondary evidence, among the degenerate inputs too
    def differs(x, regime: bool) -> bool:
        n, d = x.shape
        if regime and not (d >= 2 and n > d and int(np.linalg.matrix_rank(x)) == d):
            return False
        dims = _dims(x)
        if not all(_reliable(v) for v in dims.values()):
            return False
        values = {v["measured"] for v in dims.values()}
        return len(values) > 1

    def integer_tokens(ns, ds):
        return st.tuples(ns, ds).flatmap(
            lambda s: st.lists(st.lists(st.integers(-2, 2), min_size=s[1], max_size=s[1]), min_size=s[0],
                               max_size=s[0])
        ).map(lambda rows: np.asarray(rows, dtype=np.float64))

    searches = (("fuzz", "in the claim's regime (d = 2, n ∈ {3, 4}, rank X = d)", integer_tokens(st.integers(3, 4),
                                                                                                 st.just(2)), True),
                ("fuzz.degenerate", "among all small inputs (n ≤ 3, d ≤ 2)", integer_tokens(st.integers(1, 3),
                                                                                             st.integers(1, 2)), False))
    for key, where, strategy, regime in searches:
        try:
            with strategy_only():
                x = hypothesis_find(strategy, lambda x, regime=regime: differs(x, regime), settings=settings(
                    max_examples=profile.pick(60, 400), database=None, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck)))
        except NoSuchExample:
            ev.append(Evidence("fuzz", f"Hypothesis: no integer input {where} with different dimensions", True, {},
                               key=key))
            continue
        dims = _dims(x)
        ev.append(Evidence("fuzz", f"Hypothesis: minimal input {where} with different dimensions X = {x.tolist()}: "
                           + ", ".join(f"{k} {v['measured']} (closed form {v['predicted']})" for k, v in dims.items()),
                           False, {"counterexample": {"X": x.tolist(), "dims": dims}, "regime": regime}, key=key,
                           measured={k: v["measured"] for k, v in dims.items()},
                           predicted={k: v["predicted"] for k, v in dims.items()}))
        if regime:
            ev.append(certificate_item("certificate.counterexample", "minimal counterexample", x, KERNELS,
                                       measured=_counts(dims)))
    return ev


def rule_dimension(evidence: list[Evidence]) -> Outcome:
    rows = find_all(evidence, "panel")
    reliable = [e for e in rows if e.data["reliable"]]
    # the headline is the search in the claim's regime; the degenerate search only backs it when that found nothing
    found = [e for e in [find(evidence, "fuzz"), find_optional(evidence, "fuzz.degenerate")]
             if e is not None and e.supports is False]
    differing = [e for e in reliable if e.supports is False]
    if not reliable and not found:
        return Outcome(Verdict.OPEN, "no input where every dimension is well defined and equals its closed form")
    if differing or found:
        cx = found[0].data["counterexample"] if found else {"X": None, "dims": differing[0].data["dims"]}
        first = differing[0] if differing else found[0]
        cert = find_optional(evidence, "certificate.counterexample" if first.key == "fuzz"
                             else f"certificate.{first.key}")
        if cert is not None and not cert.data["agrees"]:
            return Outcome(Verdict.OPEN, f"the float64 counts differ, but the exact certificate at the same input "
                                         f"does not confirm them: {cert.summary}")
        proof = "" if cert is None else f"; certified exactly over Q: {cert.data['certified']}"
        return Outcome(
            Verdict.FAILS,
            f"dimensions differ (measured = closed form): {first.summary}{proof}",
            corrected=(
                "the dimension depends on the kernel's invariances: r·(r − e) for softmax and CSQ, "
                "r² − m(X) for poly2 (r = rank X, e = [1 ∈ col X], m = connected components of the row "
                "matroid). For generic tokens with n > d: d² for softmax and CSQ, d² − 1 for poly2 (its "
                "row scale is invisible); softmax and CSQ agree, poly2 does not."
            ),
            counterexample=cx,
        )
    return Outcome(Verdict.HOLDS, f"equal dimensions on all {len(reliable)} inputs and no counterexample found")


# --------------------------------------------------------------------------------------------
# T5.b — function class
# --------------------------------------------------------------------------------------------
REALISED = 1e-9  # a gap at or below this counts as realised (exact certificate or closed form)
NEAR = 0.1  # softmax's infimum 0 is not attained: a measured gap below this is "approaches it"


@float64
def gather_function_class(profile: Profile) -> list[Evidence]:
    ev = []
    # the minimal antipodal instance, in closed form: X = (1, −1)ᵀ, M = m
    x = np.array([[1.0], [-1.0]])
    ms = np.array([0.5, 1.0, 3.0, 10.0])
    rows = {}
    for name, params in KERNELS:
        kern = get_kernel(name, **params)
        rows[kern.describe()] = [float(row_weights(kern, jnp.asarray(x), jnp.full((1, 1), m), 0)[0]) for m in ms]
    predicted = {
        "softmax": [float(1 / (1 + math.exp(-2 * m))) for m in ms],
        "poly2": [0.5] * len(ms),
        "csq(shift=1, center=True)": [float((m + 1) ** 2 / ((m + 1) ** 2 + (1 - m) ** 2)) for m in ms],
    }
    err = max(abs(a - b) for k in rows for a, b in zip(rows[k], predicted[k]))
    ev.append(Evidence(
        "numeric",
        f"minimal instance X = (1, −1)ᵀ, d = 1: weight on key 0 at m = {ms.tolist()}: "
        + "; ".join(f"{k} {np.round(v, 6).tolist()}" for k, v in rows.items())
        + f" (closed forms σ(2m), ½, (m+1)²/((m+1)² + (1−m)²); max error {err:.1e}); CSQ is exactly 1 at m = 1, "
        "poly2 is ½ for every m",
        err < 1e-12,
        {"tokens": x.tolist(), "m": ms.tolist(), "measured": rows, "predicted": predicted, "max_error": err},
        key="minimal_instance", measured=rows, predicted=predicted,
    ))
    a = antipodal_gaps(n=4, d=3, seed=0, steps=profile.pick(600, 3000), restarts=profile.pick(3, 8))
    g = {k: v["gap"] for k, v in a["gaps"].items()}
    ev.append(Evidence(
        "numeric",
        f"antipodal one-hot (n = 4, d = 3, x₁ = −x₀, target e₀): optimized L1 gaps softmax {g['softmax']:.2e} "
        f"(infimum 0, not attained), poly2 {g['poly2']:.6f} (exact bound ≥ 1), CSQ {g['csq(shift=1, center=True)']:.2e} "
        f"by Adam, {a['csq_certificate_gap']:.1e} by the exact construction; poly2 antipodal weights differ by at most "
        f"{a['poly2_max_antipodal_weight_difference']:.1e} over 20 random M (predicted 0)",
        None,
        {"pattern": "antipodal one-hot", **a, "measured": g,
         "predicted": {"softmax": 0.0, "poly2_lower_bound": 1.0, "csq": 0.0}},
        key="pattern.antipodal", measured=g, predicted={"softmax": 0.0, "poly2_lower_bound": 1.0, "csq": 0.0},
    ))
    nm = nonmonotone_gaps(grid=profile.pick(4001, 40001))
    ev.append(Evidence(
        "numeric",
        f"non-monotone row p = (1, 0, 1, 4, 9)/15 on keys t = −2..2: gaps softmax {nm['softmax']['gap']:.4f} "
        f"(exact bound ≥ 1/15 = {1 / 15:.4f}), poly2 {nm['poly2']['gap']:.6f} (exact 13/15 = {13 / 15:.6f}), "
        f"CSQ {nm['csq(shift=1, center=True)']['gap']:.1e} (exact 0 at m = 1)",
        None,
        {"pattern": "non-monotone", **nm},
        key="pattern.nonmonotone", measured={k: v["gap"] for k, v in nm.items() if isinstance(v, dict) and "gap" in v},
        predicted=nm.get("predicted"),
    ))
    return ev


def _function_class_counterexample(by: dict[str, Evidence]) -> dict:
    """The headline separation as measured: the antipodal one-hot pattern (n > d, rank X = d), else the non-monotone row."""
    if "antipodal one-hot" in by:
        d = by["antipodal one-hot"].data
        return {"pattern": "antipodal one-hot", "n": d["n"], "d": d["d"], "tokens": d["tokens"], "target_row": d["target"],
                "L1_gaps": d["measured"], "csq_exact_construction_gap": d["csq_certificate_gap"],
                "poly2_lower_bound": d["poly2_lower_bound"]}
    d = by["non-monotone"].data
    return {"pattern": "non-monotone row", "keys": d["keys"], "target_row": d["target"],
            "L1_gaps": {k: v["gap"] for k, v in d.items() if isinstance(v, dict) and "gap" in v}}


def rule_function_class(evidence: list[Evidence]) -> Outcome:
    by = {e.data["pattern"]: e for e in find_all(evidence, "pattern")}
    separations = []
    if "antipodal one-hot" in by:
        d = by["antipodal one-hot"].data
        g = d["measured"]
        poly_blocked = g["poly2"] >= d["poly2_lower_bound"] - 1e-9
        csq_realises = d["csq_certificate_gap"] <= REALISED
        soft_approaches = g["softmax"] <= NEAR
        if poly_blocked and (csq_realises or soft_approaches):
            separations.append(
                f"antipodal one-hot: poly2 gap {g['poly2']:.4f} ≥ 1 (exact bound) while CSQ realises it exactly "
                f"(gap {d['csq_certificate_gap']:.1e}) and softmax approaches it (gap {g['softmax']:.1e})"
            )
    if "non-monotone" in by:
        d = by["non-monotone"].data
        soft_gap = d["softmax"]["gap"]
        csq_gap = d["csq(shift=1, center=True)"]["gap"]
        if soft_gap >= d["predicted"]["softmax"]["value"] - 1e-9 and csq_gap <= REALISED:
            separations.append(
                f"non-monotone row: CSQ realises it (gap {csq_gap:.1e}) while softmax stays ≥ 1/15 "
                f"(measured {soft_gap:.4f}) and poly2 at 13/15 (measured {d['poly2']['gap']:.4f})"
            )
    if not by:
        return Outcome(Verdict.OPEN, "no pattern measured")
    if separations:
        return Outcome(
            Verdict.FAILS,
            "; ".join(separations),
            corrected=(
                "the function classes differ: poly2 is even in each score (it cannot prefer a key over its "
                "antipode), softmax is monotone in the score (it cannot realise the non-monotone rows the shifted "
                "parabola of CSQ produces), and CSQ realises one-hot rows exactly where softmax only approaches them."
            ),
            counterexample=_function_class_counterexample(by),
        )
    return Outcome(Verdict.HOLDS, "every measured pattern is realised (or approached) by all kernels alike")


# --------------------------------------------------------------------------------------------
# T5.c — landscape
# --------------------------------------------------------------------------------------------
EULER_TOL = 1e-10  # ‖H M + ∇L‖ relative: poly2's Euler identity holds to round-off
NULL_TOL = 1e-8  # ‖H M‖/(‖H‖‖M‖) at poly2's critical point: M is a null vector


@float64
def gather_landscape(profile: Profile) -> list[Evidence]:
    n, d = profile.pick((6, 3), (8, 4))
    cmp_ = compare_landscapes(n=n, d=d, seed=0)
    ks = cmp_["kernels"]
    soft, poly, csq = ks["softmax"], ks["poly2"], ks["csq(shift=1, center=True)"]
    prob = LandscapeProblem(n, d, 0)
    # is softmax's zero-residual minimum non-degenerate?  rank of the output Jacobian there
    m_star = jnp.asarray(prob.m_teacher)
    jac = prob.output_jacobian(get_kernel("softmax"), m_star)
    jr = numerical_rank(jac)
    lam_min = soft["at_minimum"]["eigenvalues"][0]
    gn = soft["gauss_newton_lambda_min"]
    ev = [
        Evidence(
            "numeric",
            f"poly2 (n = {n}, d = {d}): Euler identity H·M = −∇L at the matched point, residual "
            f"{poly['at_matched_point']['euler_residual']:.1e} (predicted 0); loss varies along the ray αM by "
            f"{poly['at_matched_point']['ray_variation']:.1e} (predicted 0), softmax by "
            f"{soft['at_matched_point']['ray_variation']:.2f}, CSQ by {csq['at_matched_point']['ray_variation']:.2f}",
            None,
            {"euler_residual": poly["at_matched_point"]["euler_residual"], "predicted": 0.0,
             "ray_variation": {k: v["at_matched_point"]["ray_variation"] for k, v in ks.items()}},
            key="euler", measured=poly["at_matched_point"]["euler_residual"], predicted=0.0,
        ),
        Evidence(
            "numeric",
            f"poly2 at its critical point (|∇L| = {poly['at_minimum']['grad_norm']:.1e}, L = {poly['at_minimum']['loss']:.2e}): "
            f"‖H M‖/(‖H‖‖M‖) = {poly['at_minimum']['null_ratio']:.1e} (predicted 0: M is a null vector), smallest "
            f"|eigenvalue| {min(abs(e) for e in poly['at_minimum']['eigenvalues']):.1e} — a degenerate critical point",
            None,
            {"null_ratio": poly["at_minimum"]["null_ratio"], "grad_norm": poly["at_minimum"]["grad_norm"],
             "eigenvalues": poly["at_minimum"]["eigenvalues"], "loss": poly["at_minimum"]["loss"]},
            key="poly2_critical", measured=poly["at_minimum"]["null_ratio"], predicted=0.0,
        ),
        Evidence(
            "numeric",
            f"softmax at its zero-residual minimum M* (L = {soft['at_minimum']['loss']:.1e}): λ_min(H) = {lam_min:.6e}, "
            f"Gauss–Newton closed form σ_min(J)²/n = {gn:.6e}; rank J = {jr.rank} of d² = {d * d} ({jr.status}) — "
            "a non-degenerate minimum",
            None,
            {"lambda_min": lam_min, "predicted_lambda_min": gn, "jacobian_rank": jr.rank, "jacobian_rank_status": jr.status,
             "d_squared": d * d, "loss": soft["at_minimum"]["loss"]},
            key="softmax_minimum", measured=lam_min, predicted=gn,
        ),
        Evidence(
            "numeric",
            "Hessian spectra at the matched point M₀ (same M for every kernel): relative distance of sorted "
            "eigenvalues to softmax's: " + ", ".join(f"{k} {v:.2f}" for k, v in cmp_["spectral_distance_to_softmax"].items())
            + "; number of negative eigenvalues: "
            + ", ".join(f"{k} {sum(e < 0 for e in v['at_matched_point']['eigenvalues'])}" for k, v in ks.items()),
            None,
            {"spectral_distance_to_softmax": cmp_["spectral_distance_to_softmax"],
             "eigenvalues": {k: v["at_matched_point"]["eigenvalues"] for k, v in ks.items()},
             "slices": {k: v["at_matched_point"]["slices"] for k, v in ks.items()}, "ts": cmp_["ts"]},
            key="spectra", measured=cmp_["spectral_distance_to_softmax"],
        ),
    ]
    return ev


def rule_landscape(evidence: list[Evidence]) -> Outcome:
    euler, poly_crit = find(evidence, "euler"), find(evidence, "poly2_critical")
    soft_min, spectra = find(evidence, "softmax_minimum"), find(evidence, "spectra")
    poly_degenerate = euler.data["euler_residual"] <= EULER_TOL and poly_crit.data["null_ratio"] <= NULL_TOL
    gn_match = abs(soft_min.data["lambda_min"] - soft_min.data["predicted_lambda_min"]) <= 1e-6 * max(
        abs(soft_min.data["predicted_lambda_min"]), 1e-300)
    soft_nondegenerate = (soft_min.data["jacobian_rank_status"] == "ok"
                          and soft_min.data["jacobian_rank"] == soft_min.data["d_squared"]
                          and soft_min.data["lambda_min"] > 0 and gn_match)
    same_spectra = all(v <= 1e-8 for v in spectra.data["spectral_distance_to_softmax"].values())
    if poly_degenerate and soft_nondegenerate:
        return Outcome(
            Verdict.FAILS,
            f"poly2's every critical point is degenerate (Euler residual {euler.data['euler_residual']:.1e}, "
            f"null ratio {poly_crit.data['null_ratio']:.1e}) while softmax has a non-degenerate minimum "
            f"(λ_min = {soft_min.data['lambda_min']:.3e} = σ_min(J)²/n, rank J = d²): no reparametrization maps "
            "one landscape onto the other; at the same M the Hessian spectra differ too",
            corrected=(
                "poly2's loss is constant along rays M ↦ αM (its landscape is a cone over the sphere of M's, one "
                "dimension less: d² − 1 effective directions for generic tokens), softmax's is not; the landscapes "
                "share the d×d parametrization, not their geometry"
            ),
            counterexample={"ray": "L_poly2(αM) = L_poly2(M) for all α ≠ 0; L_softmax varies along the same ray",
                            "softmax_min_lambda": soft_min.data["lambda_min"],
                            "poly2_null_ratio": poly_crit.data["null_ratio"]},
        )
    if same_spectra and not poly_degenerate:
        return Outcome(Verdict.HOLDS, "the Hessian spectra agree at matched points and no invariant differs")
    return Outcome(
        Verdict.OPEN,
        "the invariants measured do not separate the landscapes: "
        f"poly2 degenerate {poly_degenerate}, softmax non-degenerate {soft_nondegenerate}",
    )


READINGS = (
    Reading(
        "T5.a",
        "With θ = M, the weights map's pulled-back gradient space has the same dimension for poly2 and CSQ as "
        "for softmax, on every input.",
        gather_dimension,
        rule_dimension,
    ),
    Reading(
        "T5.b",
        "poly2 / CSQ and softmax realise the same attention rows: every row one realises (or approaches), "
        "the other does too (approximation gap 0 both ways).",
        gather_function_class,
        rule_function_class,
    ),
    Reading(
        "T5.c",
        "The poly2 loss landscape is the softmax landscape up to a reparametrization of M (a diffeomorphism "
        "carrying one loss onto the other); at matched points their Hessian spectra agree.",
        gather_landscape,
        rule_landscape,
    ),
)
