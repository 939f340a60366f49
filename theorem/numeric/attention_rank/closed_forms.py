"""The closed forms in ``n, d, d_k`` for ``rank A``, evaluated at integers.

The formulas live once, as SymPy expressions, in :mod:`theorem.symbolic.attention_rank_formulas`;
this module validates the arguments, maps a kernel to its rank class (:func:`rank_class`) and
evaluates the expression exactly.
"""

from __future__ import annotations

import numpy as np

from theorem.kernels import Kernel, LinearElu
from theorem.numeric.attention_rank.inputs import check_kernel, rank_class
from theorem.numeric.attention_rank.kernel_parts import lift_dim
from theorem.symbolic import attention_rank_formulas as arf

__all__ = ["lift_width", "upper_bound", "generic_rank", "generic_formula", "layernorm_rank"]


def _positive(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def lift_width(kernel: Kernel | str, dk: int) -> int | None:
    """Width ``D`` of the kernel's exact feature lift ``T = L_Q L_Kᵀ``
    (:meth:`theorem.kernels.Kernel.feature_dim`; ``None`` for softmax: no finite lift)."""
    kernel = check_kernel(kernel)
    if dk < 1:
        raise ValueError(f"dk must be ≥ 1, got {dk}")
    return lift_dim(kernel, dk)


def upper_bound(kernel: Kernel | str, n: int, dk: int, causal: bool = False) -> int:
    """``min(n, D)``: a bound on ``rank A`` that holds for every input (``n`` when causal)."""
    kernel = check_kernel(kernel)
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    width = lift_width(kernel, dk)
    if causal or width is None:
        return int(n)
    return min(int(n), width)


def generic_rank(kernel: Kernel | str, n: int, d: int, dk: int | None = None, causal: bool = False) -> int | None:
    """``rank A`` for tokens in general position and generic weights
    (:func:`theorem.symbolic.attention_rank_formulas.generic_rank`).

    ``dk=None`` is the M form (``d_k = d``).  ``None`` when ``A`` is undefined generically
    (CSQ centred without shift: causal, the first row is 0/0; at ``n = 1`` the single centred score is 0).
    """
    kernel = check_kernel(kernel)
    n, d = _positive("n", n), _positive("d", d)
    if dk is None:
        if isinstance(kernel, LinearElu):
            raise ValueError("dk: the linear kernel has no M form; give dk")
        dk = d
    dk = _positive("dk", dk)
    cls = rank_class(kernel)
    if cls == "centred" and (causal or n == 1):
        return None
    expr = arf.causal_rank() if causal else arf.generic_rank(cls)
    return arf.evaluate(expr, n, d, dk)


def generic_formula(kernel: Kernel | str, causal: bool = False) -> str:
    """The closed form of :func:`generic_rank` as text."""
    return arf.generic_formula(rank_class(check_kernel(kernel)), causal)


def layernorm_rank(kernel: Kernel | str, n: int, d: int, dk: int | None = None, affine: bool = False) -> int | None:
    r"""``rank A`` for LayerNorm'd tokens in general position (``d ≥ 3``), generic weights
    (:func:`theorem.symbolic.attention_rank_formulas.layernorm_rank`).

    Without affine parameters the rows lie on the sphere ``|x|² = d`` inside the hyperplane
    ``x·1 = 0``; with ``γ, β`` on an ellipsoid inside an affine hyperplane that misses 0 (so
    ``1 ∈ col X``).  ``None`` for CSQ centred without shift at ``n = 1`` (0/0).  Checked on fuzzed
    LayerNorm tokens in ``tests/test_attention_rank.py``.
    """
    kernel = check_kernel(kernel)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 3:
        raise ValueError(f"d: LayerNorm closed forms need d ≥ 3 (d = 2 leaves two possible tokens), got {d!r}")
    n = _positive("n", n)
    if dk is None and isinstance(kernel, LinearElu):
        raise ValueError("dk: the linear kernel has no M form; give dk")
    dke = _positive("dk", d if dk is None else dk)
    cls = rank_class(kernel)
    if cls == "centred" and n == 1:
        return None
    return arf.evaluate(arf.layernorm_rank(cls, affine), n, int(d), dke)
