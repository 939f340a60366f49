"""The dimension of the function space a family of attention maps reaches (the exact-algebra probe of T8).

For a family ``θ ↦ f_θ`` evaluated on ``m`` fixed token matrices ``X_1 … X_m`` (n×d each), the
dimension of the set of functions it reaches near a generic ``θ`` is the rank of the Jacobian
``J = ∂(f_θ(X_1), …, f_θ(X_m)) / ∂θ`` (``m·n·d`` rows, one column per parameter), measured in float64 with
:func:`theorem.numeric.rank.numerical_rank` (tolerance and gap), at random ``θ``.  Two families:

* **degree-p attention** (the target of hypothesis 6.2): ``A_p(X) X W_V`` with ``(A_p)_ij ∝ s_ij^p``,
  ``s = X W_Q (X W_K)ᵀ/√d``, parameters ``W_Q, W_K, W_V`` (d×d).  Closed form ``2d² − 1``: the map depends
  on ``M = W_Q W_Kᵀ`` (d², full rank generically) and ``W_V`` (d²), and ``M ↦ cM`` leaves ``A_p`` unchanged
  (the normalization cancels ``c^p``) — one direction lost; no other is lost generically (measured);
* **an L-layer residual stack of quadratic attention** (the student of :mod:`.depth`), width ``w``.
  For ``L = 1`` and ``w ≥ d`` the output is ``X W_in W_out + A₂(X M' Xᵀ) X V'`` with ``M' = W_in W_Q W_Kᵀ W_inᵀ``
  and ``V' = W_in W_V W_out`` (d×d each): at most ``d² + (d² − 1) + d² = 3d² − 1``.  No closed form for
  ``L ≥ 2``: the measurement alone, bounded by the parameter count.

The closed forms and their proofs live in :mod:`theorem.symbolic.function_dimension`; the exact rank over Q at a
dyadic point is :mod:`.exact_dimension`.  A dimension is a necessary condition only: a family of smaller dimension cannot contain one of larger
dimension, but a larger one need not contain it.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from theorem.numeric.rank import numerical_rank
from theorem.symbolic.function_dimension import dimension_formula, evaluate
from theorem.training.depth import _init_student, _student, polynomial_attention
from theorem.util.precision import float64

__all__ = ["polynomial_dimension", "stack_dimension", "polynomial_closed_form", "stack_closed_form"]


def polynomial_closed_form(d: int) -> int:
    """``2d² − 1``: degree-p attention's function-space dimension (any even p), from :mod:`theorem.symbolic`."""
    return evaluate(dimension_formula("poly"), d=d)


def stack_closed_form(d: int, width: int, depth: int) -> int | None:
    """``3d² − 1`` for one layer of width ``w ≥ d``; ``None`` (no closed form) otherwise."""
    form = dimension_formula("stack", depth=depth, width=width, dim=d)
    return None if form is None else evaluate(form, d=d)


def _tokens(d: int, n: int, samples: int, seed: int) -> jax.Array:
    return jnp.asarray(np.random.default_rng(seed).standard_normal((samples, n, d)))


def _rank_of(f, theta: jax.Array) -> dict[str, Any]:
    jac = np.asarray(jax.jacfwd(f)(theta))
    r = numerical_rank(jac)
    return {**r.to_dict(), "parameters": int(theta.size), "outputs": int(jac.shape[0])}


@float64
def polynomial_dimension(d: int, n: int, p: int, samples: int, seed: int = 0) -> dict[str, Any]:
    """Rank of the Jacobian of degree-``p`` attention's outputs on ``samples`` token matrices."""
    if p < 2 or p % 2:
        raise ValueError(f"p must be an even integer ≥ 2, got {p}")
    xs = _tokens(d, n, samples, seed)
    rng = np.random.default_rng(seed + 1)
    theta = jnp.asarray(rng.standard_normal(3 * d * d) / math.sqrt(d))

    def f(t):
        wq, wk, wv = (t[i * d * d:(i + 1) * d * d].reshape(d, d) for i in range(3))
        return jax.vmap(lambda x: polynomial_attention(x, wq, wk, wv, p))(xs).ravel()

    return {"family": f"degree-{p} attention", "d": d, "n": n, "p": p, "samples": samples,
            "closed_form": polynomial_closed_form(d), **_rank_of(f, theta)}


@float64
def stack_dimension(d: int, n: int, width: int, depth: int, samples: int, seed: int = 0) -> dict[str, Any]:
    """Rank of the Jacobian of an L-layer quadratic-attention stack's outputs on ``samples`` token matrices."""
    xs = _tokens(d, n, samples, seed)
    params = _init_student(jax.random.PRNGKey(seed + 7), d, width, depth)
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.float64), params)
    theta, unravel = ravel_pytree(params)

    def f(t):
        pr = unravel(t)
        return jax.vmap(lambda x: _student(pr, x))(xs).ravel()

    return {"family": f"{depth}-layer quadratic stack", "d": d, "n": n, "width": width, "depth": depth,
            "samples": samples, "closed_form": stack_closed_form(d, width, depth), **_rank_of(f, theta)}
