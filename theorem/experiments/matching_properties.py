"""``matching_properties``: the counterexample searches of every kernel × matching property (T4.a/b, T6.a/b).

For each kernel and reading (a: dot-product monotonicity, b: Euclidean matching) the search the
ledger runs (:func:`theorem.numeric.matching.search_with_conditions`): without conditions and, if that
finds a violation, under the conditions the derivations name.  The record holds the searches only;
the verdicts are the ledger's rule applied to them
(:func:`theorem.claims.t4_matching.property_outcome`, as notebook 03 does).
"""

from __future__ import annotations

from typing import Any, Callable

from theorem.numeric.matching import search_with_conditions

NAME = "matching_properties"
DESCRIPTION = "Hypothesis searches for violations of (a), (b), per kernel, with and without conditions"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "GROUPS", "run"]

#: (claim, kernels): the kernel × property readings of T4 and T6
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("T4", ("softmax", "rbf", "linear", "poly2")),
    ("T6", ("csq", "csq-uncentered", "csq-noshift")),
)
QUICK: dict[str, Any] = {"max_examples": 200}
FULL: dict[str, Any] = {"max_examples": 1500}


def run(settings: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    rows = []
    for claim, kernels in GROUPS:
        for kernel in kernels:
            for reading in ("a", "b"):
                free, cond = search_with_conditions(kernel, reading, max_examples=settings["max_examples"])
                log(f"{claim}.{reading}:{kernel}: violation {'found' if free.found else 'not found'}"
                    + ("" if cond is None else f"; under {', '.join(cond.conditions)}: "
                       f"{'found' if cond.found else 'not found'} ({cond.met} cases met)"))
                rows.append({"id": f"{claim}.{reading}:{kernel}", "kernel": kernel, "reading": reading,
                             "unconditional": free.to_dict(), "conditional": None if cond is None else cond.to_dict()})
    return {"rows": rows}
