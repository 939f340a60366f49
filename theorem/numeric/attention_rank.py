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
adds nothing).  :func:`degenerate_tokens` generates these families.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float

from theorem.kernels import CSQ, Kernel, LinearElu, Poly2, Softmax, get_kernel
from theorem.numeric.rank import RankResult, numerical_rank
from theorem.util.tokens import make_tokens

jax.config.update("jax_enable_x64", True)

__all__ = [
    "EPS",
    "Head",
    "RankPrediction",
    "RANK_KERNELS",
    "TOKEN_FAMILIES",
    "kernel_label",
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
    "weights_error_bound",
    "undefined_rows",
    "measured_rank",
    "score_rank",
    "predicted_rank",
    "token_classes",
    "degenerate_tokens",
]

EPS = float(np.finfo(np.float64).eps)

#: every kernel variant whose rank this module predicts
RANK_KERNELS: tuple[Kernel, ...] = (
    Softmax(),
    Poly2(),
    CSQ(shift=0.0, center=False),
    CSQ(shift=0.0, center=True),
    CSQ(shift=1.0, center=False),
    CSQ(shift=1.0, center=True),
    LinearElu(),
)


def kernel_label(kernel: Kernel) -> str:
    """A short unique name: ``softmax``, ``poly2``, ``csq(c=1,centred)``, ``linear``."""
    if isinstance(kernel, CSQ):
        return f"csq(c={kernel.shift:g},{'centred' if kernel.center else 'uncentred'})"
    return kernel.name


def _check_kernel(kernel) -> Kernel:
    if isinstance(kernel, str):
        return get_kernel(kernel)
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a theorem.kernels.Kernel or a kernel name, got {kernel!r}")
    return kernel


def _shift(kernel: Kernel) -> float:
    return float(kernel.shift) if isinstance(kernel, CSQ) else 0.0


def _centred(kernel: Kernel) -> bool:
    return isinstance(kernel, CSQ) and kernel.center


# ---------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """Tokens and the two score factors of one head.

    ``w_q, w_k ∈ R^{d×d_k}``; the M form is ``w_q = M``, ``w_k = I_d``.  ``q = X W_Q`` and
    ``k = X W_K`` are computed once in float64; ``q_err, k_err`` bound their rounding
    errors entrywise (``γ_d |X||W|``, ``γ_m = m·eps``).
    """

    x: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    form: str = "factorized"  # or "M"

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        wq = np.asarray(self.w_q, dtype=np.float64)
        wk = np.asarray(self.w_k, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x: tokens must be a 2-D (n, d) array with n, d ≥ 1, got shape {x.shape}")
        for name, w in (("w_q", wq), ("w_k", wk)):
            if w.ndim != 2 or w.shape[0] != x.shape[1] or w.shape[1] < 1:
                raise ValueError(f"{name}: needs shape (d, d_k) = ({x.shape[1]}, d_k ≥ 1), got {w.shape}")
        if wq.shape != wk.shape:
            raise ValueError(f"w_q and w_k must have the same shape, got {wq.shape} and {wk.shape}")
        for name, a in (("x", x), ("w_q", wq), ("w_k", wk)):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} contains NaN or Inf")
        if self.form not in ("factorized", "M"):
            raise ValueError(f"form must be 'factorized' or 'M', got {self.form!r}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "w_q", wq)
        object.__setattr__(self, "w_k", wk)

    @classmethod
    def draw(cls, x: np.ndarray, dk: int | None = None, seed: int = 0) -> "Head":
        """Gaussian weights ``N(0, 1/d)`` from ``seed``; ``dk=None`` gives the M form."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"x: tokens must be a 2-D (n, d) array, got shape {x.shape}")
        d = x.shape[1]
        if dk is not None and not (isinstance(dk, (int, np.integer)) and dk >= 1):
            raise ValueError(f"dk must be a positive integer or None, got {dk!r}")
        rng = np.random.default_rng(seed)
        if dk is None:
            return cls(x, rng.standard_normal((d, d)) / math.sqrt(d), np.eye(d), form="M")
        return cls(x, rng.standard_normal((d, dk)) / math.sqrt(d), rng.standard_normal((d, dk)) / math.sqrt(d))

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    @property
    def dk(self) -> int:
        return self.w_q.shape[1]

    @property
    def q(self) -> np.ndarray:
        return self.x @ self.w_q

    @property
    def k(self) -> np.ndarray:
        return self.x if self.form == "M" else self.x @ self.w_k

    @property
    def q_err(self) -> np.ndarray:
        return self.d * EPS * (np.abs(self.x) @ np.abs(self.w_q))

    @property
    def k_err(self) -> np.ndarray:
        return np.zeros_like(self.x) if self.form == "M" else self.d * EPS * (np.abs(self.x) @ np.abs(self.w_k))


def _qk(head_or_q, k=None):
    if isinstance(head_or_q, Head):
        h = head_or_q
        return h.q, h.k, h.q_err, h.k_err
    q = np.asarray(head_or_q, dtype=np.float64)
    kk = np.asarray(k, dtype=np.float64)
    if q.ndim != 2 or kk.ndim != 2 or q.shape != kk.shape or q.size == 0:
        raise ValueError(f"q, k must be 2-D arrays of the same non-empty shape (n, d_k), got {q.shape}, {kk.shape}")
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(kk))):
        raise ValueError("q or k contains NaN or Inf")
    return q, kk, np.zeros_like(q), np.zeros_like(kk)


# ---------------------------------------------------------------------------------
# closed forms in n, d, d_k
# ---------------------------------------------------------------------------------


def lift_width(kernel: Kernel | str, dk: int) -> int | None:
    """Width ``D`` of the kernel's feature lift (``None`` for softmax: no finite lift)."""
    kernel = _check_kernel(kernel)
    if dk < 1:
        raise ValueError(f"dk must be ≥ 1, got {dk}")
    if isinstance(kernel, Softmax):
        return None
    if isinstance(kernel, LinearElu):
        return dk
    if _shift(kernel) > 0:
        return math.comb(dk + 2, 2)
    return math.comb(dk + 1, 2)


def upper_bound(kernel: Kernel | str, n: int, dk: int, causal: bool = False) -> int:
    """``min(n, D)``: a bound on ``rank A`` that holds for every input (``n`` when causal)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    width = lift_width(kernel, dk)
    if causal or width is None:
        return n
    return min(n, width)


def generic_rank(kernel: Kernel | str, n: int, d: int, dk: int | None = None, causal: bool = False) -> int | None:
    """``rank A`` for tokens in general position and generic weights (see the module table).

    ``dk=None`` is the M form (``d_k = d``).  ``None`` when ``A`` is undefined generically
    (causal centred CSQ without shift: the first row is 0/0).
    """
    kernel = _check_kernel(kernel)
    for name, v in (("n", n), ("d", d)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if dk is None:
        if isinstance(kernel, LinearElu):
            raise ValueError("dk: the linear kernel has no M form; give dk")
        dk = d
    if not isinstance(dk, (int, np.integer)) or not 1 <= dk:
        raise ValueError(f"dk must be a positive integer, got {dk!r}")
    if causal:
        if _centred(kernel) and _shift(kernel) == 0:
            return None
        return n
    if isinstance(kernel, Softmax):
        return n
    if isinstance(kernel, LinearElu):
        return min(n, dk)
    r = min(n, d, dk)
    if _shift(kernel) > 0:
        return min(n, math.comb(r + 2, 2))
    if _centred(kernel):
        if n == 1:
            return None  # the single centred score is 0: A = 0/0
        rp = min(n - 1, d, dk)
        return min(n, math.comb(rp + 1, 2))
    return min(n, math.comb(r + 1, 2))


def generic_formula(kernel: Kernel | str, causal: bool = False) -> str:
    """The closed form of :func:`generic_rank` as text."""
    kernel = _check_kernel(kernel)
    if causal:
        return "n (lower triangular, T_ii > 0)"
    if isinstance(kernel, Softmax):
        return "n (distinct tokens)"
    if isinstance(kernel, LinearElu):
        return "min(n, d_k)"
    if _shift(kernel) > 0:
        return "min(n, (r+1)(r+2)/2), r = min(n, d, d_k)"
    if _centred(kernel):
        return "min(n, r'(r'+1)/2), r' = min(n−1, d, d_k)"
    return "min(n, r(r+1)/2), r = min(n, d, d_k)"


def layernorm_rank(kernel: Kernel | str, n: int, d: int, dk: int | None = None, affine: bool = False) -> int | None:
    r"""``rank A`` for LayerNorm'd tokens in general position (``d ≥ 3``), generic weights.

    Without affine parameters the rows lie on the sphere ``|x|² = d`` inside the hyperplane
    ``x·1 = 0`` (dimension ``u = d − 1`` through 0); with ``γ, β`` they lie on an ellipsoid
    inside an affine hyperplane that misses 0 (so ``1 ∈ col X``).  The lifts lose exactly the
    quadrics through the points that survive the projection ``x ↦ x W_Q``
    (``d_k' = d_k``, or ``d`` in the M form):

    * no affine: poly2 ``C(min(u, d_k')+1, 2)``; csq(c>0) ``C(min(u, d_k')+2, 2) − [d_k' ≥ u]``
      (the sphere is an affine quadric; no homogeneous quadric vanishes on it);
    * affine: poly2 ``C(d+1, 2) − 1`` if ``d_k' ≥ d`` else ``C(d_k'+1, 2)``; csq(c>0)
      ``C(d+1, 2) − 1`` if ``d_k' ≥ d − 1`` else ``C(d_k'+2, 2)`` (the shift adds nothing:
      the hyperplane already supplies the constant);
    * csq(c=0, centred): ``C(min(n−1, d−1, d_k')+1, 2)`` in both cases;

    all capped at ``n``; softmax ``n``; linear ``min(n, d_k)``.  Checked on fuzzed
    LayerNorm tokens in ``tests/test_attention_rank.py``.
    """
    kernel = _check_kernel(kernel)
    if not isinstance(d, (int, np.integer)) or d < 3:
        raise ValueError(f"d: LayerNorm closed forms need d ≥ 3 (d = 2 leaves two possible tokens), got {d!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if dk is None and isinstance(kernel, LinearElu):
        raise ValueError("dk: the linear kernel has no M form; give dk")
    dke = d if dk is None else dk
    if not isinstance(dke, (int, np.integer)) or dke < 1:
        raise ValueError(f"dk must be a positive integer, got {dk!r}")
    if isinstance(kernel, Softmax):
        return n
    if isinstance(kernel, LinearElu):
        return min(n, dke)
    c = _shift(kernel)
    if _centred(kernel) and c == 0:
        if n == 1:
            return None
        return min(n, math.comb(min(n - 1, d - 1, dke) + 1, 2))
    if not affine:
        u = d - 1
        r = min(u, dke)
        if c > 0:
            return min(n, math.comb(r + 2, 2) - int(dke >= u))
        return min(n, math.comb(r + 1, 2))
    if c > 0:
        return min(n, math.comb(d + 1, 2) - 1 if dke >= d - 1 else math.comb(dke + 2, 2))
    return min(n, math.comb(d + 1, 2) - 1 if dke >= d else math.comb(dke + 1, 2))


# ---------------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------------


def unnormalized_matrix(kernel: Kernel | str, head_or_q, k=None, causal: bool = False) -> Float[np.ndarray, "n n"]:
    """``T = κ(S)`` (masked when causal), computed by :mod:`theorem.kernels` in float64.

    For softmax this is ``exp(S)`` itself, without the row-max shift (it overflows for scores
    above ≈ 709; :func:`attention_matrix` is always safe).
    """
    kernel = _check_kernel(kernel)
    q, kk, _, _ = _qk(head_or_q, k)
    q, kk = jnp.asarray(q), jnp.asarray(kk)
    if isinstance(kernel, LinearElu):
        t = kernel.feature_map(q) @ kernel.feature_map(kk).T
        return np.asarray(jnp.tril(t) if causal else t)
    s = q @ kk.T / jnp.sqrt(q.shape[1])
    if isinstance(kernel, Softmax):  # without the max shift: exactly exp(S)
        t = jnp.exp(s)
        return np.asarray(jnp.tril(t) if causal else t)
    return np.asarray(kernel.unnormalized(s, causal=causal))


def attention_matrix(kernel: Kernel | str, head_or_q, k=None, causal: bool = False) -> Float[np.ndarray, "n n"]:
    """``A`` as :meth:`theorem.kernels.Kernel.weights` computes it (float64)."""
    kernel = _check_kernel(kernel)
    q, kk, _, _ = _qk(head_or_q, k)
    return np.asarray(kernel.weights(jnp.asarray(q), jnp.asarray(kk), causal=causal))


def _sym_square(z: Float[np.ndarray, "n m"]) -> Float[np.ndarray, "n D"]:
    """Rows ``z^{⊗2}`` in ``m(m+1)/2`` coordinates with ``⟨z^{⊗2}, w^{⊗2}⟩ = (z·w)²``."""
    m = z.shape[1]
    iu, ju = np.triu_indices(m)
    weight = np.where(iu == ju, 1.0, math.sqrt(2.0))
    return z[:, iu] * z[:, ju] * weight


def feature_lifts(
    kernel: Kernel | str, head_or_q, k=None
) -> tuple[Float[np.ndarray, "n D"], Float[np.ndarray, "n D"]] | None:
    """``(L_Q, L_K)`` with ``T = L_Q L_Kᵀ`` exactly (non-causal); ``None`` for softmax."""
    kernel = _check_kernel(kernel)
    q, kk, _, _ = _qk(head_or_q, k)
    if isinstance(kernel, Softmax):
        return None
    if isinstance(kernel, LinearElu):
        phi = lambda z: np.where(z > 0, z + 1.0, np.exp(np.minimum(z, 0.0)))  # noqa: E731
        return phi(q), phi(kk)
    qs = q / math.sqrt(q.shape[1])
    keys = kk - kk.mean(axis=0, keepdims=True) if _centred(kernel) else kk
    c = _shift(kernel)
    if c > 0:
        n = q.shape[0]
        qs = np.hstack([qs, np.full((n, 1), c)])
        keys = np.hstack([keys, np.ones((n, 1))])
    return _sym_square(qs), _sym_square(keys)


def _lifts_and_values(kernel, head_or_q, k, v):
    """The query/key lifts ``(L_Q, L_K)`` and ``v`` as float64 (n, d_v), checked."""
    lifts = feature_lifts(kernel, head_or_q, k)
    if lifts is None:
        raise ValueError("kernel: softmax has no finite feature lift")
    lq, lk = lifts
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != lq.shape[0]:
        raise ValueError(f"v must have shape (n, d_v) with n = {lq.shape[0]}, got {v.shape}")
    return lq, lk, v


def factorized_output(
    kernel: Kernel | str, head_or_q, k, v: Float[np.ndarray, "n dv"]
) -> Float[np.ndarray, "n dv"]:
    """``A V`` from the lifts in ``O(n·D·d_v)``: ``(L_Q (L_Kᵀ V)) / (L_Q (L_Kᵀ 1))``.

    The exact algorithm that a finite lift allows (Katharopoulos et al. 2020 for ``φ``
    features); it never forms the n×n matrix.  Non-causal; not for softmax.
    """
    lq, lk, v = _lifts_and_values(kernel, head_or_q, k, v)
    num = lq @ (lk.T @ v)
    den = lq @ lk.sum(axis=0)
    return num / den[:, None]


def causal_factorized_output(
    kernel: Kernel | str, head_or_q, k, v: Float[np.ndarray, "n dv"]
) -> Float[np.ndarray, "n dv"]:
    """Causal ``A V`` by prefix sums over the lifts, ``O(n·D·d_v)`` time (Katharopoulos et al. 2020).

    ``out_i = ℓ_Q(q_i)ᵀ Σ_{j≤i} ℓ_K(k_j) v_jᵀ / ℓ_Q(q_i)ᵀ Σ_{j≤i} ℓ_K(k_j)``.  For linear, poly2 and
    uncentred CSQ (a centred CSQ re-centres every prefix, so its key lift is not fixed).  The
    causal ``A`` it computes has rank ``n`` whenever every ``T_ii > 0``: a full-rank attention
    matrix applied in time linear in ``n``.
    """
    kernel = _check_kernel(kernel)
    if _centred(kernel):
        raise ValueError("kernel: a centred CSQ has no fixed key lift under a causal mask")
    lq, lk, v = _lifts_and_values(kernel, head_or_q, k, v)
    state = np.cumsum(lk[:, :, None] * v[:, None, :], axis=0)  # (n, D, d_v): Σ_{j≤i} ℓ_K(k_j) v_jᵀ
    norm = np.cumsum(lk, axis=0)  # (n, D)
    num = np.einsum("nd,ndv->nv", lq, state)
    den = np.einsum("nd,nd->n", lq, norm)
    return num / den[:, None]


# ---------------------------------------------------------------------------------
# measurement with a rounding-error tolerance
# ---------------------------------------------------------------------------------


def _t_with_error(kernel: Kernel, q, kk, dq, dkk, causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """``T`` (softmax: shifted by the row max) and an entrywise first-order bound on its error."""
    n, dk = q.shape
    vis = np.tril(np.ones((n, n))) if causal else np.ones((n, n))
    sc = math.sqrt(dk)
    aq, ak = np.abs(q), np.abs(kk)
    if isinstance(kernel, LinearElu):
        phi = lambda z: np.where(z > 0, z + 1.0, np.exp(np.minimum(z, 0.0)))  # noqa: E731
        fq, fk = phi(q), phi(kk)
        t = (fq @ fk.T) * vis
        dt = (dk + 4) * EPS * t + ((fq * dq) @ fk.T + fq @ (fk * dkk).T) * vis
        return t, dt
    s = q @ kk.T / sc
    ds = (dk + 2) * EPS * (aq @ ak.T) / sc + (dq @ ak.T + aq @ dkk.T) / sc
    if isinstance(kernel, Softmax):
        sm = np.where(vis > 0, s, -np.inf)
        arg = np.argmax(sm, axis=1)
        x = np.where(vis > 0, s - sm[np.arange(n), arg][:, None], 0.0)
        t = np.exp(x) * vis
        rel = ds + ds[np.arange(n), arg][:, None] + EPS * (np.abs(x) + 1.0)
        return t, t * rel
    cnt = vis.sum(axis=1, keepdims=True)
    if _centred(kernel):
        mean = (vis * s).sum(axis=1, keepdims=True) / cnt
        dmean = (vis * ds).sum(axis=1, keepdims=True) / cnt + (cnt + 1) * EPS * (
            (vis * np.abs(s)).sum(axis=1, keepdims=True) / cnt
        )
    else:
        mean = np.zeros((n, 1))
        dmean = np.zeros((n, 1))
    c = _shift(kernel)
    f = s - mean + c
    df = ds + dmean + 2 * EPS * (np.abs(s) + np.abs(mean) + c)
    t = f**2 * vis
    dt = (2 * np.abs(f) * df + EPS * f**2 + df**2) * vis
    return t, dt


def undefined_rows(kernel: Kernel | str, head_or_q, k=None, causal: bool = False) -> np.ndarray:
    """Indices ``i`` where ``Σ_j T_ij`` is 0 or within its rounding error of 0 (``A_i`` is 0/0)."""
    kernel = _check_kernel(kernel)
    q, kk, dq, dkk = _qk(head_or_q, k)
    t, dt = _t_with_error(kernel, q, kk, dq, dkk, causal)
    z = t.sum(axis=1)
    return np.flatnonzero(~(z > dt.sum(axis=1) + q.shape[0] * EPS * z))


def weights_error_bound(kernel: Kernel | str, head_or_q, k=None, causal: bool = False) -> float:
    r"""First-order bound on ``‖fl(A) − A‖_F`` for ``A`` computed from the given factors.

    Entrywise, with ``a_ij = Σ_c |q_ic||k_jc| / √d_k``: the scores carry
    ``δS ≤ (d_k+2)·eps·a + (|δq||k| + |q||δk|)/√d_k``; softmax turns it into a relative
    error ``δS_ij + δS_{i,argmax} + eps(|S_ij − max| + 1)`` of ``T_ij``; the polynomial
    kernels into ``δT = 2|f|·δf + δf² + eps·f²`` with ``f = S̃ + c`` and ``δf`` including the
    centering mean's error; the row division adds ``δT/Z + A·(ΣδT + n·eps·Z)/Z + eps·A``.

    Used as the rank tolerance ``max(σ₁·n·eps, bound)``, it makes the measured rank a
    **lower bound** on the exact rank of ``A``: a counted ``σ_r(fl A) > bound ≥ ‖fl A − A‖₂``
    gives ``σ_r(A) > 0`` (Weyl).  ``inf`` when a row is undefined.
    """
    kernel = _check_kernel(kernel)
    q, kk, dq, dkk = _qk(head_or_q, k)
    n = q.shape[0]
    t, dt = _t_with_error(kernel, q, kk, dq, dkk, causal)
    z = t.sum(axis=1, keepdims=True)
    if np.any(~(z > dt.sum(axis=1, keepdims=True))):
        return float("inf")
    a = t / z
    dz = dt.sum(axis=1, keepdims=True) + n * EPS * z
    da = dt / z + a * dz / (z - dz) + EPS * a
    return float(np.linalg.norm(da))


def measured_rank(kernel: Kernel | str, head_or_q, k=None, causal: bool = False) -> RankResult:
    """Float64 rank of ``A`` (:func:`theorem.numeric.rank.numerical_rank`) with the
    tolerance raised to the rounding bound :func:`weights_error_bound` where that is larger.

    The result is a lower bound on the exact rank (see :func:`weights_error_bound`); it
    equals the exact rank when it meets an upper bound (:func:`predicted_rank`).  Raises
    ``ValueError`` when ``A`` is undefined (a row of ``T`` sums to 0).
    """
    kernel = _check_kernel(kernel)
    bad = undefined_rows(kernel, head_or_q, k, causal)
    if bad.size:
        raise ValueError(f"A is undefined: row {int(bad[0])} of the unnormalized weights sums to 0 (0/0)")
    a = attention_matrix(kernel, head_or_q, k, causal)
    bound = weights_error_bound(kernel, head_or_q, k, causal)
    return numerical_rank(a, reference=bound / (a.shape[0] * EPS))


def score_rank(head_or_q, k=None) -> RankResult:
    """Float64 rank of ``S = Q Kᵀ/√d_k`` (the T3.a quantity)."""
    q, kk, dq, dkk = _qk(head_or_q, k)
    sc = math.sqrt(q.shape[1])
    s = q @ kk.T / sc
    err = (q.shape[1] + 2) * EPS * (np.abs(q) @ np.abs(kk).T) / sc + (dq @ np.abs(kk).T + np.abs(q) @ dkk.T) / sc
    return numerical_rank(s, reference=float(np.linalg.norm(err)) / (s.shape[0] * EPS))


# ---------------------------------------------------------------------------------
# prediction from invariants of the input
# ---------------------------------------------------------------------------------


@dataclass
class RankPrediction:
    """A predicted ``rank A`` with the invariants it came from and the conditions it needs."""

    rank: int | None
    formula: str
    bound: int
    invariants: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.rank is not None and not self.violations

    def to_dict(self) -> dict:
        return {
            "predicted": self.rank,
            "formula": self.formula,
            "bound": self.bound,
            "invariants": self.invariants,
            "conditions": self.conditions,
            "violations": self.violations,
        }


def token_classes(rows: Float[np.ndarray, "n m"], *, modulo_constant: bool = False, tol: float | None = None) -> int:
    """Number of distinct rows (``modulo_constant``: rows equal up to adding a constant).

    Two rows are equal when they differ by at most ``tol`` entrywise (default
    ``64·eps·max|rows|·width``, i.e. only round-off).
    """
    z = np.asarray(rows, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"rows must be a 2-D array, got shape {z.shape}")
    if z.shape[0] == 0:
        return 0
    if modulo_constant:
        z = z - z.mean(axis=1, keepdims=True)
    if tol is None:
        tol = 64 * EPS * max(float(np.max(np.abs(z))), 1e-300) * max(z.shape[1], 1)
    label = -np.ones(z.shape[0], dtype=int)
    classes = 0
    for i in range(z.shape[0]):
        if label[i] >= 0:
            continue
        same = np.max(np.abs(z - z[i]), axis=1) <= tol
        label[same & (label < 0)] = classes
        classes += 1
    return classes


def predicted_rank(kernel: Kernel | str, head: Head, causal: bool = False) -> RankPrediction:
    """``rank A`` from invariants of ``head`` (module doc), with the conditions it rests on.

    Non-causal: softmax → distinct tokens (rows of ``S`` up to constants, columns
    likewise); polynomial and linear kernels → ``min(rank L_Q, rank L_K)``.  Causal: ``n``
    when every ``T_ii > 0``.  The weights are assumed generic (drawn from a density).
    """
    kernel = _check_kernel(kernel)
    if not isinstance(head, Head):
        raise ValueError(f"head must be a Head, got {type(head).__name__}")
    if isinstance(kernel, LinearElu) and head.form == "M":
        raise ValueError("kernel: the linear kernel has no M form; draw the head with dk")
    n = head.n
    bound = upper_bound(kernel, n, head.dk, causal)
    inv: dict = {"n": n, "d": head.d, "d_k": head.dk, "form": head.form}
    conditions = ["generic weights (drawn from a density)"]
    violations: list[str] = []
    bad = undefined_rows(kernel, head, causal=causal)
    if bad.size:
        inv["undefined_rows"] = bad.tolist()
        violations.append("A is undefined: a row of T sums to 0 within rounding (0/0)")
        return RankPrediction(None, "A undefined", bound, inv, conditions, violations)
    if causal:
        t, dt = _t_with_error(kernel, *_qk(head), causal)
        diag, ddiag = np.diag(t), np.diag(dt)
        inv["min_A_ii"] = float(np.min(diag / t.sum(axis=1)))
        if np.all(diag > ddiag):
            conditions.append("every T_ii > 0: T is lower triangular with nonzero diagonal")
            return RankPrediction(n, "n (lower triangular, det = ∏ T_ii ≠ 0)", bound, inv, conditions, violations)
        violations.append("some T_ii = 0 within rounding: a triangular matrix with zero diagonal entries; no closed form")
        return RankPrediction(None, "no closed form", bound, inv, conditions, violations)
    if isinstance(kernel, Softmax):
        s = head.q @ head.k.T / math.sqrt(head.dk)
        rows = token_classes(s, modulo_constant=True)
        cols = token_classes(s.T, modulo_constant=True)
        inv.update(distinct_tokens=token_classes(head.x), row_classes=rows, col_classes=cols)
        conditions.append("exp of distinct score rows is linearly independent (theorem.symbolic.softmax_rank)")
        return RankPrediction(min(rows, cols), "#distinct tokens (rows/columns of S up to constants)", bound,
                              inv, conditions, violations)
    lq, lk = feature_lifts(kernel, head)
    rq, rk = numerical_rank(lq), numerical_rank(lk)
    inv.update(rank_LQ=rq.rank, rank_LK=rk.rank, lift_width=lq.shape[1])
    for name, rr in (("L_Q", rq), ("L_K", rk)):
        if rr.status != "ok":
            violations.append(f"rank of the lift {name} is ill-defined ({rr.summary()})")
    return RankPrediction(min(rq.rank, rk.rank), "min(rank L_Q, rank L_K)", bound, inv, conditions, violations)


# ---------------------------------------------------------------------------------
# degenerate inputs
# ---------------------------------------------------------------------------------

TOKEN_FAMILIES: tuple[str, ...] = (
    "gaussian",
    "repeated_half",  # the second half repeats the first half
    "one_repeat",  # x_1 = x_0
    "sign_flip",  # x_1 = −x_0 (same x^{⊗2})
    "low_rank_half",  # rank ⌈d/2⌉
    "rank_one",
    "layernorm_exact",  # zero mean, unit variance rows (no ε, no affine)
    "layernorm_exact_affine",  # γ ∘ layernorm_exact + β
    "constant_column",  # x_i0 = 1 (a bias feature: 1 ∈ col X)
    "sphere",  # unit-norm rows
    "centred",  # columns of X have zero mean
    "integer",  # small integers (exact structure, ties)
)
"""The token families the rank measurements sweep (definitions in :mod:`theorem.util.tokens`)."""


def degenerate_tokens(family: str, n: int, d: int, seed: int = 0) -> Float[np.ndarray, "n d"]:
    """Tokens ``X`` (n×d) of ``family`` (any of :data:`theorem.util.tokens.FAMILIES`), drawn from ``seed``."""
    return make_tokens(family, n, d, seed)
