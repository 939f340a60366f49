"""The ledger: one record per claim ID of ``claims.md``, each with precise readings.

A reading gathers evidence at run time (SymPy derivations, JAX measurements, Hypothesis
searches) and a rule turns that evidence into exactly one verdict.  Nothing here types a
verdict in: see :mod:`theorem.claims.ledger` for the types and
:mod:`theorem.claims.registry` for which module checks which claim.
"""

from theorem.claims.ledger import Claim, Evidence, Outcome, Profile, Reading, ReadingResult, Role, Verdict, find
from theorem.claims.registry import CLAIM_IDS, CLAIM_TITLES, load_claim
from theorem.claims.runner import run_claims

__all__ = [
    "Claim",
    "Evidence",
    "Outcome",
    "Profile",
    "Reading",
    "Role",
    "find",
    "ReadingResult",
    "Verdict",
    "CLAIM_IDS",
    "CLAIM_TITLES",
    "load_claim",
    "run_claims",
]
