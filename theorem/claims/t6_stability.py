"""T6 (stability): "CSQ ... stabilizes training".

The reading, fixed before the sweep was run (:mod:`theorem.training.stability` has the statistics;
the verdict rule :func:`judge` is here):

* **T6.stab.grad** — the mechanism: poly2's row normalizer ``Σ_j S_ij²`` vanishes with the scores,
  so its query–key gradient grows like ``1/α`` when the scores shrink by ``α²``; CSQ's centered
  normalizer is at least ``n c²`` and its gradient vanishes like ``α`` instead.  Measured beside
  the two closed forms (exact homogeneity; first-order expansion at ``S = 0``).
* **T6.stab.sweep** — training: over seeds × a learning-rate sweep, CSQ trained with its soft
  penalty has a lower divergence rate or a wider trainable learning-rate range than poly2 (no
  centering, no shift), without being worse on the other count, and is not less stable than
  softmax, on every setting measured.  Gradient-norm statistics and final accuracy with its
  spread are reported beside.

Quick profile: one tiny MQAR setting (2 seeds × 4 learning rates × 5 kernels, one compiled
program).  Full profile: the five settings of :data:`theorem.training.sweep.FULL_SETTINGS` (5 seeds ×
7–9 learning rates each).  The experiment ``stability`` (``python -m theorem.experiments stability``)
records the full sweep in ``theorem/data/records/stability.json``; the quick profile reports what the
same rule says on that record (context), or that the record is missing.

Evidence keys: ``gradient.<kernel>``, ``normalizer``; ``sweep.<setting>``, ``record.stability``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find, find_all, find_optional
from theorem.experiments.records import load_record
from theorem.kernels import get_kernel
from theorem.training.gradient_scale import gradient_scaling, normalizer_floor
from theorem.training.stability import compare
from theorem.training.sweep import FULL_SETTINGS, QUICK_SETTINGS, recompute_summaries, run_setting
from theorem.util.precision import float64

GRAD_KERNELS = (
    ("softmax", {}),
    ("poly2", {}),
    ("csq", {"shift": 1.0, "center": True}),
    ("csq", {"shift": 1.0, "center": False}),
    ("csq", {"shift": 0.0, "center": True}),
)
ALPHAS = (1.0, 1e-1, 1e-2, 1e-3)
HOMOGENEOUS_TOL = 1e-9  # g(α)·α = g(1) holds to round-off
EXPANSION_TOL = 1e-4  # g(α) = αC + O(α³): relative error at α = 1e-3 is O(1e-6); allow 100×
RECORD = "stability"
CENTERED = "csq(shift=1, center=True)"


@float64
def gather_gradient(profile: Profile) -> list[Evidence]:
    ev = []
    for name, params in GRAD_KERNELS:
        r = gradient_scaling(name, params, ALPHAS, seed=0)
        ev.append(Evidence(
            "numeric",
            f"{r['kernel']}: ‖∂ℓ/∂W_Q‖ at α = {', '.join(f'{a:g}' for a in ALPHAS)}: "
            + ", ".join(f"{m:.4e}" for m in r["measured"])
            + f"; closed form {r['law']}: " + ", ".join(f"{p:.4e}" for p in r["predicted"])
            + f" (max relative error at α ≤ 0.01: {max(r['relative_error'][2:]):.1e})",
            None,
            {**r, "kind": "gradient"},
            key=f"gradient.{r['kernel']}",
            measured=r["measured"],
            predicted=r["predicted"],
        ))
    # the normalizer floor: Σ_j (S̃_ij + c)² ≥ n c² for centered CSQ (exact), none for the others
    rng = np.random.default_rng(0)
    n = 6
    floors = {}
    for name, params in (("csq", {"shift": 1.0, "center": True}), ("csq", {"shift": 1.0, "center": False}),
                         ("poly2", {})):
        kern = get_kernel(name, **params)
        samples = [rng.standard_normal((n, n)) * s for s in (1e-3, 1e-1, 1.0, 10.0) for _ in range(25)]
        samples.append(-np.ones((n, n)))  # every score at −c: the uncentered normalizer is 0
        samples.append(np.zeros((n, n)))
        zmin = min(float(jnp.min(jnp.sum(kern.unnormalized(jnp.asarray(s)), axis=-1))) for s in samples)
        floors[kern.describe()] = {"min_normalizer": zmin, "floor_at_zero": normalizer_floor(name, params, n=n)["at_zero"]}
    ev.append(Evidence(
        "numeric",
        f"row normalizer Σ_j T_ij, minimum over {len(samples)} score matrices (n = {n}; incl. S = 0 and S = −1): "
        + ", ".join(f"{k} {v['min_normalizer']:.3g}" for k, v in floors.items())
        + f"; closed form for centered CSQ: ≥ n c² = {n}",
        None,
        {"kind": "normalizer", "n": n, "floors": floors, "predicted_floor_centered": float(n)},
        key="normalizer",
        measured=floors[CENTERED]["min_normalizer"],
        predicted=float(n),
    ))
    return ev


def rule_gradient(evidence: list[Evidence]) -> Outcome:
    grads = [e.data for e in find_all(evidence, "gradient")]
    mismatched = []
    for g in grads:
        errs = g["relative_error"]
        if g["singular"]:
            if max(errs) > HOMOGENEOUS_TOL:
                mismatched.append(g["kernel"])
        elif errs[-1] > EXPANSION_TOL:
            mismatched.append(g["kernel"])
    if mismatched:
        return Outcome(Verdict.OPEN, f"measured gradients disagree with their closed forms for {', '.join(mismatched)}: "
                       "the formula or the measurement is wrong; no verdict")
    csq = find_optional(evidence, f"gradient.{CENTERED}")
    poly = find_optional(evidence, "gradient.poly2")
    if csq is None or poly is None:
        return Outcome(Verdict.OPEN, "CSQ or poly2 not measured")
    csq, poly = csq.data, poly.data
    small = -1
    poly_blowup = poly["measured"][small] / poly["measured"][0]
    csq_ratio = csq["measured"][small] / csq["measured"][0]
    floor = find(evidence, "normalizer")
    floor_ok = floor.measured >= floor.predicted * (1 - 1e-12)
    singular_others = [g["kernel"] for g in grads if g["singular"]]
    if csq["singular"] or csq_ratio >= 1.0:
        return Outcome(Verdict.FAILS, f"CSQ's gradient does not stay bounded as the scores shrink "
                       f"(g(α)/g(1) = {csq_ratio:.2e} at α = {csq['alphas'][small]:g})")
    because = (
        f"as the scores shrink by α² = {csq['alphas'][small] ** 2:g}, poly2's query–key gradient grows by "
        f"{poly_blowup:.3g}× (closed form 1/α, exact to {max(poly['relative_error']):.0e}) while CSQ's shrinks by "
        f"{csq_ratio:.3g}× (closed form α·C, error {csq['relative_error'][small]:.0e}); centered CSQ's smallest "
        f"normalizer {floor.measured:.4g} {'≥' if floor_ok else '<'} n c² = {floor.predicted:g}"
    )
    return Outcome(
        Verdict.HOLDS if floor_ok else Verdict.HOLDS_WITH_CONDITIONS,
        because,
        corrected=(
            "the shift c > 0 removes poly2's 1/‖scores‖ gradient singularity (also without centering); centering "
            "alone (c = 0) keeps it (" + ", ".join(singular_others) + " follow 1/α); the centering is what bounds the "
            "normalizer below by n c²"
        ),
    )


CLAIMED = "csq+penalty"  # the recipe the claim describes: CSQ trained with its soft penalty
UNPENALIZED = "csq"
BASELINE = "poly2"  # the quadratic kernel without centering or shift
REFERENCE = "softmax"


def judge(settings: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply the reading to settings ``[{"name": …, "summaries": {label: summary}}]``.

    * **holds**: in every setting CSQ+penalty is *more stable* than poly2 and not *less stable*
      than softmax;
    * **holds-with-conditions**: that is true in some settings (or only without the penalty):
      the corrected statement names them;
    * **fails**: in no setting is CSQ (with or without its penalty) more stable than poly2 while
      not less stable than softmax; the counterexample is the setting most unfavourable to CSQ;
    * **open**: no setting has the kernels needed for the comparison.
    """
    rows = []
    for s in settings:
        summ = s["summaries"]
        if not all(k in summ for k in (CLAIMED, BASELINE, REFERENCE)):
            continue
        row = {"setting": s["name"], "numbers": {
            k: {"divergence_rate": v["divergence_rate"], "trainable_width_decades": v["trainable_width_decades"],
                "best_accuracy": f"{v['best_accuracy_mean']:.3f} ± {v['best_accuracy_std']:.3f}"}
            for k, v in summ.items()}}
        for label in (CLAIMED, UNPENALIZED):
            if label not in summ:
                continue
            vs_poly = compare(summ[label], summ[BASELINE])
            vs_soft = compare(summ[label], summ[REFERENCE])
            row[label] = {"vs_poly2": vs_poly, "vs_softmax": vs_soft,
                          "ok": vs_poly["relation"] == "more" and vs_soft["relation"] in ("more", "same")}
        row["poly2_vs_softmax"] = compare(summ[BASELINE], summ[REFERENCE])["relation"]
        rows.append(row)
    if not rows:
        return {"verdict": "open", "because": "no setting with softmax, poly2 and CSQ+penalty", "rows": rows}
    ok_pen = [r["setting"] for r in rows if r[CLAIMED]["ok"]]
    ok_nopen = [r["setting"] for r in rows if UNPENALIZED in r and r[UNPENALIZED]["ok"]]

    def describe(r, label=CLAIMED):
        n = r["numbers"]
        return (f"{r['setting']}: {label} vs poly2 '{r[label]['vs_poly2']['relation']}', vs softmax "
                f"'{r[label]['vs_softmax']['relation']}' (divergence {n[label]['divergence_rate']:.2f} / poly2 "
                f"{n[BASELINE]['divergence_rate']:.2f} / softmax {n[REFERENCE]['divergence_rate']:.2f}; trainable width "
                f"{n[label]['trainable_width_decades']:.1f} / {n[BASELINE]['trainable_width_decades']:.1f} / "
                f"{n[REFERENCE]['trainable_width_decades']:.1f} decades; best accuracy {n[label]['best_accuracy']} / "
                f"{n[BASELINE]['best_accuracy']} / {n[REFERENCE]['best_accuracy']})")

    if len(ok_pen) == len(rows):
        return {"verdict": "holds", "because": "; ".join(describe(r) for r in rows), "rows": rows}
    if ok_pen or ok_nopen:
        parts = []
        if ok_pen:
            parts.append(f"with the penalty in {', '.join(ok_pen)}")
        if ok_nopen:
            parts.append(f"without it in {', '.join(ok_nopen)}")
        count = len(set(ok_pen) | set(ok_nopen))
        failing = [r["setting"] for r in rows if r["setting"] not in ok_pen]
        never = [r["setting"] for r in rows if r["numbers"][CLAIMED]["trainable_width_decades"] == 0.0]
        return {
            "verdict": "holds-with-conditions",
            "because": "; ".join(describe(r) for r in rows),
            "corrected": (f"CSQ is more stable than poly2 and not less stable than softmax in {count} of {len(rows)} "
                          f"settings ({'; '.join(parts)}); with the penalty not in {', '.join(failing)}"
                          + (f" (in {', '.join(never)} CSQ+penalty reaches the accuracy threshold at no learning "
                             "rate: a capacity limit, not divergence)" if never else "")),
            "rows": rows,
        }

    # the setting most unfavourable to CSQ+penalty: largest (divergence − poly2's), then narrowest width
    def badness(r):
        c = r[CLAIMED]["vs_poly2"]
        return (c["divergence_rate_difference"], -c["width_difference_decades"])

    worst = max(rows, key=badness)
    no_instability = [r["setting"] for r in rows if r["poly2_vs_softmax"] in ("more", "same")]
    corrected = (
        "at these sizes CSQ does not train more stably than plain poly2"
        + (f"; poly2 itself is not less stable than softmax in {', '.join(no_instability)} "
           "(its scale invariance makes it robust to large steps), so there is no instability for CSQ to remove"
           if no_instability else "")
    )
    return {
        "verdict": "fails",
        "because": "; ".join(describe(r) for r in rows),
        "corrected": corrected,
        "counterexample": {"setting": worst["setting"], "numbers": worst["numbers"],
                           "csq+penalty_vs_poly2": worst[CLAIMED]["vs_poly2"],
                           "csq+penalty_vs_softmax": worst[CLAIMED]["vs_softmax"]},
        "rows": rows,
    }


def _verdict(name: str) -> Verdict:
    return {"holds": Verdict.HOLDS, "holds-with-conditions": Verdict.HOLDS_WITH_CONDITIONS,
            "fails": Verdict.FAILS, "open": Verdict.OPEN}[name]


def _settings_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": r["name"], "summaries": {k: v["summary"] for k, v in r["kernels"].items()}}
            for r in data["settings"]]


def recorded_sweep() -> Evidence:
    """Context: T6's rule applied to the recorded full sweep (record ``stability``), or that it is missing."""
    rec = load_record(RECORD)
    if rec is None:
        return Evidence("record", f"record {RECORD!r} is missing (python -m theorem.experiments {RECORD}): "
                        "the full sweep is not reported", None, {"record": RECORD, "missing": True},
                        key=f"record.{RECORD}")
    settings = _settings_of(recompute_summaries(rec["result"]))
    j = judge(settings)
    prov = rec["provenance"]
    return Evidence(
        "record",
        f"recorded full sweep (record {RECORD!r}, {len(settings)} settings, commit {str(prov.get('git_commit'))[:8]}, "
        f"not re-run here): the same rule gives '{j['verdict']}'" + (f" — {j['corrected']}" if j.get("corrected") else ""),
        None,
        {"record": RECORD, "verdict": j["verdict"], "because": j["because"], "provenance": prov},
        key=f"record.{RECORD}",
        measured=j["verdict"],
    )


@float64
def gather_sweep(profile: Profile) -> list[Evidence]:
    ev = []
    for setting in (FULL_SETTINGS if profile.full else QUICK_SETTINGS):
        rec = run_setting(setting)
        summ = {k: v["summary"] for k, v in rec["kernels"].items()}
        ev.append(Evidence(
            "numeric",
            f"{rec['name']} ({rec['task']}, {rec['note']}; {len(rec['seeds'])} seeds × {len(rec['lrs'])} learning rates, "
            f"{rec['train']['steps']} steps): "
            + "; ".join(
                f"{k} diverged {s['divergence_rate']:.2f}, trainable width {s['trainable_width_decades']:.1f} dec, "
                f"best acc {s['best_accuracy_mean']:.2f} ± {s['best_accuracy_std']:.2f}, grad median {s['grad_median']:.3g} "
                f"(p99 {s['grad_p99_median']:.3g}, spikes {s['spike_fraction_mean']:.3f})"
                for k, s in summ.items()),
            None,
            {"kind": "sweep", "name": rec["name"], "summaries": summ, "lrs": rec["lrs"], "seeds": rec["seeds"],
             "seconds": rec["seconds"]},
            key=f"sweep.{rec['name']}",
            measured={k: {"divergence_rate": s["divergence_rate"], "trainable_width_decades": s["trainable_width_decades"]}
                      for k, s in summ.items()},
        ))
    if not profile.full:
        ev.append(recorded_sweep())
    return ev


def rule_sweep(evidence: list[Evidence]) -> Outcome:
    settings = [{"name": e.data["name"], "summaries": e.data["summaries"]} for e in find_all(evidence, "sweep")]
    j = judge(settings)
    because = j["because"]
    recorded = find_optional(evidence, f"record.{RECORD}")
    if recorded is not None and not recorded.data.get("missing"):  # context only: the verdict comes from the runs now
        because += f" [the recorded full sweep (record {RECORD!r}) gives '{recorded.data['verdict']}' by the same rule]"
    return Outcome(_verdict(j["verdict"]), because, corrected=j.get("corrected"), counterexample=j.get("counterexample"))


READINGS = (
    Reading(
        "T6.stab.grad",
        "CSQ removes the quadratic kernel's gradient singularity: as the scores shrink, poly2's query–key gradient "
        "grows like 1/‖W_Q‖ while CSQ's stays bounded (its centered normalizer is at least n c²).",
        gather_gradient,
        rule_gradient,
    ),
    Reading(
        "T6.stab.sweep",
        "Trained with its soft penalty, CSQ diverges less often or trains over a wider learning-rate range than poly2 "
        "(no centering, no shift), and is not less stable than softmax, on every setting measured (≥ 5 seeds × a "
        "learning-rate sweep in the full profile).",
        gather_sweep,
        rule_sweep,
    ),
)
