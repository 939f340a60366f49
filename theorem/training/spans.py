r"""A training trajectory of one head (θ = M), run by the harness's own loop, for the spans it explores.

Task (teacher–student on the weights, realizable): a teacher ``M* = τ·N(0, 1/d)`` of the same kernel; at
step ``t`` the loss sees one token matrix ``X_t`` of a stream (:func:`theorem.numeric.spans.token_stream`;
``fixed``: the same ``X_0`` every step) and is

.. math:: L(M; X_t) = \frac{1}{2n}\,\lVert A_\kappa(M; X_t) - A_\kappa(M^*; X_t)\rVert_F^2 .

:func:`trajectory` runs :func:`theorem.training.loop.fit` (Adam by default) from ``M_0 = N(0, 1/d)`` with
the stream as ``data``; the loss returns the point ``M_t`` it was evaluated at as its auxiliary output, so
the recorded ``M_t`` are exactly the points the loop visited (before each update).  The *gradients met*
``g_t = ∇_M L(M_t; X_t)`` are recomputed at those points by the same loss function: they are what the
optimizer received (before Adam's per-coordinate preconditioning, which does NOT keep updates in their span).
Since ``g_t = J(M_t, X_t)ᵀ vec(A − A*)/n``, every ``g_t`` lies in the pulled-back space ``P(M_t, X_t)``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theorem.kernels import Kernel
from theorem.training._jit import fast_jit
from theorem.training.loop import fit
from theorem.util.precision import float64

__all__ = ["trajectory"]


def _weights(kernel: Kernel, m, x):
    return kernel.weights_from_scores(x @ m @ x.T / math.sqrt(x.shape[1]))


def _loss(kernel: Kernel, m_teacher):
    def loss(m, x):
        r = _weights(kernel, m, x) - _weights(kernel, m_teacher, x)
        return 0.5 * jnp.sum(r**2) / x.shape[0], m

    return loss


@float64
def trajectory(kernel: Kernel, xs: np.ndarray, *, steps: int, learning_rate: float = 0.05, seed: int = 0,
               teacher_scale: float = 2.0, optimizer: str = "adam", fixed: bool = False) -> dict[str, Any]:
    """``steps`` steps of :func:`fit` on the stream ``xs`` (``count ≥ steps`` matrices, n×d; ``fixed``: only
    ``xs[0]``, every step).  Returns the visited points ``ms`` (steps×d×d), the token matrix of each step
    ``xs`` (steps×n×d), the gradients met ``grads`` (steps×d²), the losses and ``diverged``."""
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3 or (not fixed and xs.shape[0] < steps) or steps < 1:
        raise ValueError(f"need a stream of ≥ steps = {steps} token matrices (count, n, d), got shape {xs.shape}")
    data = np.repeat(xs[:1], steps, axis=0) if fixed else xs[:steps]
    d = xs.shape[2]
    rng = np.random.default_rng([seed, 11])
    m_teacher = jnp.asarray(teacher_scale * rng.standard_normal((d, d)) / math.sqrt(d))
    m0 = jnp.asarray(rng.standard_normal((d, d)) / math.sqrt(d))
    ms, grads, losses, diverged = _run(kernel, steps, optimizer, m0, m_teacher, jnp.asarray(data),
                                       jnp.asarray(learning_rate))
    return {"ms": np.asarray(ms), "xs": data, "grads": np.asarray(grads).reshape(steps, -1),
            "losses": np.asarray(losses), "diverged": bool(diverged), "m_teacher": np.asarray(m_teacher)}


@partial(fast_jit, static_argnames=("kernel", "steps", "optimizer"))
def _run(kernel, steps, optimizer, m0, m_teacher, data, learning_rate):
    """One compiled program per (kernel, steps, optimizer, shape): the fit, then the gradients at its points."""
    loss = _loss(kernel, m_teacher)
    res = fit(loss, m0, steps=steps, learning_rate=learning_rate, optimizer=optimizer, data=data, has_aux=True)
    grads = jax.vmap(jax.grad(lambda m, x: loss(m, x)[0]))(res.aux, data)
    return res.aux, grads, res.losses, res.diverged
