r"""Exact rank of the attention matrix ``A`` (n×n), closed forms beside measurements.

Notation: queries ``q_i = x_i W_Q`` and keys ``k_j = x_j W_K`` (rows of ``Q, K ∈ R^{n×d_k}``),
scores ``S = Q Kᵀ/√d_k``; the M form ``S = X M Xᵀ/√d`` is the case ``W_Q = M``,
``W_K = I_d`` (so ``d_k = d``).  ``T = κ(S)`` entrywise (masked when causal) and
``A = D⁻¹ T`` with ``D = diag(T 1)``.

**Normalization keeps the rank.**  ``D`` is diagonal with positive entries wherever ``A``
is defined, so ``rank A = rank T``.  Where a row sum is 0 (poly2 with a query orthogonal to
every key, CSQ without shift and a constant score row, causal centered CSQ without shift at
``i = 0``) ``A`` is *undefined* (0/0) and no rank is claimed.

**Feature lifts** (non-causal).  Each polynomial kernel factors as ``T = L_Q L_Kᵀ``:

=====================  =====================================  ========================  ==============
kernel                 query lift ``ℓ_Q(q)``                  key lift ``ℓ_K(k)``       width ``D``
=====================  =====================================  ========================  ==============
poly2                  ``(σq)^{⊗2}``                          ``k^{⊗2}``                ``d_k(d_k+1)/2``
csq, c = 0, uncentred  ``(σq)^{⊗2}``                          ``k^{⊗2}``                ``d_k(d_k+1)/2``
csq, c = 0, centred    ``(σq)^{⊗2}``                          ``(k − k̄)^{⊗2}``          ``d_k(d_k+1)/2``
csq, c > 0, uncentred  ``(σq, c)^{⊗2}``                       ``(k, 1)^{⊗2}``           ``(d_k+1)(d_k+2)/2``
csq, c > 0, centred    ``(σq, c)^{⊗2}``                       ``(k − k̄, 1)^{⊗2}``       ``(d_k+1)(d_k+2)/2``
linear (elu + 1)       ``φ(q)``                               ``φ(k)``                  ``d_k``
=====================  =====================================  ========================  ==============

with ``σ = 1/√d_k``, ``k̄`` the mean key, and ``z^{⊗2}`` the symmetric square written in
``D`` coordinates (``z_a z_b``, weighted ``√2`` off the diagonal, so ``⟨z^{⊗2}, w^{⊗2}⟩ =
(z·w)²``).  Centering works because ``S_ij − mean_j S_ij = σ q_i·(k_j − k̄)``; the shift
because ``σ q·k + c = (σq, c)·(k, 1)``.  Hence, for **every** input,

``rank A ≤ min(n, rank L_Q, rank L_K) ≤ min(n, D)``                              (bound)

and softmax has no finite lift (``D = ∞``): its bound is ``n``.

**Exact rank for generic weights** (``W_Q, W_K`` or ``M`` drawn from a density):

* softmax: ``rank A`` = number of distinct tokens (``theorem.symbolic.softmax_rank``
  certifies it in exact arithmetic; repeated tokens give repeated rows and columns);
* polynomial kernels and linear: ``rank A = min(rank L_Q, rank L_K)`` — the ranks of the
  lifted queries and keys.  For the uncentred M form this is proved: at ``M = I`` the
  matrix ``T`` is the Gram matrix of the lifted tokens, so its rank is ``rank L``, and a
  rank reached at one point is reached for almost every ``M``.  For the other cases it is
  the measured fact that every fuzzed input (checks/ and tests/) satisfies.

``rank L`` is the dimension of the span of the lifted points: ``n`` minus the number of
independent (homogeneous, for ``c = 0``; affine, for ``c > 0``) quadrics through them.  On
tokens in general position this gives the closed forms in ``n, d, d_k`` of
:func:`generic_rank` (``r = min(n, d, d_k)``, ``r' = min(n − 1, d, d_k)``):

=================================  ====================================
softmax                            ``n``
poly2, csq(c = 0, uncentred)       ``min(n, r(r+1)/2)``
csq(c = 0, centred)                ``min(n, r'(r'+1)/2)``
csq(c > 0, centred or not)         ``min(n, (r+1)(r+2)/2)``
linear (elu + 1)                   ``min(n, d_k)``
any kernel, causal                 ``n`` (when every ``T_ii > 0``)
=================================  ====================================

A causal ``T`` is lower triangular: with every ``T_ii > 0`` (always for softmax and
linear; for the polynomial kernels unless a diagonal score hits the parabola's zero) its
determinant is ``∏ T_ii ≠ 0`` and ``rank A = n`` whatever the kernel — the fact that the
T3.d reading rests on.

Degenerate tokens move the polynomial ranks in ways the lifts capture and the generic
forms do not: repeated tokens, ``x`` and ``−x`` (same ``x^{⊗2}``), rank-deficient ``X``,
LayerNorm'd rows (they lie on a sphere: the affine lift loses one dimension when ``W_Q`` is
injective on their hyperplane), a constant feature column (then ``1 ∈ col X`` and the shift
adds nothing).  :func:`degenerate_tokens` generates these families (:mod:`theorem.util.tokens`).

**Where it lives.**  The closed forms are SymPy expressions in
:mod:`theorem.symbolic.attention_rank_formulas` (:mod:`.closed_forms` evaluates them); every kernel
formula (``T``, the lifts, their width) comes from :mod:`theorem.kernels` (:mod:`.kernel_parts`); the
matrices are in :mod:`.matrices`, the rounding bounds in :mod:`.rounding`, the measured ranks in
:mod:`.measure`, the predictions from invariants in :mod:`.predict`; a head is
:class:`theorem.numeric.head.Head`.
"""

from __future__ import annotations

from theorem.numeric.attention_rank.closed_forms import (
    generic_formula,
    generic_rank,
    layernorm_rank,
    lift_width,
    upper_bound,
)
from theorem.numeric.attention_rank.inputs import (
    EPS,
    QK,
    RANK_KERNELS,
    TOKEN_FAMILIES,
    Head,
    check_kernel,
    degenerate_tokens,
    factors,
    kernel_label,
    rank_class,
)
from theorem.numeric.attention_rank.matrices import (
    attention_matrix,
    causal_factorized_output,
    factorized_output,
    feature_lifts,
    unnormalized_matrix,
)
from theorem.numeric.attention_rank.measure import measured_rank, score_rank
from theorem.numeric.attention_rank.predict import RankPrediction, predicted_rank, token_classes
from theorem.numeric.attention_rank.rounding import t_with_error, undefined_rows, weights_error_bound

__all__ = [
    "EPS",
    "Head",
    "QK",
    "RankPrediction",
    "RANK_KERNELS",
    "TOKEN_FAMILIES",
    "kernel_label",
    "check_kernel",
    "rank_class",
    "factors",
    "lift_width",
    "upper_bound",
    "generic_rank",
    "generic_formula",
    "layernorm_rank",
    "unnormalized_matrix",
    "attention_matrix",
    "feature_lifts",
    "factorized_output",
    "causal_factorized_output",
    "t_with_error",
    "weights_error_bound",
    "undefined_rows",
    "measured_rank",
    "score_rank",
    "predicted_rank",
    "token_classes",
    "degenerate_tokens",
]
