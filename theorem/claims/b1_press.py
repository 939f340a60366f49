"""B1 – the press reading: "O(d²)" means the cost of attention becomes independent of sequence length.

Readings:

* **B1.a** — the cost of the paper's O(n d³) algorithm does not grow with the sequence length n.
  Decided by the operations the traced program performs (read off its jaxpr, exact, no clock) at
  n, 2n, 4n, … beside the closed form (linear in n): the minimal counterexample is the smallest
  doubling of n whose operation count grows by more than :data:`GROWTH`.  The time per call
  (float32, d_k = d_v = 8, measured now) is shown beside it as context.
* **B1.b** — the charitable reading: the cost *per token* is independent of n (a streaming
  decoder's state does not grow).  Decided by the traced program's marginal operations per token,
  :math:`(F(2n) - F(n))/n`, which must be the same at every n and equal the closed form's
  :math:`\\partial F/\\partial n = 4D(d_v+1)/\\ldots = O(d_k^2 d_v)`.  The reading says "of order
  d²": it holds only if the per-token count is O(d²); it is Θ(d³) (and so is the state D·(d_v+1)),
  so it fails, with the corrected statement.  The measured time per token is context.

Evidence keys — B1.a: ``symbolic.count``, ``counts.traced``, ``timing.csq-linear`` (context),
``literature.keles2022``; B1.b: ``symbolic.per_token``, ``counts.per_token``, ``timing.per_token``
(context).
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict, find
from theorem.numeric.linear_scaling import counted_vs_model, time_vs_n
from theorem.symbolic.flops import DK as DK_SYM
from theorem.symbolic.flops import DV as DV_SYM
from theorem.symbolic.flops import B, N, cost, feature_dim

#: a doubling of n that raises the cost by more than this factor refutes "independent of n"
GROWTH = 1.5
DK = 8
#: the block (and chunk) of the traced programs: every n below is a multiple of it
TILE = 64


def sizes(profile: Profile) -> tuple[int, ...]:
    return profile.pick((512, 1024, 2048, 4096, 8192), (512, 1024, 2048, 4096, 8192, 16384, 32768))


_TIMINGS: dict[str, dict] = {}


def timings(profile: Profile) -> dict:
    """The time sweep of ``csq-linear`` (shared by both readings, measured once per profile)."""
    if profile.name not in _TIMINGS:
        _TIMINGS[profile.name] = time_vs_n("csq-linear", sizes(profile), DK)
    return _TIMINGS[profile.name]


def traced_totals(ns) -> list[tuple[int, int, float]]:
    """``(n, traced operations, closed form)`` of the non-causal linear form, d_k = d_v = DK, tiles TILE."""
    rows = counted_vs_model([(n, DK, DK, False, TILE) for n in ns], algorithms=("linear",))
    return [(r["n"], r["measured_matmul"] + r["measured_elementwise"], r["predicted_matmul"] + r["predicted_elementwise"])
            for r in rows]


def first_growth(totals) -> tuple[int, int, float] | None:
    """The smallest doubling ``(n, 2n, F(2n)/F(n))`` whose count grows by more than GROWTH, or None."""
    for (n1, f1, _), (n2, f2, _) in zip(totals, totals[1:]):
        if f2 / f1 > GROWTH:
            return n1, n2, f2 / f1
    return None


def marginal_per_token(totals) -> list[Fraction]:
    """:math:`(F(n_2) - F(n_1))/(n_2 - n_1)` of consecutive sizes, exact."""
    return [Fraction(f2 - f1, n2 - n1) for (n1, f1, _), (n2, f2, _) in zip(totals, totals[1:])]


def gather_a(profile: Profile) -> list[Evidence]:
    f = cost("csq", "linear", False).flops
    slope = sp.simplify(sp.diff(f, N))
    positive = bool(slope.subs({DK_SYM: DK, DV_SYM: DK, B: TILE}) > 0)
    ev = [Evidence("symbolic", f"the linear form's count F(n) = {f}: ∂F/∂n = {slope} "
                   f"({'> 0' if positive else '≤ 0'} at d_k = d_v = {DK}) and independent of n — cost proportional to n",
                   not positive, {"dF_dn": str(slope)}, key="symbolic.count", measured=str(slope))]
    totals = traced_totals(sizes(profile))
    first = first_growth(totals)
    ev.append(Evidence(
        "numeric",
        "operations of the traced program: " + ", ".join(f"n={n}: {m:,} (closed form {p:,.0f})" for n, m, p in totals)
        + "; per doubling ×" + ", ×".join(f"{b[1] / a[1]:.2f}" for a, b in zip(totals, totals[1:])),
        first is None,
        {"rows": totals, "first_growth": first},
        key="counts.traced", measured=[m for _, m, _ in totals], predicted=[p for _, _, p in totals],
    ))
    r = timings(profile)
    rows = r["rows"]
    ratios = [(a["n"], b["n"], b["seconds"] / a["seconds"]) for a, b in zip(rows, rows[1:])]
    ev.append(Evidence(
        "benchmark",
        f"csq-linear, d_k = d_v = {DK}, float32, measured now (context): " + ", ".join(
            f"n={x['n']}: {x['seconds'] * 1e3:.3f} ms" for x in rows)
        + "; time ratios per doubling " + ", ".join(f"{g:.2f}" for _, _, g in ratios)
        + f"; fitted exponent of n {r['exponent']:.2f} (FLOP model {r['model_exponent']:.2f})",
        None,
        {**r, "time_ratios": ratios},
        key="timing.csq-linear", measured=r["exponent"], predicted=r["model_exponent"],
    ))
    ev.append(Evidence("literature", "Keles, Wijewardena & Hegde 2022: exact self-attention needs quadratic time "
                       "unless SETH fails; any algorithm must at least read the n tokens and write n outputs, Ω(n·d)",
                       None, key="literature.keles2022"))
    return ev


def rule_a(ev: list[Evidence]) -> Outcome:
    counts = find(ev, "counts.traced")
    first = counts.data["first_growth"]
    if first is None and find(ev, "symbolic.count").supports:
        return Outcome(Verdict.HOLDS, counts.summary)
    if first is None:  # the closed form grows but no measured doubling does: take the whole range
        (n1, f1, _), (n2, f2, _) = counts.data["rows"][0], counts.data["rows"][-1]
        first = (n1, n2, f2 / f1)
    n1, n2, p = first
    timing = find(ev, "timing.csq-linear")
    by_n = {x["n"]: x["seconds"] for x in timing.data["rows"]}
    time_ratio = by_n[n2] / by_n[n1] if n1 in by_n and n2 in by_n else None
    seen = "" if time_ratio is None else f"; the measured time went ×{time_ratio:.2f} (context)"
    return Outcome(
        Verdict.FAILS,
        f"the cost grows linearly with n: the traced program's operations ×{p:.2f} from n = {n1} to n = {n2} "
        f"(the closed form's F(2n)/F(n) → 2){seen}; fitted time exponent {timing.measured:.2f}",
        corrected=("'O(d²)' is the dimension of the query–key parameter space (T1), not a cost. The exact "
                   "linear-time CSQ attention costs 4·n·D·(d_v+1) + O(n·d) ≈ 2·n·d³ operations per head: linear in "
                   "n, never independent of it; only its state (D·(d_v+1) numbers per head) is independent of n."),
        counterexample={"n": [n1, n2], "flop_ratio": p, "time_ratio": time_ratio,
                        "seconds": [by_n.get(n1), by_n.get(n2)]},
    )


def gather_b(profile: Profile) -> list[Evidence]:
    f = cost("csq", "linear", False).flops
    per_token = sp.expand(sp.limit(f / N, N, sp.oo))
    d = sp.Symbol("d")
    lead = sp.expand(per_token.subs({DK_SYM: d, DV_SYM: d}))
    order = sp.limit(lead.subs(B, 256) / d**3, d, sp.oo)
    order2 = sp.limit(lead.subs(B, 256) / d**2, d, sp.oo)
    flat_in_n = not per_token.has(N)
    quadratic_in_d = bool(order2.is_finite)
    ev = [Evidence("symbolic", f"per-token operations of the linear form (n → ∞): {per_token}; with d_k = d_v = d: "
                   f"{lead} — {'independent of n' if flat_in_n else 'DEPENDS on n'}, lim (per token)/d³ = {order}, "
                   f"lim (per token)/d² = {order2}: {'O(d²)' if quadratic_in_d else 'not O(d²)'} "
                   f"(D = {feature_dim('csq')}; the decoder state is D·(d_v+1) numbers)",
                   flat_in_n and quadratic_in_d,
                   {"per_token": str(per_token), "per_token_d": str(lead), "per_token_over_d3": str(order),
                    "per_token_over_d2": str(order2), "independent_of_n": flat_in_n, "order_d2": quadratic_in_d},
                   key="symbolic.per_token", measured=str(order), predicted="finite per_token/d²")]
    totals = traced_totals(sizes(profile))
    marg = marginal_per_token(totals)
    closed = Fraction(str(sp.nsimplify(per_token.subs({DK_SYM: DK, DV_SYM: DK, B: TILE}))))
    flat = all(m == marg[0] for m in marg) and marg[0] == closed
    ev.append(Evidence(
        "numeric",
        "marginal operations per token of the traced program, (F(2n) − F(n))/n: " + ", ".join(
            f"n={n}→{2 * n}: {float(m):.2f}" for (n, _, _), m in zip(totals, marg))
        + f" (closed form ∂F/∂n at d_k = d_v = {DK}, B = {TILE}: {float(closed):.2f}) — "
        + ("the same at every n" if flat else "NOT constant"),
        flat,
        {"rows": totals},
        key="counts.per_token", measured=[float(m) for m in marg], predicted=float(closed),
    ))
    r = timings(profile)
    ev.append(Evidence("benchmark", "measured time per token (context): " + ", ".join(
        f"n={x['n']}: {x['seconds'] / x['n'] * 1e9:.1f} ns" for x in r["rows"])
        + f" (per-token ∝ n^{r['exponent'] - 1:+.2f}; FLOP model n^{r['model_exponent'] - 1:+.2f})",
        None, {"per_token_seconds": [x["seconds"] / x["n"] for x in r["rows"]]},
        key="timing.per_token", measured=r["exponent"] - 1.0, predicted=r["model_exponent"] - 1.0))
    return ev


def rule_b(ev: list[Evidence]) -> Outcome:
    """Per-token cost independent of n (the traced marginal count flat and equal to ∂F/∂n) and of order d²:
    holds; per-token cost (or state) growing with n, or of order above d²: fails (with what it is instead)."""
    sym, counts = find(ev, "symbolic.per_token"), find(ev, "counts.per_token")
    if not counts.supports or not sym.data["independent_of_n"]:
        failed = [e for e in (counts, sym) if e is counts and not e.supports
                  or e is sym and not e.data["independent_of_n"]]
        return Outcome(Verdict.FAILS, "the per-token cost depends on n: " + "; ".join(e.summary for e in failed),
                       counterexample={"key": failed[0].key, "measured": failed[0].measured,
                                       "predicted": failed[0].predicted})
    if sym.data["order_d2"]:
        return Outcome(Verdict.HOLDS, sym.summary + "; " + counts.summary)
    return Outcome(
        Verdict.FAILS,
        f"independent of n, but not of order d²: per token {sym.data['per_token_d']} with d_k = d_v = d, "
        f"lim/d³ = {sym.data['per_token_over_d3']}; " + counts.summary,
        corrected=f"per token (and per head) the linear form costs {sym.data['per_token']} operations "
                  f"(≈ {sym.data['per_token_over_d3']}·d³ with d_k = d_v = d) and keeps D·(d_v+1) numbers of state "
                  "(D = (d_k+1)(d_k+2)/2, ≈ d³/2), both independent of n — Θ(d³), not O(d²), and the total still "
                  "grows linearly with n",
        counterexample={"per_token_over_d3": sym.data["per_token_over_d3"],
                        "per_token_over_d2": sym.data["per_token_over_d2"],
                        "marginal_per_token": counts.measured[0], "d_k": DK},
    )


READINGS = (
    Reading("B1.a", "the cost of attention does not grow with the sequence length n", gather_a, rule_a),
    Reading("B1.b", "the cost per token (and the decoder state) is independent of n, and of order d²", gather_b, rule_b),
)
