r"""Best CSQ and poly2 approximations of a real head's attention pattern, by optimization.

Given the layer input ``X`` (n×d) and the real head's weights ``A`` (n×n, softmax), fit new query
and key maps ``x ↦ x W_Q + b_Q``, ``x ↦ x W_K + b_K`` (``W: d×d_k``, the head's own width) for a
score kernel κ, minimizing the mean row Kullback–Leibler divergence

    L = (1/n) Σ_i Σ_j A_ij (log A_ij − log Â_ij),   Â = normalize_rows(κ(X W_Q + b_Q, X W_K + b_K)),

with Adam (the one loop :func:`theorem.training.loop.fit`: gradients clipped to norm 1, cosine-decayed
step size; the parameters of the lowest loss seen are kept), starting from the real head's maps (for CSQ the shift ``c = softplus(ρ)`` is
fitted too, from ``c = 1``).  The reported error is the mean total-variation distance between rows,
``TV = (1/n) Σ_i ½ Σ_j |A_ij − Â_ij| ∈ [0, 1]``, beside the same distance for the uniform pattern
(what a head with no information would give).  The softmax class contains the real head, so its
best error is 0 (the starting point); a nonzero best error for CSQ or poly2 is what the degree-2
kernels cannot reproduce *with this many steps from this start* — an upper bound on the best
achievable error, not the infimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels import CSQ, Poly2, Softmax, scaled_scores
from theorem.training.loop import FitResult as LoopResult
from theorem.training.loop import fit as loop_fit
from theorem.util.precision import float64

__all__ = ["FIT_KERNELS", "FitResult", "log_weights", "fit_pattern", "tv_distance"]

FIT_KERNELS = ("csq", "poly2", "softmax")
_TINY = 1e-300
_SOFTMAX, _POLY2, _CENTER = Softmax(), Poly2(), CSQ(shift=0.0, center=True)


def log_weights(kernel: str, q: Float[Array, "n dk"], k: Float[Array, "n dk"], shift=1.0) -> Float[Array, "n n"]:
    """``log Â`` row by row, from :mod:`theorem.kernels`: softmax, poly2 (``S²``) and centered CSQ
    (``(S − mean_j S + c)²``, ``c = shift``, which may be a traced value: the fit learns it).

    CSQ with a learned shift is built from the kernels' own pieces — the centering of
    ``CSQ(shift=0).shifted_scores`` and poly2's log-weights of ``S̃ + c`` — since ``CSQ.shift`` is typed
    ``float`` (an array shift fails the runtime type check).
    """
    if kernel == "softmax":
        return _SOFTMAX.log_weights(q, k)
    if kernel == "poly2":
        return _POLY2.log_weights(q, k)
    if kernel == "csq":
        return _POLY2.log_weights_from_scores(_CENTER.shifted_scores(scaled_scores(q, k)) + shift)
    raise ValueError(f"kernel: choose one of {', '.join(FIT_KERNELS)}, got {kernel!r}")


def tv_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the total-variation distance ``½ Σ_j |a_ij − b_ij|``."""
    return float(np.mean(0.5 * np.sum(np.abs(np.asarray(a) - np.asarray(b)), axis=1)))


@dataclass
class FitResult:
    kernel: str
    n: int
    steps: int
    tv: float  # mean row TV distance of the best fit
    kl: float  # mean row KL at the best fit
    tv_start: float  # TV at the starting point (the real maps under this kernel)
    tv_uniform: float  # TV of the uniform pattern
    shift: float | None
    seconds: float
    history: list[float] = field(default_factory=list)
    fitted: np.ndarray | None = None  # Â at the best fit (kept only when asked)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("fitted")
        return d


def _params(w_q, b_q, w_k, b_k, kernel):
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in dict(wq=w_q, bq=b_q, wk=w_k, bk=b_k).items()}
    if kernel == "csq":
        p["rho"] = jnp.asarray(math.log(math.expm1(1.0)))  # softplus(ρ) = 1
    return p


def _logw(p, x, kernel):
    shift = jax.nn.softplus(p["rho"]) if kernel == "csq" else 1.0
    return log_weights(kernel, x @ p["wq"] + p["bq"], x @ p["wk"] + p["bk"], shift)


def _fit_jit(loss, p0, steps: int, lr: float) -> LoopResult:
    """The one loop (:func:`theorem.training.loop.fit`): Adam, clipped to norm 1, cosine-decayed, best kept."""
    return jax.jit(lambda p: loop_fit(loss, p, steps=steps, learning_rate=lr, clip=1.0, schedule="cosine",
                                      track_best=True))(p0)


@float64
def fit_pattern(
    x: Float[np.ndarray, "n d"],
    target: Float[np.ndarray, "n n"],
    w_q, b_q, w_k, b_k,
    kernel: str = "csq",
    *,
    steps: int = 200,
    lr: float = 2e-3,
    keep: bool = False,
) -> FitResult:
    """Fit ``kernel``'s query/key maps to the row-stochastic ``target`` (see the module docstring)."""
    if kernel not in FIT_KERNELS:
        raise ValueError(f"kernel: choose one of {', '.join(FIT_KERNELS)}, got {kernel!r}")
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    n = x.shape[0]
    if target.shape != (n, n):
        raise ValueError(f"target: expected an ({n}, {n}) pattern for {n} tokens, got {target.shape}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: must be an integer ≥ 0, got {steps!r}")
    start = time.perf_counter()
    xj, tj = jnp.asarray(x), jnp.asarray(target)
    log_t = jnp.log(jnp.maximum(tj, _TINY))
    neg_entropy = jnp.sum(tj * log_t) / n

    def loss(p):
        return neg_entropy - jnp.sum(tj * _logw(p, xj, kernel)) / n

    def pattern(p):
        return np.exp(np.asarray(_logw(p, xj, kernel)))

    p0 = _params(w_q, b_q, w_k, b_k, kernel)
    tv_start = tv_distance(target, pattern(p0))
    res = _fit_jit(loss, p0, steps, lr)
    best, best_p, history = float(res.best_loss), res.best_params, np.asarray(res.losses).tolist()
    fitted = pattern(best_p)
    shift = float(jax.nn.softplus(best_p["rho"])) if kernel == "csq" else None
    return FitResult(kernel, n, steps, tv_distance(target, fitted), best, tv_start,
                     tv_distance(target, np.full((n, n), 1.0 / n)), shift, time.perf_counter() - start,
                     history[:: max(1, steps // 50)], fitted if keep else None)
