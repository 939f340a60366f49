"""R3: "the d² figure comes from the parametrization (M is d×d), not from the kernel".

Readings:

* **R3.a** the scores map θ = M ↦ X M Xᵀ, before any kernel, already has the dimension
  ``rank(X)²`` (≤ d²): the d² is the parametrization's;
* **R3.b** the weights-map dimension is the same for softmax, poly2 and CSQ;
* **R3.c** linear attention (elu+1), parametrized by its W_Q, W_K ∈ R^{d×d}, has the same d².

Beside the float64 counts of R3.a and R3.b, each panel input and R3.b's counterexample carries its exact
certificate over Q (``certificate.panel.<input>``, ``certificate.counterexample``;
:mod:`theorem.claims._certificates`), at the input rebuilt with its structure exact.  R3.c's elu+1 is not
rational: its counts carry a proved lower bound ``rank ≥ measured`` in ball arithmetic
(``certificate.panel.linear``, ``certificate.counterexample``), which proves the counterexample (rank > d²).
"""

from __future__ import annotations

from theorem.claims._certificates import certificate_item
from theorem.claims._pullback import PANEL, agreement, in_regime, measure_row
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find, find_optional
from theorem.numeric.exact_tokens import EXACT_FAMILIES, exact_tokens
from theorem.numeric.head import Head
from theorem.numeric.linear_certificate import linear_rank_at_least
from theorem.strategies import token_specs
from theorem.util.search import search
from theorem.util.tokens import TokenSpec

KERNELS = (("softmax", {}), ("poly2", {}), ("csq", {}))


def _exact_input(spec: TokenSpec):
    """The tokens of ``spec`` with their structure exact (rational), or its float64 matrix (dyadic, exact as it
    stands) for a family :mod:`theorem.numeric.exact_tokens` does not rebuild."""
    return exact_tokens(spec) if spec.kind in EXACT_FAMILIES else spec.build()


# exact LayerNorm'd rows carry rational square roots within 1e-12: their weights certificates take about 2 s a
# kernel on two cores, so the quick profile certifies them for the scores map only
COSTLY = ("layernorm", "layernorm_affine")


def _panel_certificates(map: str, kernels, profile: Profile) -> list[Evidence]:
    out = []
    for name, spec in PANEL:
        if map != "scores" and spec.kind in COSTLY and not profile.full:
            out.append(Evidence("symbolic", f"{name}: the exact certificate of the {map} map runs in the full profile "
                                "(exact LayerNorm rationals: about 2 s a kernel)", None,
                                {"input": name, "skipped": True}, key=f"certificate.panel.{name}"))
            continue
        out.append(certificate_item(f"certificate.panel.{name}", name, _exact_input(spec), kernels, map))
    return out


def gather_a(profile: Profile) -> list[Evidence]:
    rows = [dict(measure_row(spec, "softmax", {}, "scores"), input=name) for name, spec in PANEL]
    ok, comp, bad = agreement(rows)
    r2 = all(r["predicted"] == r["invariants"]["r"] ** 2 for r in rows if r["predicted"] is not None)
    return [
        Evidence("symbolic", "vec(X M Xᵀ) = (X ⊗ X) vec M and rank(X ⊗ X) = rank(X)² (SymPy, theorem.symbolic)", None,
                 key="symbolic.kronecker"),
        Evidence("numeric", f"scores map on the panel: measured = r² on {ok}/{comp} inputs ("
                 + ", ".join(f"{r['input']}: {r['measured']}" for r in rows) + ")",
                 ok == comp and comp == len(rows) and r2, {"rows": rows, "mismatches": bad}, key="panel.scores",
                 measured=[r["measured"] for r in rows], predicted=[r["invariants"]["r"] ** 2 for r in rows]),
        *_panel_certificates("scores", (("softmax", {}),), profile),
    ]


def rule_a(ev: list[Evidence]) -> Outcome:
    num = find(ev, "panel.scores")
    if num.supports:
        return Outcome(Verdict.HOLDS, "the kernel-free scores map already has dim rank(X)² ≤ d²: " + num.summary[:160])
    return Outcome(Verdict.FAILS, "scores-map dimension differs from rank(X)²: " + num.summary[:200], None,
                   (num.data.get("mismatches") or [None])[0])


def _kernel_dims(spec) -> dict:
    rows = {k: measure_row(spec, k, p, "weights") for k, p in KERNELS}
    return rows


def gather_b(profile: Profile) -> list[Evidence]:
    table = []
    for name, spec in PANEL:
        rows = _kernel_dims(spec)
        table.append({"input": name, **{k: (r["measured"], r["predicted"]) for k, r in rows.items()}})
    ev = [Evidence("numeric", "panel, (measured, closed form) per kernel: " + "; ".join(
        f"{t['input']}: softmax {t['softmax'][0]}, poly2 {t['poly2'][0]}, csq {t['csq'][0]}" for t in table),
        None, {"table": table}, key="panel.weights")]
    ev += _panel_certificates("weights", KERNELS, profile)

    def check(spec):
        if not in_regime(spec):  # the claim's regime: d ≥ 2, n > d, rank X = d
            return None, 0.0, {}
        rows = _kernel_dims(spec)
        if any(r["rank_status"] != "ok" for r in rows.values()):
            return None, 0.0, rows
        dims = {k: r["measured"] for k, r in rows.items()}
        spread = max(dims.values()) - min(dims.values())
        return spread > 0, spread, {"tokens": spec.to_dict(), "dims": dims,
                                    "predicted": {k: r["predicted"] for k, r in rows.items()},
                                    "formulas": {k: r["formula"] for k, r in rows.items()}}

    res = search(token_specs(), check, max_examples=profile.pick(30, 300))
    if res.found:
        ev.append(Evidence("fuzz", f"minimal input in the regime d ≥ 2, n > d, rank X = d where the kernels differ: "
                           f"{res.detail['tokens']}: {res.detail['dims']} (closed forms {res.detail['predicted']})",
                           False, {"counterexample": res.detail}, key="counterexample",
                           measured=res.detail["dims"], predicted=res.detail["predicted"]))
        spec = TokenSpec(**res.detail["tokens"])
        ev.append(certificate_item("certificate.counterexample", f"counterexample {spec.kind} n={spec.n} d={spec.d}",
                                   _exact_input(spec), KERNELS, "weights"))
    else:
        ev.append(Evidence("fuzz", f"no input among {res.examples_run - res.skipped} in the regime where the kernels' "
                           "dimensions differ", True, {"examples": res.examples_run}, key="counterexample"))
    return ev


def rule_b(ev: list[Evidence]) -> Outcome:
    counter = find(ev, "counterexample")
    if counter.supports is False:  # the kernels' dimensions differ on a regular input: the claim fails
        cert = find_optional(ev, "certificate.counterexample")
        if cert is not None and (not cert.data["agrees"] or len(set(cert.data["certified"].values())) < 2):
            return Outcome(Verdict.OPEN, f"the float64 dimensions differ, but the exact certificate does not confirm "
                                         f"it: {cert.summary}")
        return Outcome(
            Verdict.FAILS, counter.summary + ("" if cert is None else f"; certified over Q: {cert.data['certified']}"),
            "The leading r² (d² for rank X = d) is the parametrization's, shared by every score kernel; the kernel "
            "only removes the null directions of its row normalization: softmax and CSQ lose r when 1 ∈ col X "
            "(r(r − e)), poly2 loses m(X) ≥ 1, the number of matroid components of the rows of X (r² − m). So the "
            "dimensions agree only up to a kernel-specific correction of at most r, and poly2 never equals softmax "
            "on generic tokens (d² − 1 against d²).",
            counter.data["counterexample"],
        )
    return Outcome(Verdict.HOLDS, "softmax, poly2 and CSQ measured the same dimension on every input")


def gather_c(profile: Profile) -> list[Evidence]:
    rows = []
    for n, d in ((16, 2), (16, 3)):
        spec = PANEL[0][1].__class__(n, d, "gaussian", 11)
        r = measure_row(spec, "linear", {}, "weights", dk=d)
        rows.append(r)
    ev = [Evidence("numeric", "linear (elu+1), θ = (W_Q, W_K) with d_k = d: " + ", ".join(
        f"n={r['tokens']['n']}, d={r['tokens']['d']}: measured {r['measured']} vs d² = {r['d_squared']} "
        f"(ambient 2·d·d_k = {r['ambient']})" for r in rows), None, {"rows": rows}, key="panel.linear",
        measured=[r["measured"] for r in rows], predicted=[r["d_squared"] for r in rows])]
    ev.append(_linear_certificate("certificate.panel.linear", [(TokenSpec(**r["tokens"]), r) for r in rows]))

    def check(spec):
        if spec.n <= spec.d:
            return None, 0.0, {}
        r = measure_row(spec, "linear", {}, "weights", dk=spec.d)
        if r["rank_status"] != "ok":
            return None, 0.0, r
        return r["measured"] > r["d_squared"], r["measured"] - r["d_squared"], r

    res = search(token_specs(kinds=("gaussian",), max_n=10, max_d=3), check, max_examples=profile.pick(25, 200))
    if res.found:
        r = res.detail
        ev.append(Evidence("fuzz", f"minimal counterexample: Gaussian tokens {r['tokens']}, linear attention "
                           f"with d_k = d: measured {r['measured']} > d² = {r['d_squared']}", False,
                           {"counterexample": r}, key="counterexample", measured=r["measured"],
                           predicted=r["d_squared"]))
        ev.append(_linear_certificate("certificate.counterexample", [(TokenSpec(**r["tokens"]), r)]))
    else:
        ev.append(Evidence("fuzz", f"linear attention stayed at or below d² on all {res.examples_run - res.skipped} "
                           "inputs with n > d", True, {"examples": res.examples_run}, key="counterexample"))
    return ev


def _linear_certificate(key: str, cases) -> Evidence:
    """A proved lower bound ``rank ≥ measured`` (ball arithmetic, :mod:`theorem.numeric.linear_certificate`) at
    each (tokens, measured row) of linear attention, at the float64 (dyadic) input the measurement ran on."""
    rows = []
    for spec, r in cases:
        x = spec.build()
        head = Head.draw(x, spec.d, seed=0)  # the head measure_row draws (seed 0)
        ok = r["measured"] is not None and linear_rank_at_least(x, head.w_q, head.w_k, r["measured"])
        rows.append({"tokens": spec.to_dict(), "measured": r["measured"], "d_squared": r["d_squared"],
                     "lower_bound_proved": bool(ok)})
    proved = all(row["lower_bound_proved"] for row in rows)
    summary = "ball-arithmetic certificate (FLINT arb, a nonzero minor): rank ≥ " + ", ".join(
        f"{row['measured']} ({'proved' if row['lower_bound_proved'] else 'not proved'}; d² = {row['d_squared']}) "
        f"at n={row['tokens']['n']}, d={row['tokens']['d']}" for row in rows)
    return Evidence("symbolic", summary, None, {"rows": rows, "proved": proved}, key=key,
                    measured=[row["measured"] for row in rows], predicted=[row["measured"] if row["lower_bound_proved"]
                                                                             else None for row in rows])


def rule_c(ev: list[Evidence]) -> Outcome:
    counter = find(ev, "counterexample")
    if counter.supports is False:
        c = counter.data["counterexample"]
        cert = find_optional(ev, "certificate.counterexample")
        if cert is not None and not cert.data["proved"]:
            return Outcome(Verdict.OPEN, f"the float64 rank exceeds d², but its lower bound is not proved: {cert.summary}")
        return Outcome(
            Verdict.FAILS, counter.summary + ("" if cert is None else "; rank ≥ measured proved in ball arithmetic"),
            "Linear attention φ(XW_Q)φ(XW_K)ᵀ is not a function of M = W_Q W_Kᵀ: the elementwise φ breaks the "
            "GL(d_k) symmetry, so W_Q and W_K count separately and the pulled-back dimension reaches 2·d·d_k "
            "(measured), above d² for d_k = d. The d² figure belongs to bilinear-score kernels only.",
            {"tokens": c["tokens"], "dk": c["dk"], "measured": c["measured"], "d_squared": c["d_squared"],
             "ambient": c["ambient"]},
        )
    return Outcome(Verdict.HOLDS, "linear attention measured at most d² on every input tried")


READINGS = (
    Reading("R3.a", "Before any kernel, the scores map θ = M ↦ X M Xᵀ already has the dimension rank(X)² ≤ d²: "
            "the d² comes from M being d×d.", gather_a, rule_a),
    Reading("R3.b", "The pulled-back dimension of the weights map is the same for softmax, poly2 and CSQ.",
            gather_b, rule_b),
    Reading("R3.c", "Linear attention (elu+1, with its W_Q, W_K ∈ R^{d×d}) has the same d²-dimensional "
            "pulled-back space.", gather_c, rule_c),
)
