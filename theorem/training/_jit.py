"""``fast_jit``: ``jax.jit`` with XLA's backend optimizations off.

For the tiny programs of the quick checks compiling dominates: optimization level 0 compiles
several times faster and the programs run a little slower, which does not matter at these sizes.
Results are the same floating-point operations (no fast-math), so measurements do not change
beyond round-off.
"""

from __future__ import annotations

import jax

FAST = {"xla_backend_optimization_level": 0}


def fast_jit(fun, **kwargs):
    return jax.jit(fun, compiler_options=FAST, **kwargs)
