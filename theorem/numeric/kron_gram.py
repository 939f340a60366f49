r"""The Gram matrix ``JᵀJ`` of a biased head's pulled-back map, built from its Kronecker structure.

``J = ∂ vec(map)/∂θ`` (``θ = (W̃_Q, W̃_K)``, the first ``k'`` columns, :class:`~theorem.numeric.pullback_bias.BiasedHead`)
is ``n² × p`` — 31 GiB for the whole MiniLM head at n = 400 — but ``JᵀJ`` is ``p × p`` and has a closed
*chain-rule* form (not the rank's closed form: nothing about the rank is assumed).  Row ``i`` of the score
differential is ``dS_i = (K' dQ̃ᵀ x̃_i + X̃ dK̃ q'_i)/√k``, and the map's row Jacobian is ``M_i`` (``I`` for
scores; ``C_i = I − 1 a_iᵀ`` for log-weights, ``a_i`` the softmax row), so with
``W_i = M_iᵀ M_i = I − a_i 1ᵀ − 1 a_iᵀ + n a_i a_iᵀ``, ``κ_i = K'ᵀa_i``, ``ξ_i = X̃ᵀa_i``, ``c = K'ᵀ1``,
``t = X̃ᵀ1``, and index pairs ``(a, α)`` (row of W̃, column):

* ``G_qq[aα, bβ] = Σ_i x̃_ia x̃_ib (K'ᵀW_iK')_αβ``
  ``= (X̃ᵀX̃)_ab (K'ᵀK')_αβ − T₃[a,b,α] c_β − c_α T₃[a,b,β] + n (ΦᵀΦ)[aα, bβ]``;
* ``G_kk[aα, bβ] = Σ_i (X̃ᵀW_iX̃)_ab q'_iα q'_iβ``
  ``= (X̃ᵀX̃)_ab (Q'ᵀQ')_αβ − T₅[a,α,β] t_b − t_a T₅[b,α,β] + n (ΞᵀΞ)[aα, bβ]``;
* ``G_qk[aα, bβ] = Σ_i x̃_ia q'_iβ (K'ᵀW_iX̃)_αb``
  ``= (X̃ᵀQ')_aβ (K'ᵀX̃)_αb − T₆[a,α,β] t_b − c_α T₇[a,b,β] + n (ΦᵀΞ)[aα, bβ]``,

all over ``k``, with ``Φ[i, aα] = x̃_ia κ_iα``, ``Ξ[i, aα] = ξ_ia q'_iα``, ``T₃ = X̃ᵀΦ``, ``T₇ = X̃ᵀΞ``,
``T₅ = ΞᵀQ'``, ``T₆ = ΦᵀQ'`` (reshaped).  Cost ``O(n·p²/4 + n·(d+1)²k)``: one pass of rank-``n`` updates,
never an ``n²``-sized array; memory ``p²`` doubles (4.5 GiB at p = 24,640) and ``O(n·p)`` besides.

**Whitening.**  ``rank J = rank J R`` for every invertible ``R``.  With
``R = (R_x ⊗ R_k) ⊕ (R_x ⊗ R_q)`` (``dQ̃ = R_x dM R_kᵀ``, ``dK̃ = R_x dN R_qᵀ``) the Gram of ``J R`` is the
same formula with ``X̃ R_x, K' R_k, Q' R_q`` in place of ``X̃, K', Q'``.  Each ``R_· = V diag(1/max(σ, ρσ₁))``
from the factor's SVD, ``ρ = √eps``: invertible whatever the factor's rank (nothing is decided about it), it
maps the factor's resolved singular values to 1 and its rounding level ``eps·σ₁`` to ``√eps``, which the Gram
squares to ``eps``, its own rounding level.  The spread of ``J``'s spectrum that comes from the tokens' and
the keys' scales (10³–10⁴ on a real head) is removed, so the Gram, whose eigenvalues are ``σ²``, still
resolves the rank.

**Rank.**  Pivoted Cholesky (LAPACK ``dpstrf``, ``p³/3`` flops, in place) of ``G = (JR)ᵀ(JR)``: after ``r``
steps, ``G Π = [G₁₁ G₁₂; G₂₁ G₂₂]`` with ``G₁₁ = R₁₁ᵀR₁₁`` and Schur complement ``S`` (PSD); then

* ``λ_{r+1}(G) ≤ ‖S‖₂ ≤ tr S`` in exact arithmetic (``G − diag(0, S)`` has rank ``r``; Weyl); in floating
  point, with the computed rows ``R̂₁`` and their backward error, ``λ_{r+1}(G) ≤ γ‖R̂₁‖_F² + ‖G₂₂ − R₁₂ᵀR₁₂‖_F``
  (:func:`trailing_bound`: ``G₂₂`` is read from the triangle the factorization does not touch);
* ``λ_r(G) ≥ λ_min(G₁₁)`` (Cauchy interlacing), and ``λ_min(G₁₁) > s`` is proved by a second Cholesky
  of ``G₁₁ − (s + c)I`` running to completion in floating point, with Rump's (2006) shift
  ``c ≈ γ_{p+3}/(1 − γ_{p+3})·tr M`` covering its rounding (:func:`rump_shift`, :func:`certify_block`).

So ``σ_r(JR) ≥ √s`` and ``σ_{r+1}(JR) ≤ √U`` (``U`` that upper bound): a gap bound, for the Gram as computed
(its formation error is reported beside it, ``formation_error``: ``n·eps`` times the Gram built from
absolute values, bounded by the factors' norms).  The spectrum handed to the project's rank test is the sequence of pivots (``R_jj²``),
with the squared gap asked of it, as for any Gram route.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jaxtyping import Float
from scipy.linalg import blas, lapack

from theorem.kernels.softmax import Softmax
from theorem.numeric.pullback_bias import BiasedHead, augment
from theorem.util.precision import float64

__all__ = ["GRAM_MAPS", "KronFactors", "PivotedRank", "factors", "kron_gram", "formation_error", "whitening",
           "pivoted_rank", "gamma", "rump_shift", "triangle_digest", "trailing_bound", "certify_block"]

GRAM_MAPS = ("scores", "log-weights")
EPS = float(np.finfo(np.float64).eps)
#: a factor's singular values below this fraction of its largest are not amplified further (√eps)
WHITEN_FLOOR = math.sqrt(EPS)


def whitening(m: Float[np.ndarray, "n c"]) -> Float[np.ndarray, "c c"]:
    """``R = V diag(1/max(σ_j, √eps·σ₁))`` from ``m = U Σ Vᵀ``: invertible, ``m R`` has singular values
    ``min(1, σ_j/(√eps σ₁))``; the identity for a zero factor."""
    _, s, vt = np.linalg.svd(np.asarray(m, dtype=np.float64), full_matrices=False)
    c = m.shape[1]
    if s.size == 0 or s[0] == 0.0:
        return np.eye(c)
    full = np.ones(c) * s[0] * WHITEN_FLOOR
    full[: s.size] = np.maximum(s, s[0] * WHITEN_FLOOR)
    v = vt.T if vt.shape[0] == c else np.linalg.qr(np.concatenate([vt.T, np.eye(c)], axis=1))[0][:, :c]
    return v / full[None, :]


@dataclass(frozen=True)
class KronFactors:
    """The factors the Gram is built from: tokens multiplying the parameter rows ``X̃`` (n×R), the varied
    key and query columns ``K', Q'`` (n×m), the weights ``A`` (n×n; None for scores), ``1/k``, and the
    reparametrization ``(R_x, R_k, R_q)`` already applied (identities when not whitened)."""

    x: np.ndarray
    keys: np.ndarray
    queries: np.ndarray
    weights: np.ndarray | None
    scale: float
    r_x: np.ndarray
    r_k: np.ndarray
    r_q: np.ndarray

    @property
    def p(self) -> int:
        return 2 * self.x.shape[1] * self.keys.shape[1]

    def conditioning(self) -> float:
        """``cond(R)`` of the reparametrization (1 when not whitened)."""
        conds = [np.linalg.cond(r) for r in (self.r_x, self.r_k, self.r_q)]
        return float(conds[0] * max(conds[1], conds[2]))


@float64
def factors(head: BiasedHead, whiten: bool = True) -> KronFactors:
    """The Gram's factors for ``head`` (maps ``scores`` and ``log-weights``)."""
    if head.map not in GRAM_MAPS:
        raise ValueError(f"map: the Kronecker Gram is built for {', '.join(GRAM_MAPS)}, not {head.map!r}")
    rows, kv = head.rows, head.kv
    xa = augment(head.x)
    q_full, k_full = xa @ head.wq_aug(), xa @ head.wk_aug()
    x = xa[:, :rows]
    keys, queries = k_full[:, :kv], q_full[:, :kv]
    weights = None
    if head.map == "log-weights":
        s = q_full @ k_full.T / math.sqrt(head.k)
        weights = np.asarray(Softmax().weights_from_scores(jnp.asarray(s)), dtype=np.float64)
    if whiten:
        r_x, r_k, r_q = whitening(x), whitening(keys), whitening(queries)
    else:
        r_x, r_k, r_q = np.eye(rows), np.eye(kv), np.eye(kv)
    return KronFactors(x @ r_x, keys @ r_k, queries @ r_q, weights, 1.0 / head.k, r_x, r_k, r_q)


def kron_gram(f: KronFactors, out: np.ndarray | None = None) -> Float[np.ndarray, "p p"]:
    """``G = (JR)ᵀ(JR)`` (p×p, float64) from the factors; written into ``out`` (C-contiguous p×p) when given,
    so the only large allocation is ``G`` itself.

    ``W_i = H + w_i w_iᵀ`` with ``H = I − 11ᵀ/n`` and ``w_i = √n a_i − 1/√n`` for log-weights (``H = I``,
    ``w = 0`` for scores), so ``G = Σ_i B_iᵀ H B_i + ΓᵀΓ`` with ``B_i = [x̃_iᵀ ⊗ K', X̃ ⊗ q'_iᵀ]`` and
    ``Γ[i] = w_iᵀB_i = [x̃_iᵀ ⊗ w_iᵀK', w_iᵀX̃ ⊗ q'_iᵀ]`` (n×p: one GEMM).  The first sum is
    ``kron(X̃ᵀX̃, K'ᵀHK')``, ``kron(X̃ᵀHX̃, Q'ᵀQ')`` on the diagonal blocks and
    ``[aα, bβ] ↦ (X̃ᵀQ')_aβ (K'ᵀHX̃)_αb`` off it (the module docstring's three blocks, regrouped)."""
    x, kk, qq, a = f.x, f.keys, f.queries, f.weights
    n, rr = x.shape
    m = kk.shape[1]
    h = rr * m
    g = np.empty((2 * h, 2 * h)) if out is None else out
    g4 = g.reshape(2, h, 2, h)

    def centred(v: np.ndarray) -> np.ndarray:
        return v if a is None else v - v.mean(axis=0, keepdims=True)

    _kron_into(g4[0, :, 0, :], x.T @ x, kk.T @ centred(kk))
    _kron_into(g4[1, :, 1, :], x.T @ centred(x), qq.T @ qq)
    p1, p2 = x.T @ qq, kk.T @ centred(x)  # (X̃ᵀQ')_aβ, (K'ᵀHX̃)_αb
    np.multiply(p1[:, None, None, :], p2[None, :, :, None], out=g4[0, :, 1, :].reshape(rr, m, rr, m))
    g[h:, :h] = g[:h, h:].T
    if a is not None:
        w = math.sqrt(n) * a - 1.0 / math.sqrt(n)
        wk, wx = w @ kk, w @ x  # w_iᵀK' (n×m), w_iᵀX̃ (n×R)
        gamma = np.concatenate([(x[:, :, None] * wk[:, None, :]).reshape(n, h),
                                (wx[:, :, None] * qq[:, None, :]).reshape(n, h)], axis=1)
        gamma = np.asfortranarray(gamma)
        res = blas.dgemm(1.0, gamma, gamma, beta=1.0, c=g.T, trans_a=1, overwrite_c=1)
        if res.base is not g and res is not g.T:  # not updated in place: copy back
            g[...] = res.T
    g *= f.scale
    return g


def _kron_into(view: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """``view[aα, bβ] = left[a, b]·right[α, β]`` (``np.kron``) without a temporary of the view's size."""
    r, m = left.shape[0], right.shape[0]
    np.multiply(left[:, None, :, None], right[None, :, None, :], out=view.reshape(r, m, r, m))


def formation_error(f: KronFactors) -> float:
    """A bound on ``‖G_computed − G‖₂`` from rounding: ``(n + 4)·eps·p`` times the squared bound on the
    whitened map's entries' row sums, ``(2 ‖X̃R‖ max(‖K'R‖, ‖Q'R‖)(1 + √n·max‖a_i‖))²/k`` (a norm bound of
    ``|J R|``; the formulas add at most ``n + 4`` products per entry)."""
    n = f.x.shape[0]
    norm = lambda v: float(np.linalg.norm(v, 2))  # noqa: E731
    amp = 1.0 if f.weights is None else 1.0 + math.sqrt(n) * float(np.max(np.linalg.norm(f.weights, axis=1)))
    bound = (2 * norm(f.x) * max(norm(f.keys), norm(f.queries)) * amp) ** 2 * f.scale
    return (n + 4) * EPS * bound


@dataclass(frozen=True)
class PivotedRank:
    """What pivoted Cholesky says about ``G``: the pivots ``R_jj²`` in the order taken (0 past the last
    positive one), the number of steps taken, the permutation (0-based: ``G[perm][:, perm] = RᵀR``), and the
    factor ``u`` (rows of ``R`` in its upper triangle; the overwritten ``G``)."""

    pivots: np.ndarray
    steps: int
    perm: np.ndarray
    u: np.ndarray

    def schur_trace(self, diag: np.ndarray, r: int) -> float:
        """An upper bound on ``tr S`` after ``r`` steps: ``Σ_{l ≥ r} (G_ll − Σ_{i<r} R_il²)`` from ``G``'s
        diagonal ``diag`` (taken before the factorization), each term clamped at 0 (``S`` is PSD), plus the
        rounding of the subtractions (``(r + 2)·eps`` times the diagonal summed)."""
        if r >= self.u.shape[0]:
            return 0.0
        d = np.asarray(diag, dtype=np.float64)[self.perm[r:]]
        used = np.einsum("ij,ij->j", self.u[:r, r:], self.u[:r, r:]) if r > 0 else np.zeros_like(d)
        return float(np.sum(np.maximum(d - used, 0.0)) + (r + 2) * EPS * np.sum(d))


def pivoted_rank(g: np.ndarray) -> PivotedRank:
    """Pivoted Cholesky (LAPACK ``dpstrf``, ``p³/3`` flops) of the PSD ``g`` (overwritten, C-contiguous),
    run to the end of the positive pivots (``tol = 0``)."""
    c, piv, steps, info = lapack.dpstrf(g.T, tol=0.0, lower=0, overwrite_a=1)
    if info < 0:
        raise ValueError(f"dpstrf: argument {-info} had an illegal value")
    u = c  # the upper triangle of c (logical indexing) holds R: G[perm][:, perm] = RᵀR
    p = g.shape[0]
    steps = int(steps)
    pivots = np.where(np.arange(p) < steps, np.diag(u) ** 2, 0.0)
    return PivotedRank(pivots, steps, np.asarray(piv, dtype=np.int64) - 1, u)


def gamma(k: int) -> float:
    """``γ_k = k·u/(1 − k·u)`` (Higham 2002), ``u`` the unit roundoff (eps/2; eps here, a factor 2 to spare)."""
    return k * EPS / (1 - k * EPS)


def rump_shift(trace_m: float, size: int, max_diag: float, s: float) -> float:
    r"""The shift ``c`` that makes a completed floating-point Cholesky of ``M`` (order ``size``; the kept block
    ``fl(G₁₁ − fl(s + c)I)`` padded with an identity) a proof of ``λ_min(G₁₁) > s``.

    Completion gives ``R̂ᵀR̂ = M + ΔM``, ``|ΔM| ≤ γ|R̂ᵀ||R̂|`` and so ``‖ΔM‖₂ ≤ γ/(1 − γ)·tr M`` (Rump 2006;
    ``γ = γ_{size+3}``: LAPACK multiplies by the reciprocal pivot, one rounding more than a division, and one
    more to spare); ``R̂ᵀR̂ ≻ 0`` then gives ``λ_min(M) > −‖ΔM‖₂``.  The kept diagonal was rounded once,
    ``|fl(G_aa − t) − (G_aa − t)| ≤ u(G_aa + t)``, ``t = fl(s + c) ≥ (s + c)(1 − u)``, so
    ``λ_min(G₁₁) > t(1 − u) − u·max G_aa − γ/(1 − γ)·tr M ≥ s`` when ``c`` is at least what is returned
    (``trace_m`` an upper bound on ``tr M``; widened by 10⁻³ for the rounding of this formula and of the sums
    feeding it, plus an underflow term, negligible here)."""
    gp = gamma(size + 3) / (1 - gamma(size + 3))
    c = (2 * EPS * s + EPS * max_diag + gp * trace_m) / (1 - EPS) ** 2
    return c * (1 + 1e-3) + 4 * size * (2 * (size + 2) + max_diag) * np.finfo(np.float64).tiny


def triangle_digest(g: np.ndarray) -> str:
    """A digest of ``g``'s strict upper triangle (C order), which the factorizations here never write:
    pivoted Cholesky on ``g.T`` with ``lower=0`` references only ``g``'s lower triangle."""
    h = hashlib.blake2b(digest_size=16)
    for i in range(g.shape[0] - 1):
        h.update(memoryview(g[i, i + 1:]))
    return h.hexdigest()


def trailing_bound(g: np.ndarray, pr: PivotedRank, diag: np.ndarray, r: int) -> dict:
    r"""A proved upper bound on ``λ_{r+1}(G)`` from the pivoted factorization of :func:`pivoted_rank`.

    With ``R̂₁ = [R₁₁ R₁₂]`` the first ``r`` computed rows (pivot order) and ``F = R̂₁ᵀR̂₁`` (PSD, rank ``r``),
    Weyl gives ``λ_{r+1}(G) ≤ λ_max(G − F)``.  ``G − F = E + diag(0, Z)`` (permuted): ``E`` holds the backward
    errors of rows ``< r``, ``|E| ≤ γ|R̂₁|ᵀ|R̂₁|`` off the trailing block, so ``‖E‖₂ ≤ γ‖R̂₁‖_F²``, and
    ``Z = G₂₂ − R₁₂ᵀR₁₂``, formed here from ``G``'s untouched triangle (``g``'s strict upper triangle, original
    order) and the saved ``diag``: ``λ_max(Z) ≤ ‖Z‖_F ≤ ‖Ẑ‖_F + γ‖R₁₂‖_F²`` (its rounding).  ``γ = γ_{p+3}``;
    the sum widened by 10⁻³ for the rounding of the norms.  Returns the bound and its terms."""
    p = g.shape[0]
    gam = gamma(p + 3)
    r1_sq, block = 0.0, 512
    for j0 in range(0, p, block):  # R[i, j] = g[j, i] for i ≤ j: rows i < r are g's columns < r, lower part
        blk = np.tril(g[j0:j0 + block, :r], k=j0)
        r1_sq += float(np.einsum("ij,ij->", blk, blk))
    r12 = g[r:, :r]  # R[i, j], i < r ≤ j
    idx = pr.perm[r:]
    g22 = g[np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)]
    g22[np.diag_indices(idx.size)] = diag[idx]
    z = g22 - r12 @ r12.T
    z_fro, r12_sq = float(np.linalg.norm(z)), float(np.einsum("ij,ij->", r12, r12))
    bound = (gam * r1_sq + z_fro + gam * r12_sq) * (1 + 1e-3)
    return {"bound": bound, "backward_error": gam * r1_sq, "schur_frobenius": z_fro, "schur_rounding": gam * r12_sq}


def certify_block(g: np.ndarray, kept: np.ndarray, s: float, diag: np.ndarray) -> tuple[bool, float]:
    """Prove ``λ_min(G[kept, kept]) > s``: pivoted Cholesky (``dpstrf``) of ``M``, the kept block
    ``fl(G₁₁ − fl(s + c)I)`` padded with an identity on the rows not kept (a symmetric permutation of
    ``diag(G₁₁ − (s + c)I, I)``; definiteness does not depend on the order), ``c`` :func:`rump_shift`'s.
    ``G`` is read from ``g``'s strict upper triangle (C order: the triangle :func:`pivoted_rank` leaves
    untouched, or a fresh Gram) and ``diag``; ``g`` is overwritten.  Returns (proved, c)."""
    p = g.shape[0]
    mask = np.zeros(p, dtype=bool)
    mask[kept] = True
    keep, drop = np.flatnonzero(mask), np.flatnonzero(~mask)
    c = rump_shift(float(np.sum(diag[keep])) + drop.size, p, float(np.max(diag[keep])), s)
    g[drop, :] = 0.0
    g[:, drop] = 0.0
    g[keep, keep] = diag[keep] - (s + c)
    g[drop, drop] = 1.0
    # pivoted (dpstrf, reference LAPACK over OpenBLAS's level-3 BLAS), not OpenBLAS's own dpotrf, which
    # crashed twice at p = 24,640 with 2 threads (2026-12-02); a pivoted Cholesky is a Cholesky of a symmetric
    # permutation with the same backward error (Higham 2002, §10.3), so Rump's criterion holds for it:
    # completion with all p pivots positive (tol = 0 stops at the first pivot ≤ 0 or NaN) proves definiteness.
    # lower=1 on g.T reads g's upper triangle, where G is.
    _, _, steps, info = lapack.dpstrf(g.T, tol=0.0, lower=1, overwrite_a=1)
    return info == 0 and int(steps) == p, c
