"""``function_dimension``: T8's exact-algebra probe — function-space dimensions of degree-p attention and of
L-layer quadratic-attention stacks, as L grows.

For each family and size: the float64 Jacobian rank (tolerance, gap) at a dyadic point at two sample counts
(the first gives at least 1.3× as many outputs as parameters, the second 1.5× more samples: equal ranks show
the count is not limited by the data), and, where ``exact`` is set, the exact rank over Q at a dyadic point
with outputs at least 1.25× the float rank (:func:`theorem.training.exact_dimension.exact_dimension`), beside
the closed form (:mod:`theorem.symbolic.function_dimension`; ``None`` where none is derived) and the
parameter count.  The ledger reads the record (:mod:`theorem.claims.t8_algebra`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from theorem.symbolic.function_dimension import POLY_PARAMETERS, STACK_PARAMETERS, dimension_formula, evaluate
from theorem.training.exact_dimension import exact_dimension, flint_available

NAME = "function_dimension"
DESCRIPTION = "T8 exact-algebra probe: Jacobian rank (float64 and exact over Q) of degree-p attention and L-layer stacks"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run", "measure_family"]

#: polys: [d, p, exact]; stacks: [d, width, depth, exact]
QUICK: dict[str, Any] = {"n": 4, "bits": 3, "seed": 0,
                         "polys": [[2, 2, True], [2, 4, True]],
                         "stacks": [[2, 4, 1, True], [2, 4, 2, False]]}
FULL: dict[str, Any] = {"n": 4, "bits": 3, "seed": 0,
                        "polys": [[d, p, True] for d in (2, 3) for p in (2, 4, 8)],
                        "stacks": ([[2, 2, L, True] for L in (1, 2, 3, 4)]
                                   + [[2, 4, L, L <= 3] for L in (1, 2, 3, 4)]
                                   + [[2, 5, L, L <= 2] for L in (1, 2, 3, 4)]
                                   + [[3, 3, L, L <= 2] for L in (1, 2, 3, 4)]
                                   + [[3, 6, L, L <= 2] for L in (1, 2, 3, 4)])}


def measure_family(family: str, d: int, n: int, *, p: int = 2, width: int = 0, depth: int = 1, exact: bool,
                   bits: int = 3, seed: int = 0) -> dict[str, Any]:
    """One row of the record: float ranks at two sample counts, the exact rank, the closed form, the bounds."""
    if family == "poly":
        params = evaluate(POLY_PARAMETERS, d=d)
        form = dimension_formula("poly")
    else:
        params = evaluate(STACK_PARAMETERS, d=d, w=width, L=depth)
        form = dimension_formula("stack", depth=depth, width=width, dim=d)
    m1 = math.ceil(1.3 * params / (n * d)) + 1
    kw = {"p": p, "width": width, "depth": depth, "bits": bits}
    runs = [exact_dimension(family, d, n, m, seed=seed + k, exact=False, **kw)
            for k, m in enumerate((m1, math.ceil(1.5 * m1)))]
    row: dict[str, Any] = {
        "family": family, "d": d, "n": n, **({"p": p} if family == "poly" else {"width": width, "depth": depth}),
        "parameters": params, "closed_form": None if form is None else evaluate(form, d=d),
        "float": [{k: r[k] for k in ("samples", "outputs", "float_rank", "tolerance", "gap", "float_status")}
                  for r in runs],
    }
    row["float_rank"] = runs[-1]["float_rank"]
    row["ok"] = all(r["float_status"] == "ok" for r in runs)
    row["saturated"] = len({r["float_rank"] for r in runs}) == 1
    row["exact"] = None
    if exact and flint_available():
        m_e = math.ceil(1.25 * row["float_rank"] / (n * d)) + 1
        r = exact_dimension(family, d, n, m_e, seed=seed + 10, exact=True, **kw)
        row["exact"] = {k: r[k] for k in ("samples", "outputs", "exact_rank", "float_rank", "tolerance", "gap",
                                          "jacobian_difference", "exact_seconds")}
    row["exact_requested"] = bool(exact)
    return row


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    n, bits, seed = settings["n"], settings["bits"], settings["seed"]
    rows = []
    for d, p, ex in settings["polys"]:
        rows.append(measure_family("poly", d, n, p=p, exact=ex, bits=bits, seed=seed))
        log(f"degree-{p} attention, d = {d}: float rank {rows[-1]['float_rank']}, exact "
            f"{None if rows[-1]['exact'] is None else rows[-1]['exact']['exact_rank']}")
    for d, w, L, ex in settings["stacks"]:
        rows.append(measure_family("stack", d, n, width=w, depth=L, exact=ex, bits=bits, seed=seed))
        log(f"{L}-layer stack, d = {d}, w = {w}: float rank {rows[-1]['float_rank']}, exact "
            f"{None if rows[-1]['exact'] is None else rows[-1]['exact']['exact_rank']}")
    return {"n": n, "bits": bits, "seed": seed, "flint": flint_available(), "rows": rows}
