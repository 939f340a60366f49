"""T1 in the regimes a practitioner meets: which tokens reach d², and why LayerNorm'd ones never do.

* **T1.d** (the generic reading) with θ = M, the softmax weights map has dimension exactly d² if and
  only if rank X = d and 1 ∉ col X.  Evidence: the closed form r(r − e) (docs/pullback.md), a Hypothesis
  search for an input where "measured = d²" and "rank X = d and 1 ∉ col X" disagree (both sides computed
  independently: the measurement by the Jacobian's spectrum, the condition by least squares on X), and a
  table of token families — which reach d² and which do not.

Also here, for T1.a: :func:`layernorm_affine_evidence`, the proof that LayerNorm with its affine part puts
1 in col X for every sequence (:mod:`theorem.symbolic.layernorm`), with the measurement beside it at
several parameter points and several sequences.
"""

from __future__ import annotations

import numpy as np

from theorem.claims._pullback import PANEL, measure_row
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find
from theorem.kernels import get_kernel
from theorem.numeric.certificate import exact_rank
from theorem.numeric.exact_tokens import exact_tokens
from theorem.numeric.head import Head
from theorem.strategies import token_specs
from theorem.symbolic.layernorm import layernorm_affine_ones_in_column_space
from theorem.util.search import search
from theorem.util.tokens import TokenSpec

__all__ = ["FAMILY_TABLE", "certificate_evidence", "layernorm_affine_evidence", "ones_in_col", "READINGS"]

#: (family, what it models) for the table of who reaches d²; n = 12 > d = 4
FAMILY_TABLE: tuple[tuple[str, str], ...] = (
    ("gaussian", "generic tokens"),
    ("sphere", "RMSNorm'd tokens (rows scaled to one norm; no centring)"),
    ("repeated", "repeated tokens"),
    ("low_rank", "rank-deficient tokens"),
    ("offset", "low rank plus a shared offset (1 ∈ col X)"),
    ("constant_column", "a constant feature (1 ∈ col X)"),
    ("layernorm", "LayerNorm, no affine part (rank ≤ d − 1)"),
    ("layernorm_affine", "LayerNorm with γ, β (BERT, GPT-2: 1 ∈ col X)"),
)


def ones_in_col(x: np.ndarray, tol: float = 1e-9) -> bool:
    """``1 ∈ col X``, by least squares: the residual of the best ``X u ≈ 1`` relative to ‖1‖."""
    ones = np.ones(x.shape[0])
    u, *_ = np.linalg.lstsq(x, ones, rcond=None)
    return bool(np.linalg.norm(x @ u - ones) <= tol * np.linalg.norm(ones))


def _full_rank(x: np.ndarray) -> bool:
    return int(np.linalg.matrix_rank(x)) == x.shape[1]


def layernorm_affine_evidence(profile: Profile, n: int = 12, d: int = 4) -> Evidence:
    """The proof (symbolic) and the measurement at several M and several sequences: d(d − 1) every time."""
    proof = layernorm_affine_ones_in_column_space()
    rows = []
    for seq in range(profile.pick(3, 8)):
        spec = TokenSpec(n, d, "layernorm_affine", 100 + seq)
        for m_seed in range(profile.pick(2, 4)):
            r = measure_row(spec, "softmax", seed=m_seed)
            rows.append({"sequence": seq, "m_seed": m_seed, "measured": r["measured"], "status": r["rank_status"],
                         "ones_in_col_X": ones_in_col(spec.build())})
    measured = sorted({r["measured"] for r in rows})
    ok = proof.holds and all(r["status"] == "ok" and r["ones_in_col_X"] for r in rows)
    summary = (f"proof: LayerNorm's affine part gives X·diag(γ)⁻¹·1 = (Σβ/γ)·1, so 1 ∈ col X for every sequence "
               f"(SymPy: {proof.detail}); the softmax closed form r(r − 1) does not depend on M. Measured on "
               f"{len({r['sequence'] for r in rows})} LayerNorm+affine sequences × {len({r['m_seed'] for r in rows})} "
               f"parameter points (n = {n}, d = {d}): dims {measured} beside d(d − 1) = {d * (d - 1)} < d² = {d * d}")
    return Evidence("symbolic", summary, False if ok and measured == [d * (d - 1)] else None,
                    {"rows": rows, "derivation": proof.detail, "n": n, "d": d,
                     "counterexample": {"tokens": TokenSpec(n, d, "layernorm_affine", 100).to_dict(),
                                        "kernel": "softmax", "measured": rows[0]["measured"],
                                        "predicted": d * (d - 1), "d_squared": d * d}},
                    key="proof.layernorm_affine", measured=measured, predicted=[d * (d - 1)])


def certificate_evidence(profile: Profile, kernels: tuple[str, ...] | None = None) -> Evidence:
    """Each panel input rebuilt with its structure exact (rational), its rank certified over Q, and the
    float64 measurement and the closed form beside the certificate."""
    kernels = kernels or profile.pick(("softmax",), ("softmax", "poly2", "csq"))
    rows = []
    for name, spec in PANEL:
        xq = exact_tokens(spec)
        x = xq.astype(np.float64)
        m = Head.draw(x, seed=0).w_q  # the M that measure_row draws (seed 0)
        for kernel in kernels:
            row = measure_row(x, kernel)
            exact = exact_rank(xq, get_kernel(kernel), "weights", m=m)
            rows.append({"input": name, "kernel": kernel, "certified": exact, "measured": row["measured"],
                         "status": row["rank_status"], "predicted": row["predicted"], "d_squared": row["d_squared"]})
    done = [r for r in rows if r["certified"] is not None]
    agree = [r for r in done if r["status"] == "ok" and r["measured"] == r["certified"]]
    closed = [r for r in done if r["predicted"] == r["certified"]]
    summary = (f"exact certificates over Q (rational tokens, structure exact; FLINT): {len(done)} ranks certified; "
               f"float64 measurement = certificate on {len(agree)}/{len(done)}, closed form = certificate on "
               f"{len(closed)}/{len(done)} (" + ", ".join(f"{r['input']} {r['kernel']}: {r['certified']}" for r in done) + ")")
    return Evidence("symbolic", summary, None, {"rows": rows}, key="certificate.panel",
                    measured=[r["measured"] for r in done], predicted=[r["certified"] for r in done])


# --- T1.d -------------------------------------------------------------------------------------
def family_table(n: int = 12, d: int = 4) -> Evidence:
    rows = []
    for family, what in FAMILY_TABLE:
        spec = TokenSpec(n, d, family, 3)
        x = spec.build()
        r = measure_row(spec, "softmax")
        rows.append({"family": family, "models": what, "measured": r["measured"], "predicted": r["predicted"],
                     "status": r["rank_status"], "rank_X": int(np.linalg.matrix_rank(x)), "ones_in_col_X": ones_in_col(x),
                     "reaches_d2": r["measured"] == d * d})
    reach = [r["family"] for r in rows if r["reaches_d2"]]
    miss = [f"{r['family']} ({r['measured']})" for r in rows if not r["reaches_d2"]]
    return Evidence("numeric", f"token families at n = {n}, d = {d} (d² = {d * d}): reach d²: {', '.join(reach)}; "
                    f"stay below: {', '.join(miss)}", None, {"rows": rows}, key="families",
                    measured=[r["measured"] for r in rows], predicted=[r["predicted"] for r in rows])


def gather_generic(profile: Profile) -> list[Evidence]:
    def check(spec):
        x = spec.build()
        row = measure_row(spec, "softmax")
        if row["rank_status"] != "ok":
            return None, 0.0, row
        condition = _full_rank(x) and not ones_in_col(x)
        at_d2 = row["measured"] == spec.d * spec.d
        detail = dict(row, condition=condition, rank_X=int(np.linalg.matrix_rank(x)), ones_in_col_X=ones_in_col(x))
        return at_d2 != condition, float(at_d2 != condition), detail

    res = search(token_specs(), check, max_examples=profile.pick(60, 500))
    compared = res.examples_run - res.skipped
    if res.found:
        r = res.detail
        fuzz = Evidence("fuzz", f"the equivalence fails at tokens {r['tokens']}: measured {r['measured']}, d² = "
                        f"{r['d_squared']}, rank X = {r['rank_X']}, 1 ∈ col X: {r['ones_in_col_X']}", False,
                        {"counterexample": r}, key="fuzz.equivalence", measured=r["measured"], predicted=r["d_squared"])
    else:
        fuzz = Evidence("fuzz", f"Hypothesis: on all {compared} well-defined inputs (every token kind, n ≶ d), "
                        "measured = d² exactly when rank X = d and 1 ∉ col X", True, {"examples": res.examples_run,
                        "skipped": res.skipped}, key="fuzz.equivalence", measured=compared, predicted=compared)
    proof = Evidence("symbolic", "closed form dim = r(r − e), r = rank X ≤ d, e = [1 ∈ col X] (docs/pullback.md): it "
                     "equals d² iff r = d and e = 0", None, key="symbolic.closed_form")
    return [proof, fuzz, family_table()]


def rule_generic(ev: list[Evidence]) -> Outcome:
    fuzz = find(ev, "fuzz.equivalence")
    if fuzz.supports is False:
        return Outcome(Verdict.FAILS, fuzz.summary, None, fuzz.data["counterexample"])
    return Outcome(Verdict.HOLDS, fuzz.summary + "; " + find(ev, "families").summary)


READINGS = (
    Reading("T1.d", "With θ = M, the softmax weights map's pulled-back space has dimension exactly d² if and only if "
            "rank X = d and 1 ∉ col X (the generic reading of T1).", gather_generic, rule_generic),
)
