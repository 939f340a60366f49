"""What every rank measurement takes: a kernel (checked, classified) and a head's factors ``Q, K``.

A head is :class:`theorem.numeric.head.Head` (tokens, ``W_Q, W_K`` or the M form); the functions of
this package also accept the factors ``q, k`` (n×d_k) directly, with no rounding error attached.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float

from theorem.kernels import CSQ, Kernel, LinearElu, Poly2, Softmax, get_kernel
from theorem.numeric.head import EPS, Head
from theorem.util.tokens import make_tokens

__all__ = ["EPS", "Head", "QK", "RANK_KERNELS", "TOKEN_FAMILIES", "kernel_label", "check_kernel", "rank_class",
           "factors", "degenerate_tokens"]

#: a head, or its query factor ``Q`` (then the key factor is passed beside it)
QK = Head | Float[np.ndarray, "n dk"]

#: every kernel variant whose rank this package predicts
RANK_KERNELS: tuple[Kernel, ...] = (
    Softmax(),
    Poly2(),
    CSQ(shift=0.0, center=False),
    CSQ(shift=0.0, center=True),
    CSQ(shift=1.0, center=False),
    CSQ(shift=1.0, center=True),
    LinearElu(),
)


def kernel_label(kernel: Kernel) -> str:
    """A short unique name: ``softmax``, ``poly2``, ``csq(c=1,centred)``, ``linear``."""
    if isinstance(kernel, CSQ):
        return f"csq(c={kernel.shift:g},{'centred' if kernel.center else 'uncentred'})"
    return kernel.name


def check_kernel(kernel: object) -> Kernel:
    """``kernel`` itself, or the kernel a name stands for; ``ValueError`` otherwise."""
    if isinstance(kernel, str):
        return get_kernel(kernel)
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a theorem.kernels.Kernel or a kernel name, got {kernel!r}")
    return kernel


def rank_class(kernel: Kernel) -> str:
    """The kernel's class in :data:`theorem.symbolic.attention_rank_formulas.CLASSES`.

    Read from the kernel's type and its CSQ ``shift``/``center`` attributes: softmax; linear;
    ``shifted`` (CSQ, c > 0); ``centred`` (CSQ, c = 0, centred); ``square`` (poly2, CSQ c = 0 uncentred).
    """
    if isinstance(kernel, Softmax):
        return "softmax"
    if isinstance(kernel, LinearElu):
        return "linear"
    if isinstance(kernel, CSQ) and kernel.shift > 0:
        return "shifted"
    if isinstance(kernel, CSQ) and kernel.center:
        return "centred"
    if isinstance(kernel, (CSQ, Poly2)):
        return "square"
    raise ValueError(f"kernel: no rank closed form for {kernel!r}")


def factors(
    head_or_q: QK, k: Float[np.ndarray, "n dk"] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(Q, K, δQ, δK)`` in float64: a head's factors with their entrywise rounding bounds, or the
    given ``q, k`` (exact by assumption: zero bounds)."""
    if isinstance(head_or_q, Head):
        h = head_or_q
        return h.q, h.k, h.q_err, h.k_err
    q = np.asarray(head_or_q, dtype=np.float64)
    kk = np.asarray(k, dtype=np.float64)
    if q.ndim != 2 or kk.ndim != 2 or q.shape != kk.shape or q.size == 0:
        raise ValueError(f"q, k must be 2-D arrays of the same non-empty shape (n, d_k), got {q.shape}, {kk.shape}")
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(kk))):
        raise ValueError("q or k contains NaN or Inf")
    return q, kk, np.zeros_like(q), np.zeros_like(kk)


TOKEN_FAMILIES: tuple[str, ...] = (
    "gaussian",
    "repeated_half",  # the second half repeats the first half
    "one_repeat",  # x_1 = x_0
    "sign_flip",  # x_1 = −x_0 (same x^{⊗2})
    "low_rank_half",  # rank ⌈d/2⌉
    "rank_one",
    "layernorm_exact",  # zero mean, unit variance rows (no ε, no affine)
    "layernorm_exact_affine",  # γ ∘ layernorm_exact + β
    "constant_column",  # x_i0 = 1 (a bias feature: 1 ∈ col X)
    "sphere",  # unit-norm rows
    "centred",  # columns of X have zero mean
    "integer",  # small integers (exact structure, ties)
)
"""The token families the rank measurements sweep (definitions in :mod:`theorem.util.tokens`)."""


def degenerate_tokens(family: str, n: int, d: int, seed: int = 0) -> Float[np.ndarray, "n d"]:
    """Tokens ``X`` (n×d) of ``family`` (any of :data:`theorem.util.tokens.FAMILIES`), drawn from ``seed``."""
    return make_tokens(family, n, d, seed)
