r"""The pulled-back rank of a biased head from its Kronecker Gram, with a gap bound (the ``kron`` route).

:func:`measure_kron` builds ``G = (JR)ᵀ(JR)`` (:func:`theorem.numeric.kron_gram.kron_gram`; ``R`` the invertible
whitening, so ``rank G = rank JR = rank J``: for real ``M``, ``Mᵀ M v = 0 ⇒ ‖M v‖² = 0``), factors it by
pivoted Cholesky and runs the project's rank test (:func:`theorem.numeric.rank.rank_from_singular_values`)
on the pivots ``R_jj²`` — eigenvalue-like numbers, so with the squared minimum gap, as every Gram route —
with the reference scale ``‖|JR|‖²`` bound (:func:`theorem.numeric.kron_gram.formation_error` over its
``(n + 4)·eps``).  Nothing here uses the closed form: the rank is counted from the map's own Gram.

**Why the count is the rank of J.**  ``G`` is PSD with ``rank G = rank J``.  Pivoted Cholesky after ``r``
steps writes ``GΠ = [G₁₁ G₁₂; G₂₁ G₂₂]``, ``G₁₁ = R₁₁ᵀR₁₁``, Schur complement ``S``; ``G − Π diag(0, S) Πᵀ``
has rank ``r``, so ``λ_{r+1}(G) ≤ ‖S‖₂ ≤ tr S`` (Weyl), and ``λ_r(G) ≥ λ_min(G₁₁)`` (Cauchy interlacing).
A large ratio ``λ_min(G₁₁)/tr S`` is a gap in ``G``'s spectrum exactly after ``r``.

**Certificate** (``certify=True``; one more (pivoted) Cholesky, about doubling the cost, and no second
Gram: pivoted Cholesky on one triangle leaves ``G`` in the other, checked by a digest taken before):
``λ_min(G₁₁) > s`` is *proved* for the computed ``G`` by Cholesky of ``G₁₁ − (s + c)I`` running to
completion in floating point, ``c`` Rump's (2006) rounding shift (:func:`theorem.numeric.kron_gram.rump_shift`,
:func:`theorem.numeric.kron_gram.certify_block`), with ``s`` a thousandth of the smallest pivot kept.  The
upper side is read from the first factorization (:func:`theorem.numeric.kron_gram.trailing_bound`):
``λ_{r+1}(G) ≤ γ‖R̂₁‖_F² + ‖G₂₂ − R₁₂ᵀR₁₂‖_F`` plus that product's rounding (Weyl, with the computed
rows' backward error; ``γ = γ_{p+3}``).  Both are rigorous up to the exactness of LAPACK's arithmetic
model.  The Gram's formation error (``formation_error``, a bound in the standard rounding model) is
subtracted from the lower bound and added to the upper one, so

    σ_r(JR) ≥ √(s − ε_G),     σ_{r+1}(JR) ≤ √(U + ε_G),

and their ratio is the certified gap: every tolerance between them counts ``r``.  (``trailing_trace``,
the trace of the computed Schur complement after the cut, is reported beside it; it is not the proof.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from theorem.numeric.kron_gram import (EPS, certify_block, factors, formation_error, kron_gram, pivoted_rank,
                                       trailing_bound, triangle_digest)
from theorem.numeric.pullback_bias import BiasedHead
from theorem.numeric.rank import DEFAULT_MIN_GAP, RankResult, rank_from_singular_values
from theorem.util.precision import float64

__all__ = ["KronMeasurement", "measure_kron", "CERTIFY_FRACTION"]

#: the lower bound asked of λ_min(G₁₁): this fraction of the smallest pivot kept
CERTIFY_FRACTION = 1e-3


@dataclass(frozen=True)
class KronMeasurement:
    """A ``kron``-route measurement: the rank test on the pivots, and the certificate (None when not asked)."""

    rank: RankResult
    samples: int
    seconds: float
    conditioning: float
    formation_error: float
    trailing_trace: float
    certificate: dict | None = None
    route: str = field(default="kron")

    def to_dict(self) -> dict:
        return {"rank": self.rank.rank, "status": self.rank.status, "tolerance": self.rank.tolerance,
                "gap": None if np.isinf(self.rank.gap) else float(self.rank.gap), "route": self.route,
                "samples": self.samples, "seconds": round(self.seconds, 3), "spectrum": "pivots R_jj² of (JR)ᵀ(JR)",
                "whitening_conditioning": self.conditioning, "formation_error": self.formation_error,
                "trailing_trace": self.trailing_trace, "certificate": self.certificate}


@float64
def measure_kron(head: BiasedHead, *, certify: bool = True, whiten: bool = True,
                 log: Callable[[str], None] | None = None) -> KronMeasurement:
    """Measured ``rank ∂ vec(map)/∂θ`` of ``head`` (maps scores and log-weights) from its Kronecker Gram;
    ``certify`` adds the proved gap bound of the module docstring."""
    say = log or (lambda _msg: None)
    start = time.perf_counter()
    f = factors(head, whiten=whiten)
    p = f.p
    g = kron_gram(f)
    say(f"Gram {p}×{p} built in {time.perf_counter() - start:.0f} s")
    diag = np.diag(g).copy()
    eps_g = formation_error(f)
    ref = eps_g / ((f.x.shape[0] + 4) * EPS)  # the bound on ‖|JR|‖² the formation error is relative to
    digest = triangle_digest(g) if certify else None
    pr = pivoted_rank(g)
    say(f"pivoted Cholesky: {pr.steps} positive pivots, {time.perf_counter() - start:.0f} s")
    result = rank_from_singular_values(pr.pivots, (p, p), reference=ref, min_gap=DEFAULT_MIN_GAP**2)
    r = result.rank
    trailing = pr.schur_trace(diag, r)
    cert = None
    if certify and 0 < r:
        upper = trailing_bound(g, pr, diag, r)
        kept, s = pr.perm[:r].copy(), CERTIFY_FRACTION * float(np.min(pr.pivots[:r]))
        del pr
        untouched = triangle_digest(g) == digest
        if not untouched:  # the factorization wrote into G's triangle: build G afresh (never seen so far)
            kron_gram(f, out=g)
        proved, shift = certify_block(g, kept, s, diag)
        del g
        lower_sq = s - eps_g
        upper_sq = upper["bound"] + eps_g
        cert = {"proved": bool(proved and lower_sq > upper_sq), "lambda_min_kept_above": s, "rump_shift": shift,
                "cholesky_completed": bool(proved), "gram_triangle_untouched": untouched,
                "sigma_r_lower": math.sqrt(lower_sq) if lower_sq > 0 else 0.0,
                "sigma_r_plus_1_upper": math.sqrt(upper_sq),
                "gap_lower": (math.sqrt(lower_sq / upper_sq) if lower_sq > 0 else 0.0),
                "upper_terms": {k: v for k, v in upper.items() if k != "bound"},
                "statement": "λ_min(G₁₁) > s by Cholesky of G₁₁ − (s + c)I (Rump 2006); "
                             "λ_{r+1}(G) ≤ γ‖R̂₁‖_F² + ‖G₂₂ − R₁₂ᵀR₁₂‖_F (+ its rounding); ± the Gram's formation error"}
        say(f"certificate: {'proved' if cert['proved'] else 'NOT proved'}, σ_r ≥ {cert['sigma_r_lower']:.3g}, "
            f"σ_r+1 ≤ {cert['sigma_r_plus_1_upper']:.3g}, {time.perf_counter() - start:.0f} s")
    return KronMeasurement(result, p, time.perf_counter() - start, f.conditioning(), eps_g, trailing, cert)
