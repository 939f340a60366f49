r"""The pulled-back gradient space of a head whose query and key maps have biases.

A real head computes ``Q = X W_Q + 1 b_Qᵀ`` and ``K = X W_K + 1 b_Kᵀ`` (``W: d×k``, ``b ∈ Rᵏ``),
``S = Q Kᵀ/√k``, ``A = softmax_rows(S)``.  With the biases as parameters too,
``θ = (W_Q, b_Q, W_K, b_K)`` has ``2(d+1)k`` coordinates.

**A bias is a weight on a constant token coordinate.**  With ``X̃ = [X, 1] ∈ R^{n×(d+1)}`` and
``W̃ = [W; bᵀ] ∈ R^{(d+1)×k}``, ``Q = X̃ W̃_Q`` and ``K = X̃ W̃_K`` *exactly*, and ``θ ↦ (W̃_Q, W̃_K)``
is a bijection (every entry of ``W̃`` is a free parameter; nothing is restricted).  So the biased
head is the factorized head of :mod:`theorem.numeric.pullback` on the augmented tokens ``X̃``, and
its closed forms (``docs/pullback.md``) apply with ``X̃`` in place of ``X``:

``dS = X̃ dW̃_Q Kᵀ/√k + Q dW̃_Kᵀ X̃ᵀ/√k``, image ``U ⊗ K + Q ⊗ U`` with ``U = col X̃``
(``Q, K ⊆ U``), so

    rank(scores) = r̃·k₁ + q₁·r̃ − q₁·k₁,    r̃ = rank [X, 1] = rank X + 1 − [1 ∈ col X],

``q₁ = rank Q``, ``k₁ = rank K`` (biases included).  Softmax rows are invariant under
``S_i ↦ S_i + c_i 1ᵀ``; the kernel of the normalization on the image is ``{c 1ᵀ} ∩ image``, and
``c 1ᵀ ∈ U ⊗ K + Q ⊗ U`` iff ``c ∈ U`` and ``1 ∈ K``, or ``c ∈ Q`` (with ``1 ∈ U``: always true
here, the ones column is in ``X̃``).  Hence

    rank(weights) = r̃·k₁ + q₁·r̃ − q₁·k₁ − ([1 ∈ K]·r̃ + [1 ∉ K]·q₁).

The ``q₁`` directions lost are the key bias: ``dK = 1 db_Kᵀ`` gives ``dS = Q db_K 1ᵀ``, a row
constant, invisible to softmax (its ``q₁``-dimensional image ``Q ⊗ 1`` is exactly what is lost).

**What the biases add.**  ``2k`` ambient coordinates, but for the dimension only through ``r̃``:
when ``1 ∈ col X`` already, ``r̃ = r`` and the biases add *nothing* (they are redundant with the
weights: ``1 = X w₀`` gives ``1 bᵀ = X w₀ bᵀ``).  LayerNorm with affine parameters puts ``1`` in
``col X`` (``docs/pullback.md``), and every attention input of a post-LN BERT is a LayerNorm
output, so on the real model the biases change the ambient dimension (``2(d+1)k``) but not the
pulled-back one; the extra null directions are ``v aᵀ`` for ``v ∈ ker X̃`` (``2k·(d + 1 − r̃)``).

**Sub-heads.**  The full head has ``2(d+1)k = 24,640`` coordinates at ``d = 384, k = 32`` and a
rank near ``2dk − k²``: measuring it for ``n > d`` needs the singular values of a ~24,600² matrix
(≈ 4·10¹³ flops, about an hour on two cores), done once for one head by ``python -m
theorem.real.sweep --only full-head``.  The ``gram`` route (eigenvalues of ``JᵀJ``, a quarter of the
cost) squares the spectrum's dynamic range: a trial on that head counted the closed form's rank but
did not pass the gap test, so the recorded measurement uses the sketch and an SVD.  For routine
checks, ``columns = k'`` varies only the first ``k'`` query/key
coordinates (the others stay at their values and still shape ``A``); the same derivation gives the
closed forms above with ``Q, K`` replaced by their first ``k'`` columns ``Q', K'`` (the null
direction of softmax is still ``1``).  ``biases=False`` keeps the biases as constants (θ = the
weights only): then ``U = col X`` and the closed form needs ``Q', K' ⊆ col X`` (true when
``1 ∈ col X``), which :func:`predict` checks.

**Saturation.**  ``∂ log A = diag(1/A) ∂A`` with ``A > 0`` (softmax is strictly positive), so
``θ ↦ log A`` has the same pulled-back dimension as ``θ ↦ A``; its row Jacobian ``I − 1 aᵀ`` has
norm ``≤ 1 + √n`` whatever the scores, while ``diag(a) − a aᵀ`` has entries as small as the
smallest weight.  Real heads put weights down to 10⁻¹⁰ and below, where the ``weights`` Jacobian is
not resolvable in float64; the ``log-weights`` map measures the same dimension without that loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from scipy.linalg import eigh

from theorem.numeric.head import Head
from theorem.numeric.rank import DEFAULT_MIN_GAP, RankResult, numerical_rank, rank_from_singular_values
from theorem.numeric.sketch import rank_one_cotangents, stacked_norm
from theorem.util.precision import float64

__all__ = [
    "BIAS_MAPS",
    "BiasedHead",
    "BiasMeasurement",
    "augment",
    "augmented_weights",
    "measure",
    "gram",
]

BIAS_MAPS = ("scores", "weights", "log-weights")
EPS = float(np.finfo(np.float64).eps)


def augment(x: Float[np.ndarray, "n d"]) -> Float[np.ndarray, "n d+1"]:
    """``X̃ = [X, 1]``: the constant coordinate a bias multiplies."""
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)


def augmented_weights(w: Float[np.ndarray, "d k"], b: Float[np.ndarray, " k"]) -> Float[np.ndarray, "d+1 k"]:
    """``W̃ = [W; bᵀ]``, so that ``X̃ W̃ = X W + 1 bᵀ``."""
    return np.concatenate([np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)[None, :]], axis=0)


@dataclass(frozen=True)
class BiasedHead:
    """One head at fixed tokens ``x`` (n×d) with query/key weights and biases.

    ``map``: ``scores`` (θ ↦ S), ``weights`` (θ ↦ A, softmax) or ``log-weights`` (θ ↦ log A).
    ``columns``: vary the first ``columns`` query/key coordinates only (None: all ``k``).
    ``biases``: the varied columns' biases are parameters (True) or constants (False).
    """

    x: np.ndarray
    w_q: np.ndarray
    b_q: np.ndarray
    w_k: np.ndarray
    b_k: np.ndarray
    map: str = "log-weights"
    columns: int | None = None
    biases: bool = True

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x: tokens must be a non-empty (n, d) array, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x: tokens contain NaN or Inf")
        d = x.shape[1]
        arrays = {}
        for name in ("w_q", "w_k"):
            w = np.asarray(getattr(self, name), dtype=np.float64)
            if w.ndim != 2 or w.shape[0] != d or w.shape[1] < 1:
                raise ValueError(f"{name}: expected a (d={d}, k) matrix, got shape {w.shape}")
            arrays[name] = w
        k = arrays["w_q"].shape[1]
        if arrays["w_k"].shape[1] != k:
            raise ValueError(f"w_k: expected k = {k} columns like w_q, got {arrays['w_k'].shape[1]}")
        for name in ("b_q", "b_k"):
            b = np.asarray(getattr(self, name), dtype=np.float64)
            if b.shape != (k,):
                raise ValueError(f"{name}: expected a bias of shape ({k},), got {b.shape}")
            arrays[name] = b
        for name, a in arrays.items():
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name}: contains NaN or Inf")
        if self.map not in BIAS_MAPS:
            raise ValueError(f"map: unknown map {self.map!r}; choose one of {', '.join(BIAS_MAPS)}")
        if self.columns is not None and (not isinstance(self.columns, (int, np.integer)) or not 1 <= self.columns <= k):
            raise ValueError(f"columns: must be an integer in 1..{k} (the head width), got {self.columns!r}")
        object.__setattr__(self, "x", x)
        for name, a in arrays.items():
            object.__setattr__(self, name, a)

    @classmethod
    def draw(cls, x: np.ndarray, k: int, seed: int = 0, bias_scale: float = 1.0, **kw) -> "BiasedHead":
        """Gaussian weights ``N(0, 1/d)`` and biases ``N(0, bias_scale²/d)`` (:meth:`Head.draw`)."""
        return cls.from_head(Head.draw(x, k, bias=True, seed=seed, bias_scale=bias_scale, value=False), **kw)

    @classmethod
    def from_head(cls, head: Head, **kw) -> "BiasedHead":
        """The measurement of a biased head (``map``, ``columns``, ``biases`` as keywords)."""
        if not head.has_bias or head.form != "factorized":
            raise ValueError("a biased measurement needs a factorized head with b_q and b_k")
        return cls(head.x, head.w_q, head.b_q, head.w_k, head.b_k, **kw)

    @property
    def head(self) -> Head:
        return Head(self.x, self.w_q, self.w_k, self.b_q, self.b_k)

    # --- shapes ------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    @property
    def k(self) -> int:
        return self.w_q.shape[1]

    @property
    def kv(self) -> int:
        """Number of query/key coordinates varied."""
        return self.k if self.columns is None else int(self.columns)

    @property
    def rows(self) -> int:
        """Rows of ``W̃`` that are parameters: d + 1 with biases, d without."""
        return self.d + 1 if self.biases else self.d

    @property
    def ambient_dim(self) -> int:
        """``2(d+1)k'`` with biases, ``2dk'`` without."""
        return 2 * self.rows * self.kv

    @property
    def output_dim(self) -> int:
        return self.n * self.n

    # --- values ------------------------------------------------------------------------
    def wq_aug(self) -> np.ndarray:
        return augmented_weights(self.w_q, self.b_q)

    def wk_aug(self) -> np.ndarray:
        return augmented_weights(self.w_k, self.b_k)

    def queries(self) -> np.ndarray:
        """``Q = X W_Q + 1 b_Qᵀ`` (n×k)."""
        return self.x @ self.w_q + self.b_q

    def keys(self) -> np.ndarray:
        return self.x @ self.w_k + self.b_k

    def scores(self) -> np.ndarray:
        return self.queries() @ self.keys().T / math.sqrt(self.k)

    def theta0(self) -> Float[Array, " p"]:
        r, kv = self.rows, self.kv
        return jnp.concatenate([jnp.asarray(self.wq_aug()[:r, :kv]).ravel(), jnp.asarray(self.wk_aug()[:r, :kv]).ravel()])

    def forward(self) -> Callable[[Float[Array, " p"]], Float[Array, " m"]]:
        xa, wq, wk = jnp.asarray(augment(self.x)), jnp.asarray(self.wq_aug()), jnp.asarray(self.wk_aug())
        return lambda theta: _forward(theta, xa, wq, wk, self.rows, self.kv, self.map)

    def jacobian_scale(self) -> float:
        """Upper bound on ``‖J‖₂`` from its chain-rule factors (the scale round-off is relative to)."""
        xa = augment(self.x)
        q = xa @ self.wq_aug()[:, : self.kv]
        kk = xa @ self.wk_aug()[:, : self.kv]
        norm = lambda a: float(np.linalg.norm(a, 2))  # noqa: E731
        bound = norm(xa) * (norm(q) + norm(kk)) / math.sqrt(self.k)
        if self.map == "scores":
            return bound
        s = self.scores()
        a = np.exp(s - s.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        if self.map == "weights":
            return bound * float(a.max())
        return bound * (1.0 + math.sqrt(self.n) * float(np.max(np.linalg.norm(a, axis=1))))

    def describe(self) -> str:
        part = "all k" if self.columns is None else f"first {self.kv} of k"
        par = "(W_Q, b_Q, W_K, b_K)" if self.biases else "(W_Q, W_K), biases fixed"
        return f"softmax {self.map} map, θ = {par}, {part} = {self.k} coordinates, n = {self.n}, d = {self.d}"


def _replace(w, part, rows, kv):
    return w.at[:rows, :kv].set(part.reshape(rows, kv))


def _forward(theta, xa, wq, wk, rows, kv, map):
    p = rows * kv
    q = xa @ _replace(wq, theta[:p], rows, kv)
    k = xa @ _replace(wk, theta[p:], rows, kv)
    s = q @ k.T / math.sqrt(wq.shape[1])
    if map == "scores":
        return s.ravel()
    if map == "weights":
        return jax.nn.softmax(s, axis=-1).ravel()
    return jax.nn.log_softmax(s, axis=-1).ravel()


@partial(jax.jit, static_argnames=("rows", "kv", "map", "reverse"))
def _jacobian(theta, xa, wq, wk, rows, kv, map, reverse):
    f = lambda t: _forward(t, xa, wq, wk, rows, kv, map)  # noqa: E731
    return (jax.jacrev if reverse else jax.jacfwd)(f)(theta)


@partial(jax.jit, static_argnames=("rows", "kv", "map"))
def _pull_batch(theta, xa, wq, wk, u, v, rows, kv, map):
    f = lambda t: _forward(t, xa, wq, wk, rows, kv, map)  # noqa: E731
    _, vjp = jax.vjp(f, theta)
    cot = (u[:, :, None] * v[:, None, :]).reshape(u.shape[0], -1)
    return jax.vmap(lambda c: vjp(c)[0])(cot)


@partial(jax.jit, static_argnames=("rows", "kv", "map"))
def _gram_columns(theta, xa, wq, wk, basis, rows, kv, map):
    """``Jᵀ J E`` for a batch of basis vectors ``E`` (rows of ``basis``): one jvp and one vjp each."""
    f = lambda t: _forward(t, xa, wq, wk, rows, kv, map)  # noqa: E731
    _, vjp = jax.vjp(f, theta)
    return jax.vmap(lambda e: vjp(jax.jvp(f, (theta,), (e,))[1])[0])(basis)


@float64
def gram(head: "BiasedHead", batch: int = 128, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The Gram matrix ``G = Jᵀ J`` (p×p) of ``J = ∂ vec(map)/∂θ``, built column by column from
    jvp/vjp pairs: never more than ``batch`` columns of ``J`` in memory (``J`` itself, n²×p, would
    not fit: 31 GiB for a whole real head at n = 400)."""
    theta = head.theta0()
    xa, wq, wk = jnp.asarray(augment(head.x)), jnp.asarray(head.wq_aug()), jnp.asarray(head.wk_aug())
    p = head.ambient_dim
    g = np.empty((p, p))
    for start in range(0, p, batch):
        stop = min(p, start + batch)
        basis = jnp.zeros((batch, p)).at[jnp.arange(stop - start), jnp.arange(start, stop)].set(1.0)
        g[start:stop] = np.asarray(_gram_columns(theta, xa, wq, wk, basis, head.rows, head.kv, head.map))[: stop - start]
        if progress is not None:
            progress(stop - start)
    return g


@dataclass(frozen=True)
class BiasMeasurement:
    rank: RankResult
    route: str
    samples: int
    seconds: float

    def to_dict(self) -> dict:
        return {"rank": self.rank.rank, "status": self.rank.status, "tolerance": self.rank.tolerance,
                "gap": None if np.isinf(self.rank.gap) else float(self.rank.gap), "route": self.route,
                "samples": self.samples, "seconds": round(self.seconds, 3)}


@float64
def measure(
    head: BiasedHead,
    *,
    route: str = "auto",
    dense_limit: int = 40_000_000,
    oversample: int = 16,
    batch: int = 64,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> BiasMeasurement:
    """Measured ``rank ∂ vec(map)/∂θ``: the dense Jacobian, or ``min(p, n²) + oversample`` pulled-back
    rank-one cotangents ``Jᵀ(u vᵀ)`` (the sketch; rank-one matrices span every matrix), or (``gram``)
    the eigenvalues of ``Jᵀ J`` built from jvp/vjp pairs (:func:`gram`; for p too large for the others).
    The ``gram`` route reports eigenvalues of ``JᵀJ`` (σᵢ²) in the result's singular values."""
    if route not in ("auto", "dense", "sketch", "gram"):
        raise ValueError(f"route: unknown route {route!r}; choose auto, dense, sketch or gram")
    start = time.perf_counter()
    if route == "gram":
        # rank Jᵀ J = rank J.  G's eigenvalues are σᵢ², its rounding is eps·‖J‖² (times p): it resolves
        # σᵢ down to about √(p·eps)·σ₁ — coarser than an SVD of J, but it needs p² numbers, not n²·p.
        # A gap of g in σ is g² in σ²: the gap asked of the eigenvalues is the square of the usual one.
        g = gram(head, progress=progress)
        g = (g + g.T) / 2  # the two halves are the same sums in a different order: symmetrize
        lam = eigh(g, eigvals_only=True, overwrite_a=True, check_finite=False, driver="evd")
        # G = Jᵀ(J e) with J's rounding eps·‖J‖-bound (``jacobian_scale``): G's is about σ₁ times that
        ref = math.sqrt(max(float(np.max(lam)), 0.0)) * head.jacobian_scale()
        result = rank_from_singular_values(np.abs(lam), (head.ambient_dim, head.ambient_dim),
                                           reference=ref, min_gap=DEFAULT_MIN_GAP**2)
        return BiasMeasurement(result, route, head.ambient_dim, time.perf_counter() - start)
    theta = head.theta0()
    xa, wq, wk = jnp.asarray(augment(head.x)), jnp.asarray(head.wq_aug()), jnp.asarray(head.wk_aug())
    if route == "auto":
        route = "dense" if head.output_dim * head.ambient_dim <= dense_limit else "sketch"
    if route == "dense":
        jac = np.asarray(_jacobian(theta, xa, wq, wk, head.rows, head.kv, head.map, head.output_dim < head.ambient_dim))
        result = numerical_rank(jac, reference=head.jacobian_scale())
        samples = jac.shape[0]
    else:
        samples = min(head.ambient_dim, head.output_dim) + oversample
        rows, us, vs = [], [], []
        for u, v in rank_one_cotangents(samples, head.n, head.n, seed=seed, batch=batch):
            pad = batch - u.shape[0]  # one compiled shape: the last batch is padded, its extra rows dropped
            up, vp = (np.pad(a, ((0, pad), (0, 0))) if pad else a for a in (u, v))
            rows.append(np.asarray(_pull_batch(theta, xa, wq, wk, jnp.asarray(up), jnp.asarray(vp), head.rows,
                                               head.kv, head.map))[: u.shape[0]])
            us.append(u)
            vs.append(v)
            if progress is not None:
                progress(u.shape[0])
        grads = np.concatenate(rows)
        sv = np.linalg.svd(grads, compute_uv=False)
        # G = Ω J: its rounding is of order eps·‖Ω‖₂·‖J‖ (‖Ω‖₂ computed, not the √rank-larger ‖Ω‖_F)
        ref = head.jacobian_scale() * stacked_norm(np.concatenate(us), np.concatenate(vs))
        result = rank_from_singular_values(sv, grads.shape, reference=ref)
    return BiasMeasurement(result, route, samples, time.perf_counter() - start)
