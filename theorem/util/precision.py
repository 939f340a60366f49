"""float64, scoped: the toolkit's measurements run in double precision without changing the
process-wide JAX setting.

``import theorem`` leaves ``jax_enable_x64`` as the user set it (``jnp.ones(2).dtype`` stays
``float32`` by default).  A function that needs float64 is decorated with :func:`float64`: the
setting is switched on for the duration of the call (``jax.enable_x64``) and restored after it,
so a user's own JAX code around it is unaffected.  Results leave the scope as NumPy arrays or as
JAX arrays that keep their float64 dtype.
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

import jax

__all__ = ["float64", "x64"]

F = TypeVar("F", bound=Callable)


def x64():
    """Context manager: JAX in float64 inside the ``with`` block, the caller's setting after it."""
    return jax.enable_x64(True)


def float64(fn: F) -> F:
    """Decorator: run ``fn`` with JAX in float64 (see the module docstring)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
