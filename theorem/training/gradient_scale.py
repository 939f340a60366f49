"""How the query–key gradient scales when the scores shrink: poly2's singularity and CSQ's shift.

One attention head on fixed tokens ``X`` (n×d), ``W_Q = α W_Q⁰``, ``W_K = α W_K⁰``
(``S = α² S⁰``), fixed ``W_V`` and target ``Y``, loss ``ℓ = ½‖A X W_V − Y‖²``.  With
``G = ∂ℓ/∂S``, ``∂ℓ/∂W_Q = Xᵀ G X W_K / √d_k`` (exact).

* **poly2** (and any kernel homogeneous of degree 0 in ``S``, e.g. CSQ with ``c = 0``):
  ``ℓ(αW_Q, W_K) = ℓ(W_Q, W_K)`` for every ``α ≠ 0``, hence
  ``∇_{W_Q}ℓ(αW_Q⁰, αW_K⁰) = ∇_{W_Q}ℓ(W_Q⁰, αW_K⁰)/α = ∇_{W_Q}ℓ(W_Q⁰, W_K⁰)/α``:
  ``g(α) = g(1)/α`` **exactly** — the gradient blows up as the scores go to 0 (the normalizer
  ``Σ_j S_ij²`` vanishes there).
* **softmax, CSQ with c > 0**: the weights are smooth at ``S = 0`` (``Σ_j (S̃_ij + c)² ≥ n c² > 0``
  because the centered scores sum to 0), so ``G(α) → G₀ = ∂ℓ/∂S|_{S=0}`` and
  ``g(α) = α·C + O(α³)`` with ``C = ‖Xᵀ G₀ X W_K⁰‖_F / √d_k``: the gradient *vanishes* linearly.

:func:`gradient_scaling` measures ``g(α)`` beside these closed forms.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import get_kernel
from theorem.util.precision import float64

__all__ = ["gradient_scaling", "normalizer_floor"]


def _problem(n: int, d: int, dk: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    wq = rng.standard_normal((d, dk)) / math.sqrt(d)
    wk = rng.standard_normal((d, dk)) / math.sqrt(d)
    wv = rng.standard_normal((d, d)) / math.sqrt(d)
    y = rng.standard_normal((n, d))
    return (jnp.asarray(a) for a in (x, wq, wk, wv, y))


def _loss_of_scores(kern, s, x, wv, y):
    return 0.5 * jnp.sum((kern.weights_from_scores(s) @ x @ wv - y) ** 2)


@partial(jax.jit, static_argnums=0)
def _grad_q_norm(kern, x, wq, wk, wv, y):
    """``‖∂ℓ/∂W_Q‖_F`` (compiled once per kernel and shape)."""

    def loss(wq_):
        return _loss_of_scores(kern, (x @ wq_) @ (x @ wk).T / math.sqrt(wq.shape[1]), x, wv, y)

    return jnp.linalg.norm(jax.grad(loss)(wq))


@partial(jax.jit, static_argnums=0)
def _linear_constant(kern, x, wk, wv, y):
    """``C = ‖Xᵀ G₀ X W_K⁰‖_F / √d_k`` with ``G₀ = ∂ℓ/∂S`` at ``S = 0``."""
    n = x.shape[0]
    g0 = jax.grad(lambda s: _loss_of_scores(kern, s, x, wv, y))(jnp.zeros((n, n)))
    return jnp.linalg.norm(x.T @ g0 @ x @ wk) / math.sqrt(wk.shape[1])


@float64
def gradient_scaling(
    kernel: str,
    params: dict | None = None,
    alphas: Sequence[float] = (1.0, 1e-1, 1e-2, 1e-3),
    *,
    n: int = 6,
    d: int = 4,
    dk: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """``g(α) = ‖∂ℓ/∂W_Q‖_F`` at ``(αW_Q⁰, αW_K⁰)`` beside the closed form for its class."""
    alphas = [float(a) for a in alphas]
    if not alphas or any(not (a > 0 and math.isfinite(a)) for a in alphas):
        raise ValueError(f"alphas must be finite numbers > 0, got {alphas}")
    if min(n, d, dk) < 1 or dk > d:
        raise ValueError(f"need n, d ≥ 1 and 1 ≤ dk ≤ d, got n={n}, d={d}, dk={dk}")
    kern = get_kernel(kernel, **(params or {}))
    x, wq0, wk0, wv, y = _problem(n, d, dk, seed)
    measured = [float(_grad_q_norm(kern, x, a * wq0, a * wk0, wv, y)) for a in alphas]
    homogeneous = kern.name == "poly2" or (kern.name == "csq" and getattr(kern, "shift", 1.0) == 0.0)
    if homogeneous:
        g1 = float(_grad_q_norm(kern, x, wq0, wk0, wv, y))
        predicted = [g1 / a for a in alphas]
        law = "g(α) = g(1)/α (degree-0 homogeneity of the weights in S)"
        constant = g1
    else:
        constant = float(_linear_constant(kern, x, wk0, wv, y))
        predicted = [a * constant for a in alphas]
        law = "g(α) = α·‖Xᵀ G₀ X W_K⁰‖/√d_k + O(α³) (weights smooth at S = 0)"
    rel = [abs(m - p) / abs(p) if p != 0 else abs(m) for m, p in zip(measured, predicted)]
    return {
        "kernel": kern.describe(),
        "alphas": alphas,
        "measured": measured,
        "predicted": predicted,
        "relative_error": rel,
        "law": law,
        "singular": homogeneous,
        "constant": constant,
        "n": n,
        "d": d,
        "dk": dk,
        "seed": seed,
    }


@float64
def normalizer_floor(kernel: str, params: dict | None = None, *, n: int = 6, seed: int = 0) -> dict[str, Any]:
    """``min_i Σ_j T_ij`` at ``S = 0`` (measured) beside its closed form ``n c²`` (0 for poly2).

    For CSQ the centered scores of a row sum to 0, so ``Σ_j (S̃_ij + c)² = Σ_j S̃_ij² + n c² ≥ n c²``:
    the normalizer is bounded below by its value at ``S = 0``.
    """
    kern = get_kernel(kernel, **(params or {}))
    rng = np.random.default_rng(seed)
    s = jnp.asarray(rng.standard_normal((n, n)))
    z_zero = float(jnp.min(jnp.sum(kern.unnormalized(jnp.zeros((n, n))), axis=-1)))
    z_rand = float(jnp.min(jnp.sum(kern.unnormalized(s), axis=-1)))
    c = getattr(kern, "shift", 0.0) if kern.name == "csq" else 0.0
    predicted = n * c**2 if kern.name in ("poly2", "csq") else None
    return {"kernel": kern.describe(), "at_zero": z_zero, "predicted_at_zero": predicted,
            "at_random_scores": z_rand, "n": n}
