"""Loss landscapes of one attention head, ``θ = M`` (d×d), compared across kernels.

Problem: tokens ``X`` (n×d, Gaussian), fixed ``W_V``, a softmax teacher ``M*`` and targets
``Y = A_softmax(M*) X W_V``; for a kernel ``κ`` the loss is ``L_κ(M) = ‖A_κ(M) X W_V − Y‖²/(2n)``.

Exact facts the measurements are set beside:

* **poly2 is constant on rays.**  ``A_poly2(αM) = A_poly2(M)`` for ``α ≠ 0``, so
  ``L(αM) = L(M)``; differentiating in ``α`` twice at 1 gives ``∇L·M = 0`` and the Euler identity
  ``H(M)·M = −∇L(M)``.  At every critical point ``M`` is a null vector of the Hessian: **every
  critical point of the poly2 landscape is degenerate.**
* **softmax at a zero-residual minimum** (``M = M*``) has the Gauss–Newton Hessian exactly,
  ``H = Jᵀ J / n`` with ``J = ∂ vec(A X W_V)/∂ vec(M)``, so ``λ_min(H) = σ_min(J)²/n``: the minimum
  is non-degenerate iff ``J`` has full column rank ``d²``.
* A diffeomorphism ``φ`` with ``L_poly2 = L_softmax ∘ φ`` maps critical points to critical
  points and preserves the nullity of the Hessian there (``H ↦ Dφᵀ H Dφ``).  So one
  non-degenerate softmax critical point rules out "the same landscape up to reparametrization".

Descriptive comparisons at *matched points* (the same ``M`` for every kernel): Hessian spectra,
and the loss along the ray and along random directions.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from theorem.kernels import get_kernel
from theorem.training._jit import fast_jit
from theorem.util.precision import float64

__all__ = ["LandscapeProblem", "compare_landscapes"]

KERNELS = (("softmax", {}), ("poly2", {}), ("csq", {"shift": 1.0, "center": True}))


class LandscapeProblem:
    """Tokens, values and a softmax teacher drawn from ``seed``."""

    @float64
    def __init__(self, n: int = 6, d: int = 3, seed: int = 0, teacher_scale: float = 2.0):
        if n < 2 or d < 1:
            raise ValueError(f"need n ≥ 2 and d ≥ 1, got n={n}, d={d}")
        rng = np.random.default_rng(seed)
        self.n, self.d = n, d
        self.x = jnp.asarray(rng.standard_normal((n, d)))
        self.wv = jnp.asarray(rng.standard_normal((d, d)) / math.sqrt(d))
        self.m_teacher = jnp.asarray(teacher_scale * rng.standard_normal((d, d)) / math.sqrt(d))
        self.m0 = jnp.asarray(rng.standard_normal((d, d)) / math.sqrt(d))
        self.y = self.output(get_kernel("softmax"), self.m_teacher)

    def output(self, kernel, m):
        s = self.x @ m @ self.x.T / math.sqrt(self.d)
        return kernel.weights_from_scores(s) @ self.x @ self.wv

    def loss(self, kernel):
        d = self.d

        def f(mflat):
            r = self.output(kernel, mflat.reshape(d, d)) - self.y
            return 0.5 * jnp.sum(r**2) / self.n

        return f

    def output_jacobian(self, kernel, m) -> np.ndarray:
        d = self.d
        return np.asarray(jax.jacfwd(lambda v: self.output(kernel, v.reshape(d, d)).ravel())(jnp.ravel(m)))


def _minimize(f, grad, hess, x0: np.ndarray) -> np.ndarray:
    res = scipy.optimize.minimize(
        lambda v: float(f(jnp.asarray(v))),
        np.asarray(x0),
        jac=lambda v: np.asarray(grad(jnp.asarray(v))),
        hess=lambda v: np.asarray(hess(jnp.asarray(v))),
        method="trust-exact",
        options={"gtol": 1e-13, "maxiter": 500},
    )
    return res.x


_BATCHED: dict = {}


def _batched(f, raw):
    if f not in _BATCHED:  # raw: the un-jitted loss (a nested jit cannot take compiler options)
        _BATCHED[f] = fast_jit(jax.vmap(raw))
    return _BATCHED[f]


def _point_report(f, raw, grad, hess, m: np.ndarray, directions: np.ndarray, ts: np.ndarray) -> dict[str, Any]:
    m = jnp.asarray(m)
    g = np.asarray(grad(m))
    h = np.asarray(hess(m))
    h = 0.5 * (h + h.T)
    eig = np.linalg.eigvalsh(h)
    hn = float(np.linalg.norm(h, 2))
    mn = float(np.linalg.norm(m))
    euler = float(np.linalg.norm(h @ np.asarray(m) + g) / (hn * mn + np.linalg.norm(g) + 1e-300))
    null_ratio = float(np.linalg.norm(h @ np.asarray(m)) / (hn * mn + 1e-300))
    batch = _batched(f, raw)
    loss0 = float(f(m))
    scales = 1.0 + ts[1.0 + ts != 0.0]
    ray = np.asarray(batch(jnp.asarray(scales)[:, None] * m[None, :]))
    pts = m[None, None, :] + jnp.asarray(ts)[None, :, None] * mn * jnp.asarray(directions)[:, None, :]
    slices = np.asarray(batch(pts.reshape(-1, m.size))).reshape(len(directions), len(ts))
    return {
        "loss": loss0,
        "grad_norm": float(np.linalg.norm(g)),
        "eigenvalues": eig.tolist(),
        "hessian_norm": hn,
        "euler_residual": euler,  # ‖H m + ∇L‖ / (‖H‖‖m‖ + ‖∇L‖): 0 for poly2 at every M
        "null_ratio": null_ratio,  # ‖H m‖ / (‖H‖‖m‖): 0 for poly2 at a critical point
        # max |L((1+t)M) − L(M)| relative to the largest loss on the ray
        "ray_variation": float(np.max(np.abs(ray - loss0)) / max(np.max(np.abs(ray)), abs(loss0), 1e-300)),
        "ray_scales": scales.tolist(),
        "ray": ray.tolist(),
        "slices": slices.tolist(),
    }


@float64
def compare_landscapes(n: int = 6, d: int = 3, seed: int = 0, num_directions: int = 3) -> dict[str, Any]:
    """Reports at the matched point ``M₀`` and at each kernel's own minimum (trust-region Newton from ``M₀``)."""
    prob = LandscapeProblem(n, d, seed)
    rng = np.random.default_rng(seed + 7)
    directions = rng.standard_normal((num_directions, d * d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    ts = np.linspace(-1.0, 1.0, 21)
    out: dict[str, Any] = {"n": n, "d": d, "seed": seed, "ts": ts.tolist(), "kernels": {}}
    for name, params in KERNELS:
        kern = get_kernel(name, **params)
        raw = prob.loss(kern)
        f, grad, hess = fast_jit(raw), fast_jit(jax.grad(raw)), fast_jit(jax.hessian(raw))
        start = prob.m_teacher.ravel() if name == "softmax" else prob.m0.ravel()
        m_min = _minimize(f, grad, hess, np.asarray(start))
        at0 = _point_report(f, raw, grad, hess, np.asarray(prob.m0.ravel()), directions, ts)
        atmin = _point_report(f, raw, grad, hess, m_min, directions, ts)
        entry = {"at_matched_point": at0, "at_minimum": atmin}
        if name == "softmax":
            jac = prob.output_jacobian(kern, m_min.reshape(d, d))
            sv = np.linalg.svd(jac, compute_uv=False)
            entry["gauss_newton_lambda_min"] = float(sv[-1] ** 2 / n)  # predicted λ_min(H) at zero residual
            entry["jacobian_singular_values"] = sv.tolist()
        out["kernels"][kern.describe()] = entry
    # spectra at the same point: relative distance of sorted eigenvalues to softmax's
    ref = np.asarray(out["kernels"]["softmax"]["at_matched_point"]["eigenvalues"])
    out["spectral_distance_to_softmax"] = {
        k: float(np.linalg.norm(np.asarray(v["at_matched_point"]["eigenvalues"]) - ref) / np.linalg.norm(ref))
        for k, v in out["kernels"].items()
    }
    return out
