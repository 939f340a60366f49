r"""The one optax loop: every fit in the toolkit (training grids, the depth probe, the real-head fits,
the matching penalty sweep, the bottleneck fits) runs through :func:`fit`.

A fit is ``steps`` steps of an optax optimizer on a scalar loss,

$$\theta_{t+1} = \theta_t + u_t,\qquad u_t = \mathrm{opt}\big(\nabla_\theta L(\theta_t; x_t)\big),$$

written as one ``jax.lax.scan``, so it is pure: it can be called inside ``jax.jit`` and ``jax.vmap``
(many runs — seeds × learning rates × kernels — in one compiled program).  ``x_t`` is the ``t``-th
slice of ``data`` along its leading axis (a data stream, or PRNG keys the loss samples a batch
from); without ``data`` the loss takes the parameters only.

Recorded per step: the loss ``L(θ_t)`` *before* the update, the global gradient norm
``‖∇L(θ_t)‖₂`` and, with ``has_aux``, the loss's auxiliary output.  Options:

* ``optimizer``: ``"adam"`` (``optax.adam``) or ``"sgd"`` (``optax.sgd``), applied as
  ``θ + u`` with ``u = −η·direction`` (the learning rate may be a traced scalar, one per vmapped run);
* ``schedule="cosine"``: ``η_t = optax.cosine_decay_schedule(η, steps)``;
* ``clip``: gradients clipped to this global norm before the optimizer (``optax.clip_by_global_norm``);
* ``skip_nonfinite``: a step whose loss or gradient is not finite leaves the parameters and the
  optimizer state unchanged (a poly2 row whose scores all vanish is 0/0);
* ``zero_nonfinite_grads``: non-finite gradient entries are set to 0 before the optimizer (the step
  still counts as non-finite for ``diverged``);
* ``track_best`` (no ``data``): also return the parameters with the lowest loss seen, over
  ``θ_0 … θ_steps`` (the loss of ``θ_steps`` is evaluated once more after the last step).

``diverged`` is true when some step met a non-finite loss or gradient, or the final parameters are not
finite.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["FitResult", "fit", "make_optimizer", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = (None, "cosine")


class FitResult(NamedTuple):
    """What :func:`fit` returns (a pytree: it leaves ``jit``/``vmap`` with a leading run axis)."""

    params: Any  #: parameters after the last step
    losses: jax.Array  #: ``[steps]`` loss before each step
    grad_norms: jax.Array  #: ``[steps]`` global gradient norm at each step
    diverged: jax.Array  #: bool scalar: a non-finite loss or gradient, or non-finite final parameters
    aux: Any = None  #: per-step auxiliary output (leaves ``[steps, ...]``), with ``has_aux``
    best_params: Any = None  #: parameters of the lowest loss seen, with ``track_best``
    best_loss: jax.Array | None = None  #: that loss, with ``track_best``


def make_optimizer(
    optimizer: str,
    learning_rate: float | jax.Array,
    *,
    steps: int,
    schedule: str | None = None,
    clip: float | None = None,
) -> optax.GradientTransformation:
    """The optax transformation :func:`fit` uses (see the module docstring for the options)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: unknown {schedule!r}; choose None or 'cosine'")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip: must be a global norm > 0 or None, got {clip}")
    lr = optax.cosine_decay_schedule(learning_rate, max(int(steps), 1)) if schedule == "cosine" else learning_rate
    opt = optax.adam(lr) if optimizer == "adam" else optax.sgd(lr)
    return opt if clip is None else optax.chain(optax.clip_by_global_norm(clip), opt)


def _all_finite(tree) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(a)) for a in leaves])) if leaves else jnp.asarray(True)


def fit(
    loss: Callable[..., Any],
    params: Any,
    *,
    steps: int,
    learning_rate: float | jax.Array,
    optimizer: str = "adam",
    schedule: str | None = None,
    clip: float | None = None,
    data: Any = None,
    has_aux: bool = False,
    skip_nonfinite: bool = False,
    zero_nonfinite_grads: bool = False,
    track_best: bool = False,
) -> FitResult:
    """Minimize ``loss`` from ``params`` for ``steps`` optimizer steps (see the module docstring).

    ``loss(params)`` — or ``loss(params, x_t)`` with ``data`` (leaves ``[steps, ...]``) — returns a
    scalar, or ``(scalar, aux)`` with ``has_aux``.
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: must be an integer ≥ 0, got {steps!r}")
    if track_best and data is not None:
        raise ValueError("track_best: only for a loss without data (the final loss needs no batch)")
    opt = make_optimizer(optimizer, learning_rate, steps=steps, schedule=schedule, clip=clip)
    with_data = data is not None
    value_and_grad = jax.value_and_grad(loss, has_aux=has_aux)

    def evaluate(p):
        out = loss(p)
        return out[0] if has_aux else out

    def body(carry, x):
        p, state, bad, best_p, best_v = carry
        val, g = value_and_grad(p, x) if with_data else value_and_grad(p)
        val, aux = val if has_aux else (val, None)
        ok = jnp.isfinite(val) & _all_finite(g)
        if zero_nonfinite_grads:
            g = jax.tree_util.tree_map(lambda a: jnp.where(jnp.isfinite(a), a, jnp.zeros_like(a)), g)
        if track_best:
            better = val < best_v
            best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), p, best_p)
            best_v = jnp.where(better, val, best_v)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes int32 step counts with Python floats
            upd, new_state = opt.update(g, state, p)
        new_p = optax.apply_updates(p, upd)
        if skip_nonfinite:
            new_p = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new_p, p)
            new_state = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new_state, state)
        return (new_p, new_state, bad | ~ok, best_p, best_v), (val, optax.tree.norm(g), aux)

    start_best = jnp.asarray(jnp.inf, dtype=jax.eval_shape(evaluate, params).dtype) if track_best else None
    carry = (params, opt.init(params), jnp.asarray(False), params, start_best)
    (p, _, bad, best_p, best_v), (losses, norms, aux) = jax.lax.scan(body, carry, data, length=steps)
    diverged = bad | ~_all_finite(p)
    if not track_best:
        return FitResult(p, losses, norms, diverged, aux)
    final = evaluate(p)
    better = final < best_v
    best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), p, best_p)
    return FitResult(p, losses, norms, diverged, aux, best_p, jnp.where(better, final, best_v))
