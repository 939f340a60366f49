"""Read a program's jaxpr: the operations it really performs and the arrays it really builds.

Two uses: the FLOP count of an algorithm *as traced* (to set beside the closed forms of
:mod:`theorem.symbolic.flops`), and the check that the linear form never builds an
``n×n`` array.  Loops count once per trip (``scan`` bodies × length); nested jaxprs
(``pjit``, ``custom_jvp``/``custom_vjp``, ``remat``, ``cond`` branches: the largest) are walked.

Counting rules (one "operation" per output element unless said otherwise):

* ``dot_general``: ``2 · |output| · |contracted|`` → *matmul* FLOPs;
* arithmetic (``add, sub, mul, div, neg, max, min, exp, log, sqrt, integer_pow, select_n, …``):
  ``|output|`` → *elementwise*;
* reductions and scans (``reduce_sum, reduce_max, cumsum, …``): ``|input|`` → *elementwise*;
* data movement (reshape, broadcast, slice, concatenate, transpose, convert, pad, gather, …): 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator
from typing import Any

import jax

__all__ = ["FlopCount", "count_flops", "array_shapes", "square_arrays", "iter_eqns"]

_ZERO_COST = {
    "reshape", "broadcast_in_dim", "slice", "dynamic_slice", "dynamic_update_slice", "concatenate",
    "transpose", "convert_element_type", "pad", "gather", "scatter", "squeeze", "expand_dims",
    "iota", "copy", "copy_p", "stop_gradient", "select_and_scatter_add", "rev", "device_put",
    "split", "tie_in", "broadcast", "pjit", "closed_call", "custom_jvp_call", "custom_vjp_call",
    "custom_vjp_call_jaxpr", "remat", "checkpoint", "scan", "while", "cond", "sharding_constraint",
    "jit", "remat2", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "argmax", "argmin",
}
_REDUCTIONS = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "cumsum", "cummax", "cumprod", "cumlogsumexp", "cummin"}


@dataclass
class FlopCount:
    """Operations of a traced program: matmul FLOPs and elementwise operations, by primitive."""

    matmul: int = 0
    elementwise: int = 0
    by_primitive: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.matmul + self.elementwise

    def add(self, name: str, amount: int, matmul: bool) -> None:
        if amount == 0:
            return
        if matmul:
            self.matmul += amount
        else:
            self.elementwise += amount
        self.by_primitive[name] = self.by_primitive.get(name, 0) + amount


def _size(aval) -> int:
    shape = getattr(aval, "shape", ())
    return int(math.prod(shape))


def _sub_jaxprs(eqn) -> list[tuple[Any, int]]:
    """Nested jaxprs of an equation with their trip counts."""
    out = []
    params = eqn.params
    if eqn.primitive.name == "scan":
        out.append((params["jaxpr"].jaxpr, int(params["length"])))
    elif eqn.primitive.name == "cond":
        # count the most expensive branch once
        out.append(("branches", [b.jaxpr for b in params["branches"]]))
    else:
        for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
            sub = params.get(key)
            if sub is not None:
                out.append((getattr(sub, "jaxpr", sub), 1))
                break
    return out


def iter_eqns(jaxpr, multiplicity: int = 1) -> Iterator[tuple[Any, int]]:
    """Every equation of ``jaxpr`` and its nested jaxprs, with how many times it runs."""
    for eqn in jaxpr.eqns:
        yield eqn, multiplicity
        for sub, times in _sub_jaxprs(eqn):
            if sub == "branches":
                # choose the branch with most equations (cost-wise: counted in count_flops)
                best = max(times, key=lambda j: len(j.eqns))
                yield from iter_eqns(best, multiplicity)
            else:
                yield from iter_eqns(sub, multiplicity * times)


def count_flops(fn: Callable, *args, **kwargs) -> FlopCount:
    """FLOPs of ``fn(*args, **kwargs)`` read off its jaxpr (see the module docstring for the rules)."""
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    count = FlopCount()
    for eqn, times in iter_eqns(closed.jaxpr):
        name = eqn.primitive.name
        if name == "dot_general":
            (lc, _rc), _batch = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval
            contracted = int(math.prod(lhs.shape[i] for i in lc))
            count.add(name, 2 * _size(eqn.outvars[0].aval) * contracted * times, matmul=True)
        elif name in _REDUCTIONS:
            count.add(name, _size(eqn.invars[0].aval) * times, matmul=False)
        elif name in _ZERO_COST:
            continue
        else:
            count.add(name, sum(_size(v.aval) for v in eqn.outvars) * times, matmul=False)
    return count


def array_shapes(fn: Callable, *args, **kwargs) -> list[tuple[int, ...]]:
    """Shapes of every array the traced program creates (equation outputs, loop carries included)."""
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    shapes = []
    for eqn, _ in iter_eqns(closed.jaxpr):
        for v in eqn.outvars:
            shapes.append(tuple(getattr(v.aval, "shape", ())))
    return shapes


def square_arrays(fn: Callable, n: int, *args, **kwargs) -> list[tuple[int, ...]]:
    """Shapes with two or more axes of length ≥ ``n``: the ``n×n`` arrays (or larger) the program builds."""
    return [s for s in array_shapes(fn, *args, **kwargs) if sum(1 for a in s if a >= n) >= 2]
