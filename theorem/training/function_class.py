"""Attention rows one kernel realises and another cannot, with measured approximation gaps.

For tokens ``X`` (n×d) and ``θ = M`` (d×d), row ``i`` of the weights is
``A_i(M) = normalize(κ(S_i))`` with ``S_ij = x_iᵀ M x_j / √d``.  The *gap* of a kernel to a
target row ``p`` is ``inf_M ‖A_i(M) − p‖₁`` (measured by optimization over ``M``, or by a
one-dimensional search where ``M`` is a scalar).

**Antipodal one-hot** (softmax and CSQ realise it, poly2 cannot).  If ``x_b = −x_a`` then
``S_ib = −S_ia`` for every ``M``; poly2's weights depend on ``S²`` only, so ``A_ia = A_ib`` and
``A_ia ≤ ½``: the gap to ``e_a`` is at least ``2(1 − ½) = 1`` (exact lower bound; equality when
the other keys can be given weight 0).  Softmax: ``A_ia → 1`` as ``M = t·x_i x_aᵀ``, ``t → ∞``
(gap → 0, never 0).  CSQ (``c > 0``): the centered scores ``S̃_ij = q·(x_j − x̄)`` with
``q = Mᵀx_i/√d`` can be set to ``−c`` for every ``j ≠ a`` when the centered keys are linearly
independent (``n − 1 ≤ d``), giving ``A_ia = 1`` *exactly*: :func:`csq_one_hot_certificate`
constructs that ``M``.  The minimal instance is ``n = 2``, ``d = 1``, ``X = (1, −1)ᵀ``.

**Non-monotone row** (CSQ realises it, softmax cannot).  Collinear keys ``x_j = t_j`` (d = 1),
``t = (−2, −1, 0, 1, 2)``, query ``x_i = 1``: ``S_ij = m t_j``.  CSQ (c = 1) at ``m = 1`` gives
``p ∝ ((−1)², 0², 1², 2², 3²) = (1, 0, 1, 4, 9)/15``, which is not monotone in the score.
Softmax rows ``∝ exp(m t_j)`` are monotone in ``t`` for every ``m``, so
``‖A − p‖₁ ≥ min(p₋₂ − p₋₁, p₂ − p₁) = min(1/15, 5/15) = 1/15`` (exact lower bound).
poly2 rows are ``∝ t_j²`` for every ``m ≠ 0``: its gap is exactly ``‖(4,1,0,1,4)/10 − p‖₁ = 13/15``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import get_kernel
from theorem.training._jit import fast_jit
from theorem.training.loop import fit
from theorem.util.precision import float64

__all__ = [
    "row_weights",
    "l1_gap",
    "optimize_gap",
    "csq_one_hot_certificate",
    "antipodal_tokens",
    "antipodal_gaps",
    "nonmonotone_gaps",
    "poly2_antipodal_weight_difference",
]


def row_weights(kernel, x: jnp.ndarray, m: jnp.ndarray, i: int) -> jnp.ndarray:
    """Row ``i`` of ``normalize(κ(X M Xᵀ/√d))``."""
    s = x @ m @ x.T / math.sqrt(x.shape[1])
    return kernel.weights_from_scores(s)[i]


def l1_gap(a, p) -> float:
    return float(np.sum(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(p, dtype=np.float64))))


@float64
def optimize_gap(
    kernel_name: str,
    params: dict,
    x: np.ndarray,
    i: int,
    target: np.ndarray,
    *,
    steps: int = 1500,
    restarts: int = 4,
    lr: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """``min_M ‖A_i(M) − p‖₁`` by Adam (:func:`theorem.training.loop.fit`, non-finite gradient entries
    zeroed, lowest gap kept) from ``restarts`` random starts (all vmapped)."""
    kern = get_kernel(kernel_name, **params)
    x = jnp.asarray(x, dtype=jnp.float64)
    p = jnp.asarray(target, dtype=jnp.float64)
    d = x.shape[1]

    def gap(m):
        return jnp.sum(jnp.abs(row_weights(kern, x, m, i) - p))

    def run(m0):
        res = fit(gap, m0, steps=steps, learning_rate=lr, zero_nonfinite_grads=True, track_best=True)
        return res.params, res.best_loss

    starts = jax.random.normal(jax.random.PRNGKey(seed), (restarts, d, d))
    ms, best = fast_jit(jax.vmap(run))(starts)
    k = int(jnp.argmin(best))
    return {"kernel": kern.describe(), "gap": float(best[k]), "restarts": restarts, "steps": steps,
            "norm_M": float(jnp.linalg.norm(ms[k]))}


def antipodal_tokens(n: int, d: int, seed: int = 0) -> np.ndarray:
    """``n`` Gaussian tokens with ``x_1 = −x_0`` (the query is token 0, the target key is 0)."""
    if n < 2 or d < 1:
        raise ValueError(f"need n ≥ 2 and d ≥ 1, got n={n}, d={d}")
    x = np.random.default_rng(seed).standard_normal((n, d))
    x[1] = -x[0]
    return x


def csq_one_hot_certificate(x: np.ndarray, i: int, a: int, shift: float = 1.0) -> np.ndarray:
    """An ``M`` whose centered-CSQ row ``i`` is exactly ``e_a`` (needs independent centered keys).

    Solve ``q·(x_j − x̄) = −c`` for all ``j ≠ a`` (least squares; exact when the centered keys
    ``j ≠ a`` are independent), then ``M = √d · x_i qᵀ / ‖x_i‖²`` so that ``x_iᵀ M/√d = qᵀ``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    xc = x - x.mean(axis=0)
    others = [j for j in range(n) if j != a]
    q, *_ = np.linalg.lstsq(xc[others], -shift * np.ones(len(others)), rcond=None)
    return math.sqrt(d) * np.outer(x[i], q) / float(x[i] @ x[i])


def poly2_antipodal_weight_difference(x: np.ndarray, m: np.ndarray, i: int, a: int, b: int) -> float:
    """``|A_ia − A_ib|`` for poly2 (0 whenever ``x_b = −x_a``, for every ``M``)."""
    w = row_weights(get_kernel("poly2"), jnp.asarray(x), jnp.asarray(m), i)
    return float(abs(w[a] - w[b]))


@float64
def antipodal_gaps(n: int = 4, d: int = 3, seed: int = 0, steps: int = 1500, restarts: int = 4) -> dict[str, Any]:
    """Gaps to the one-hot row ``e_0`` (query token 0, antipode at token 1) for each kernel."""
    x = antipodal_tokens(n, d, seed)
    target = np.eye(n)[0]
    rows: dict[str, Any] = {}
    for name, params in (("softmax", {}), ("poly2", {}), ("csq", {"shift": 1.0, "center": True})):
        res = optimize_gap(name, params, x, 0, target, steps=steps, restarts=restarts, seed=seed)
        rows[res["kernel"]] = res
    cert = csq_one_hot_certificate(x, 0, 0, 1.0)
    cert_row = np.asarray(row_weights(get_kernel("csq"), jnp.asarray(x), jnp.asarray(cert), 0))
    # poly2: the two antipodal weights are equal at every M; check on the optimizer's best M-free draws
    rng = np.random.default_rng(seed + 1)
    diffs = [poly2_antipodal_weight_difference(x, rng.standard_normal((d, d)), 0, 0, 1) for _ in range(20)]
    return {
        "n": n,
        "d": d,
        "tokens": x.tolist(),
        "target": target.tolist(),
        "gaps": rows,
        "predicted": {"softmax": "inf = 0 (not attained)", "poly2": "≥ 1 (exact bound)",
                      "csq(shift=1, center=True)": "0 (attained)" if n - 1 <= d else "unknown (n − 1 > d)"},
        "poly2_lower_bound": 1.0,
        "csq_certificate_gap": l1_gap(cert_row, target),
        "poly2_max_antipodal_weight_difference": max(diffs),
    }


@float64
def nonmonotone_gaps(grid: int = 20001, span: float = 60.0) -> dict[str, Any]:
    """Gaps to ``p = (1, 0, 1, 4, 9)/15`` on collinear keys ``t = −2..2``; ``M = m`` is a scalar."""
    t = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    x = t[:, None]
    i = 3  # the token t = 1
    p_frac = [Fraction(v, 15) for v in (1, 0, 1, 4, 9)]
    p = np.array([float(v) for v in p_frac])
    ms = np.linspace(-span, span, grid)
    out: dict[str, Any] = {"keys": t.tolist(), "target": [str(v) for v in p_frac], "query_token": float(t[i])}
    for name, params in (("softmax", {}), ("poly2", {}), ("csq", {"shift": 1.0, "center": True})):
        kern = get_kernel(name, **params)
        rows = jax.vmap(lambda m: row_weights(kern, jnp.asarray(x), jnp.reshape(m, (1, 1)), i))(jnp.asarray(ms))
        gaps = np.sum(np.abs(np.asarray(rows) - p), axis=1)
        gaps = np.where(np.isfinite(gaps), gaps, np.inf)
        k = int(np.argmin(gaps))
        # refine around the best grid point by golden-section search on the scalar m
        lo, hi = ms[max(k - 1, 0)], ms[min(k + 1, grid - 1)]
        fj = fast_jit(lambda m: jnp.sum(jnp.abs(row_weights(kern, jnp.asarray(x), jnp.full((1, 1), m), i) - p)))
        f = lambda m: float(fj(m))  # noqa: E731
        g = (math.sqrt(5) - 1) / 2
        a_, b_ = lo, hi
        for _ in range(80):
            c_, d_ = b_ - g * (b_ - a_), a_ + g * (b_ - a_)
            if f(c_) < f(d_):
                b_ = d_
            else:
                a_ = c_
        m_best = 0.5 * (a_ + b_)
        out[kern.describe()] = {"gap": min(f(m_best), float(gaps[k])), "argmin_m": float(m_best)}
    poly_row = [Fraction(4, 10), Fraction(1, 10), Fraction(0), Fraction(1, 10), Fraction(4, 10)]
    out["predicted"] = {
        "softmax": {"lower_bound": "1/15", "value": 1 / 15},
        "poly2": {"exact": str(sum(abs(a - b) for a, b in zip(poly_row, p_frac))),
                  "value": float(sum(abs(a - b) for a, b in zip(poly_row, p_frac)))},
        "csq(shift=1, center=True)": {"exact": "0 at m = 1", "value": 0.0},
    }
    return out
