"""Which module checks which claim.

Every claim ID of ``claims.md`` is listed.  A claim's readings come from the modules named
for it (a module defines ``READINGS``, a tuple of :class:`Reading`); a claim whose modules
do not exist yet is reported as *not checked yet* and gets no verdict.
"""

from __future__ import annotations

import importlib
from theorem.claims.ledger import Claim

CLAIM_TITLES: dict[str, str] = {
    "T1": "pullback dimension: the pulled-back gradient space is strictly d²-dimensional",
    "T2": "the n² illusion: O(n²) is an artefact of softmax normalization",
    "T3": "rank inflation: softmax inflates the rank-≤d scores to rank n, forcing O(n²)",
    "T4": "matching: softmax creates Euclidean matching; linear attention destroys it",
    "T5": "same landscape: a degree-2 kernel explores exactly the same landscape",
    "T6": "CSQ keeps Euclidean matching and stabilizes training",
    "T7": "CSQ costs O(n d³) in training and inference",
    "T8": "hypothesis 6.2: stacked quadratic attention simulates degree-p with O(log p) depth",
    "R1": "crossover: attention is O(n²d); O(nd³) wins only when n ≫ d²",
    "R2": "conflation: the paper conflates landscape dimension with computational cost",
    "R3": "parametrization: the d² comes from M being d×d, for every kernel",
    "R4": "low-rank bottleneck: small d cannot resolve fine-grained long-range patterns",
    "B1": "press reading: O(d²) means cost independent of sequence length",
}
CLAIM_IDS: tuple[str, ...] = tuple(CLAIM_TITLES)

# claim ID → modules under theorem.claims whose READINGS make up the claim
CLAIM_MODULES: dict[str, tuple[str, ...]] = {
    "T1": ("t1_pullback", "t1_regimes", "t1_explores"),
    "T2": ("t2_illusion",),
    "T3": ("t3_rank_inflation",),
    "T4": ("t4_matching",),
    "T5": ("t5_landscape", "t5_explores"),
    "T6": ("t6_matching", "t6_stability"),
    "T7": ("t7_csq_cost",),
    "T8": ("t8_depth",),
    "R1": ("r1_crossover",),
    "R2": ("r2_conflation",),
    "R3": ("r3_parametrization",),
    "R4": ("r4_bottleneck",),
    "B1": ("b1_press",),
}


class UnknownClaimError(ValueError):
    pass


def load_claim(claim_id: str) -> tuple[Claim, list[str]]:
    """The claim with the readings that exist, and the modules that do not exist yet."""
    key = claim_id.upper()
    if key not in CLAIM_TITLES:
        raise UnknownClaimError(f"unknown claim {claim_id!r}; choose from {', '.join(CLAIM_IDS)}")
    readings = []
    missing = []
    for name in CLAIM_MODULES[key]:
        try:
            module = importlib.import_module(f"theorem.claims.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"theorem.claims.{name}":
                raise
            missing.append(name)
            continue
        readings.extend(module.READINGS)
    return Claim(key, CLAIM_TITLES[key], tuple(readings)), missing
