r"""ε-rank of a matrix, with certified intervals, and the softmax ε-rank sweep.

**Definition.**  ``rank_ε(A) = #{j : σ_j(A) > ε·σ₁(A)}``: the smallest ``k`` such that some
rank-``k`` matrix lies within ``ε‖A‖₂`` of ``A`` (Eckart–Young).  Every method below returns
an interval ``[lower, upper]`` that contains it, and a point estimate.

**Methods.**

* ``"svd"`` — all singular values by LAPACK (``scipy.linalg.svdvals``), taken to be
  accurate to ``δ = n·eps·σ₁`` (backward stability, with the polynomial ``p(n)`` of the
  LAPACK error bound taken as ``n``).  ``O(n³)``.
* ``"randomized"`` — randomized subspace iteration (Halko, Martinsson & Tropp 2011):
  ``Q = orth((AAᵀ)^q A Ω)`` for a Gaussian ``Ω`` with ``k`` columns, doubled until certified.
  With ``P = QQᵀA``, ``R = A − P`` and ``s_j = σ_j(QᵀA)``:

  - ``s_j ≤ σ_j(A)`` (``AᵀA = PᵀP + RᵀR``, ``RᵀR ⪰ 0``) — deterministic;
  - ``σ_j(A)² ≤ s_j² + ‖R‖₂²`` (Weyl), with ``s_j = 0`` for ``j > k``;
  - ``‖R‖₂ ≤ ρ := √(θ·λ̂)`` where ``λ̂`` is the power-method estimate of ``λ_max(RᵀR)``
    after ``m`` steps from Gaussian starts; it fails only when ``(x·u₁)²/‖x‖² < θ^{−2m}``,
    probability ``≤ 2θ^{−m}/B(1/2, (n−1)/2) ≈ 0.8√n·θ^{−m}`` per start (derived in
    :func:`power_failure_probability`; Dixon 1983).  Here ``θ = 4``, ``m = 16``, two starts:
    failure probability below ``10⁻¹⁵`` at ``n = 4096``.

  Hence ``lower = #{s_j > ε·√(s₁² + ρ²)}`` and ``upper = #{√(s_j² + ρ²) > ε·s₁}`` (over all
  ``n`` indices).  It stops when ``ρ ≤ τ·ε·s₁`` (``τ = 1/4``), which leaves only the
  singular values in ``[0.97·ε σ₁, ε σ₁]`` undecided.  ``O(n² k)``: cheap when the ε-rank is
  small.
* ``"gram"`` — eigenvalues ``λ_j`` of ``G = AAᵀ`` (``σ_j² = λ_j(G)``).  Forming ``G`` in
  floating point errs by at most ``γ_n·‖|A||A|ᵀ‖₂`` (``γ_n = n·eps/(1 − n·eps)``; for
  ``A ≥ 0`` entrywise, ``‖|A||A|ᵀ‖₂ = ‖G‖₂``, else bounded by ``‖A‖_F²``) and the symmetric
  eigensolver by ``n·eps·‖G‖₂``; with ``δ`` their sum, ``σ_j² ∈ [λ_j − δ, λ_j + δ]``.  Squaring
  loses the singular values below ``≈ √(2n·eps)·σ₁``, so it certifies ``ε ≳ 10⁻⁵`` at
  ``n = 4096``.  ``O(n³)`` but several times faster than the SVD.
* ``"auto"`` — ``"svd"`` for ``n ≤ 600``; else ``"randomized"`` up to ``k = n/8``, then
  ``"gram"`` (or ``"svd"`` when ``ε`` is below what ``"gram"`` can certify).

**Softmax.**  For ``A = rownorm(exp(S))`` with ``|S_ij| ≤ B`` and ``rank S = r``:

``rank_ε(A) ≤ min(n, C(r + p, p))``, ``p = min{p : e^B·R_p(B) ≤ ε}``, ``R_p(B) = Σ_{k>p} B^k/k!``

— independent of ``n``.  Proof: ``P = Σ_{k≤p} S^{∘k}/k!`` has rank ``≤ Σ_{k≤p} C(r+k−1, k) =
C(r+p, p)`` (the ``k``-th Hadamard power of a rank-``r`` matrix lies in the span of
``r``-variate monomials of degree ``k``); ``|exp(S_ij) − P_ij| ≤ R_p(B)`` so
``‖D⁻¹(exp S − P)‖₂ ≤ (e^B/n)·n·R_p(B)``; and ``σ₁(A) ≥ 1`` because ``A1 = 1``.  The bound is
loose (polynomial approximations better than Taylor's exist: Alman & Song 2023 use them),
but it is the n-independence that matters: for bounded ``B`` the ε-rank saturates, while for
large ``B`` the degree ``p`` and with it the bound exceed ``n``.  Alman & Song 2023 bound the
entries of ``Q, K`` by ``B_e`` with ``A = exp(QKᵀ/d)``, so the score bound is ``B = B_e²``; they place
the transition at ``B_e = Θ(√log n)``, i.e. at a score bound of order ``ln n`` (for ``d = O(log n)``,
worst-case inputs, additive error ``1/poly(n)``, the hard side under SETH).  The sweep draws
``B = ln n`` beside measured ε-ranks of random inputs, which illustrate but cannot prove a
worst-case statement.
"""

from __future__ import annotations

from theorem.numeric.eps_rank.randomized import (
    power_failure_probability,
    randomized_range,
    randomized_svd,
    residual_norm_bound,
)
from theorem.numeric.eps_rank.result import EPS, METHODS, EpsRank, eps_rank_from_singular_values
from theorem.numeric.eps_rank.routes import eps_rank, eps_ranks
from theorem.numeric.eps_rank.softmax_sweep import (
    bounded_entry_scores,
    cached_softmax_sweep,
    softmax_attention,
    softmax_eps_rank_sweep,
    softmax_scores,
)
from theorem.numeric.eps_rank.taylor import (
    alman_song_entry_threshold,
    alman_song_threshold,
    taylor_degree,
    taylor_eps_rank_bound,
)

__all__ = [
    "EPS",
    "EpsRank",
    "eps_rank_from_singular_values",
    "eps_ranks",
    "eps_rank",
    "randomized_range",
    "residual_norm_bound",
    "power_failure_probability",
    "randomized_svd",
    "taylor_degree",
    "taylor_eps_rank_bound",
    "alman_song_threshold",
    "alman_song_entry_threshold",
    "softmax_scores",
    "bounded_entry_scores",
    "softmax_attention",
    "softmax_eps_rank_sweep",
    "cached_softmax_sweep",
    "METHODS",
]
