r"""``attention(q, k, v, *, kernel, causal=False, algorithm=...)``: one API, two algorithms.

Shapes: ``q, k`` are ``(..., n, d_k)``, ``v`` is ``(..., n, d_v)``; the leading axes (batch,
heads) must be equal and are mapped over.  Scores are :math:`S_{ij} = q_i\cdot k_j/\sqrt{d_k}`;
the output is :math:`o_i = \sum_j A_{ij} v_j` with :math:`A = T/\textstyle\sum_j T_{ij}` and

=========  ==========================================================================
kernel     unnormalized weight :math:`T_{ij}` (zero for :math:`j > i` when causal)
=========  ==========================================================================
softmax    :math:`\exp S_{ij}`
poly2      :math:`S_{ij}^2`
csq        :math:`\big(q_i\cdot(k_j-\bar k_i)/\sqrt{d_k} + c\big)^2`, :math:`\bar k_i` = mean of the
           keys query :math:`i` sees (all, or :math:`0..i` when causal); ``shift`` = c (1.0),
           ``center`` (True); ``center=False`` drops :math:`\bar k_i`
linear     :math:`\phi(q_i)\cdot\phi(k_j)`, :math:`\phi = \mathrm{elu}+1` (no :math:`1/\sqrt{d_k}`)
=========  ==========================================================================

computed by :mod:`theorem.kernels` (the only place the formulas live): the quadratic form takes
:math:`T` from :meth:`~theorem.kernels.Kernel.unnormalized_qk`, the linear form the kernel's
:meth:`~theorem.kernels.Kernel.linear_form` (its feature map from :mod:`theorem.kernels.features`).

``algorithm``:

* ``"quadratic"``: forms the :math:`n\times n` weights, :math:`O(n^2(d_k+d_v))`;
* ``"linear"``: the exact feature-map rewrite of :mod:`theorem.numeric.csq_linear`,
  :math:`O(n\,D\,d_v)` with :math:`D = (d_k+1)(d_k+2)/2` for csq, :math:`d_k(d_k+1)/2` for poly2,
  :math:`d_k` for linear; causal runs in chunks of ``chunk`` rows.  softmax has no finite
  feature map, so ``"linear"`` with softmax is an error;
* ``"auto"``: whichever the cost model of :mod:`theorem.symbolic.flops` predicts is faster.

Both algorithms agree to round-off, values and gradients (``jax.grad`` goes through either).
Bad arguments raise :class:`ValueError` naming the argument, before any computation.
"""

from __future__ import annotations

import math
import sys
import types
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Shaped

from theorem.kernels import CSQ, KERNEL_NAMES, Kernel, get_kernel
from theorem.numeric.csq_linear import linear_attention
from theorem.symbolic.flops import predicted_faster

__all__ = ["attention", "attention_weights", "ALGORITHMS", "resolve_algorithm", "validate"]

ALGORITHMS = ("quadratic", "linear", "auto")
#: what the public functions accept: any array (their shapes ``(..., n, d)`` and float dtype are checked by
#: :func:`validate`, which raises ``ValueError`` naming the argument, so the hint constrains neither)
Input = Shaped[Array | np.ndarray | jax.ShapeDtypeStruct, "..."]
#: kernels with an exact finite feature map (a linear form), as the kernels report it
LINEAR_KERNELS = tuple(name for name in KERNEL_NAMES if get_kernel(name).feature_dim(1) is not None)


# ---------------------------------------------------------------------------------------
# validation (before any work)
# ---------------------------------------------------------------------------------------


def _shape_of(name: str, x: Any) -> tuple[tuple[int, ...], Any]:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None or dtype is None:
        x = np.asarray(x)
        shape, dtype = x.shape, x.dtype
    if len(shape) < 2:
        raise ValueError(f"{name}: expected an array of shape (..., n, d) with at least 2 axes, got shape {tuple(shape)}")
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name}: expected a floating-point array, got dtype {dtype}")
    return tuple(shape), dtype


def _check_csq_params(params: dict, causal) -> None:
    unknown = set(params) - {"shift", "center"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a parameter of the csq kernel (it takes shift, center)")
    shift = params.get("shift", 1.0)
    center = params.get("center", True)
    if not isinstance(center, (bool, np.bool_)):
        raise ValueError(f"center: expected True or False, got {center!r}")
    if isinstance(shift, bool) or not isinstance(shift, (int, float, np.integer, np.floating)):
        raise ValueError(f"shift: expected a number, got {shift!r}")
    if not math.isfinite(float(shift)):
        raise ValueError(f"shift: must be finite, got {shift}")
    if center and shift <= 0:
        raise ValueError(
            f"shift: the centered csq kernel needs shift > 0, got {shift}: its row sum is "
            "Σ_j s̃_ij² + m_i·c², which is 0 for a query that sees one key (causal row 0, or n = 1)"
        )
    if shift < 0:
        raise ValueError(f"shift: must be ≥ 0, got {shift}")


def validate(q, k, v, *, kernel, causal, algorithm, chunk, params) -> Kernel:
    """Check every argument; return the kernel object.  Raises ``ValueError`` naming the argument."""
    if isinstance(kernel, Kernel):
        if params:
            raise ValueError(f"kernel: parameters {sorted(params)} given with a Kernel object; put them in the object")
        kern = kernel
    elif isinstance(kernel, str):
        if kernel not in KERNEL_NAMES:
            raise ValueError(f"kernel: unknown kernel {kernel!r}; choose one of {', '.join(KERNEL_NAMES)}")
        if kernel == "csq":
            _check_csq_params(params, causal)
        try:
            # the kernel's own checks use jnp; evaluate them eagerly even when attention() is traced
            with jax.ensure_compile_time_eval():
                kern = get_kernel(kernel, **params)
        except ValueError as err:
            raise ValueError(f"kernel={kernel!r}: {err}") from None
    else:
        raise ValueError(f"kernel: expected a name ({', '.join(KERNEL_NAMES)}) or a Kernel, got {type(kernel).__name__}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm: unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if not isinstance(causal, (bool, np.bool_)):
        raise ValueError(f"causal: expected True or False, got {causal!r}")
    qs, _ = _shape_of("q", q)
    ks, _ = _shape_of("k", k)
    vs, _ = _shape_of("v", v)
    if qs[-1] == 0:
        raise ValueError(f"q: d_k = 0 (shape {qs}); the head dimension must be ≥ 1")
    if ks != qs:
        raise ValueError(f"k: shape {ks} does not match q's shape {qs}; q and k must both be (..., n, d_k)")
    if vs[:-1] != qs[:-1]:
        raise ValueError(f"v: shape {vs} does not fit q's shape {qs}; v must be (..., n, d_v) with the same leading axes and n")
    if qs[-2] == 0:
        raise ValueError(f"q: n = 0 tokens (shape {qs}); need n ≥ 1")
    if vs[-1] == 0:
        raise ValueError(f"v: d_v = 0 (shape {vs}); need d_v ≥ 1")
    if isinstance(kern, CSQ):
        _check_csq_params({"shift": kern.shift, "center": kern.center}, causal)
    if algorithm == "linear" and kern.feature_dim(1) is None:
        raise ValueError(
            f"algorithm: 'linear' needs a finite feature map; kernel {kern.name!r} (exp(q·k)) has none. "
            "Use algorithm='quadratic' or 'auto'"
        )
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise ValueError(f"chunk: expected a positive integer, got {chunk!r}")
    return kern


def resolve_algorithm(kern: Kernel, n: int, dk: int, dv: int, causal: bool, algorithm: str) -> str:
    """``"auto"`` → the algorithm the cost model predicts faster; others unchanged."""
    if algorithm != "auto":
        return algorithm
    if kern.feature_dim(1) is None:
        return "quadratic"
    name = "csq-uncentered" if isinstance(kern, CSQ) and not kern.center else kern.name
    return predicted_faster(name, n, dk, dv, causal)


# ---------------------------------------------------------------------------------------
# the two algorithms, one head each: both through the kernel (theorem.kernels), dtype-preserving
# ---------------------------------------------------------------------------------------


def _quadratic_head(kern: Kernel, causal: bool, q, k, v):
    r""":math:`(T v) / (T \mathbf 1)` with the kernel's :math:`T` (:meth:`~theorem.kernels.Kernel.unnormalized_qk`)."""
    t = kern.unnormalized_qk(q, k, causal)
    return (t @ v) / jnp.sum(t, axis=-1, keepdims=True)


def _linear_head(kern: Kernel, causal: bool, chunk: int | None, q, k, v):
    """The kernel's linear form (:meth:`~theorem.kernels.Kernel.linear_form`) run by :mod:`theorem.numeric.csq_linear`."""
    return linear_attention(kern, q, k, v, causal=causal, chunk=chunk)


def _over_heads(head_fn, *arrays):
    """Map a one-head function over the flattened leading axes."""
    lead = arrays[0].shape[:-2]
    if not lead:
        return head_fn(*arrays)
    flat = [a.reshape((-1,) + a.shape[-2:]) for a in arrays]
    out = jax.vmap(head_fn)(*flat)
    return out.reshape(lead + out.shape[-2:])


@partial(jax.jit, static_argnames=("kern", "causal", "algorithm", "chunk"))
def _attention(q, k, v, kern, causal, algorithm, chunk):
    dtype = jnp.result_type(q, k, v)
    q, k, v = (jnp.asarray(a, dtype) for a in (q, k, v))
    if algorithm == "quadratic":
        return _over_heads(partial(_quadratic_head, kern, causal), q, k, v)
    return _over_heads(partial(_linear_head, kern, causal, chunk), q, k, v)


def attention(
    q: Input,
    k: Input,
    v: Input,
    *,
    kernel: str | Kernel,
    causal: object = False,  # True or False; anything else is a ValueError from validate
    algorithm: str = "quadratic",
    chunk: int | None = None,
    **params,
) -> Float[Array, "*batch n dv"]:
    r"""Attention output :math:`o_i = \sum_j T_{ij} v_j / \sum_j T_{ij}` (see the module docstring).

    ``kernel``: ``"softmax" | "poly2" | "csq" | "linear"`` (or a :class:`~theorem.kernels.Kernel`);
    ``params`` go to the kernel (csq: ``shift`` c > 0, default 1.0; ``center``, default True).
    ``algorithm``: ``"quadratic"`` | ``"linear"`` | ``"auto"``.  ``chunk``: rows per chunk
    (causal) or per block (non-causal) of the linear form; default from the cost model.
    """
    kern = validate(q, k, v, kernel=kernel, causal=causal, algorithm=algorithm, chunk=chunk, params=params)
    n, dk = q.shape[-2], q.shape[-1]
    algo = resolve_algorithm(kern, n, dk, v.shape[-1], bool(causal), algorithm)
    return _attention(q, k, v, kern, bool(causal), algo, None if chunk is None else int(chunk))


def attention_weights(
    q: Input, k: Input, *, kernel: str | Kernel, causal: object = False, **params
) -> Float[Array, "n n"]:
    """The :math:`n\\times n` weights ``A`` of the quadratic form (one head), in the dtype of ``q``."""
    kern = validate(q, k, q[..., :1], kernel=kernel, causal=causal, algorithm="quadratic", chunk=None, params=params)
    if len(q.shape) != 2:
        raise ValueError(f"q: attention_weights takes one head, shape (n, d_k); got shape {tuple(q.shape)}")
    return kern.weights(jnp.asarray(q), jnp.asarray(k), bool(causal))


# ---------------------------------------------------------------------------------------
# `from theorem import attention` must give something callable.  Importing the submodule
# `theorem.attention` binds the *module* to the package attribute `attention` (the import
# system does that after this file runs), which shadows the package's lazy export of the
# function; so the module itself is made callable and forwards to `attention(...)`.
# ---------------------------------------------------------------------------------------
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return attention(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
