"""The attention kernels, defined once.

Every kernel turns queries ``q`` (n×d_k) and keys ``k`` (n×d_k) into row-stochastic
weights ``A`` (n×n).  The score kernels (softmax, poly2, CSQ) see the inputs only
through the score matrix ``S = q kᵀ / √d_k``:

| kernel   | unnormalized weight ``T_ij``                 | null direction of the row map |
|----------|----------------------------------------------|-------------------------------|
| softmax  | ``exp(S_ij)``                                | ``1`` (shift invariance)      |
| poly2    | ``S_ij²``                                    | ``S_i`` (scale invariance)    |
| csq      | ``(S_ij − mean_{j'∈vis(i)} S_ij' + c)²``     | ``S̃_i + c·1``                 |

and ``A_ij = T_ij / Σ_j T_ij``.  The CSQ centering subtracts from each score the
mean score of the keys query ``i`` sees, which equals ``q_i·(k_j − k̄_i)/√d_k``
(all keys, or keys ``0..i`` when causal).  The CSQ formula is the project's
reconstruction (see ``docs/csq.md``); ``center`` and ``shift`` select the variants.

``linear`` (Katharopoulos et al. 2020) is a feature kernel: ``T_ij = φ(q_i)·φ(k_j)``
with ``φ = elu + 1``; it is not a function of ``S`` and so has no ``M = W_Q W_Kᵀ`` form.

The *null direction* is what the rank closed forms need: for a score kernel the
Jacobian of ``S_i ↦ A_i`` (one row) has null space spanned by ``N_i`` whenever every
``T_ij > 0`` (softmax: ``N_i = 1``; the polynomial kernels: ``N_i = T_i^{1/2}``,
the row of the squared quantity).
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "Kernel",
    "Softmax",
    "Poly2",
    "CSQ",
    "LinearElu",
    "KERNEL_NAMES",
    "get_kernel",
    "UnknownKernelError",
]


class UnknownKernelError(ValueError):
    """Raised for a kernel name or parameter that the registry does not know."""


def _visible(n: int, causal: bool) -> Float[Array, "n n"]:
    """0/1 mask of the keys each query sees."""
    ones = jnp.ones((n, n))
    return jnp.tril(ones) if causal else ones


@dataclass(frozen=True)
class Kernel:
    """Base class: a named kernel with the weights map ``(q, k) ↦ A``."""

    name: str = field(init=False, default="")
    is_score_kernel: bool = field(init=False, default=True)

    def weights(
        self, q: Float[Array, "n dk"], k: Float[Array, "n dk"], causal: bool = False
    ) -> Float[Array, "n n"]:
        """Row-normalized attention weights ``A`` for queries ``q`` and keys ``k``."""
        dk = q.shape[-1]
        scores = q @ k.T / jnp.sqrt(dk)
        return self.weights_from_scores(scores, causal=causal)

    # --- score kernels -------------------------------------------------------------
    def unnormalized(self, scores: Float[Array, "n n"], causal: bool = False) -> Float[Array, "n n"]:
        raise NotImplementedError

    def weights_from_scores(
        self, scores: Float[Array, "n n"], causal: bool = False
    ) -> Float[Array, "n n"]:
        """``A_ij = T_ij / Σ_j T_ij`` with ``T = unnormalized(S)`` (zero where masked)."""
        t = self.unnormalized(scores, causal=causal)
        return t / jnp.sum(t, axis=-1, keepdims=True)

    def null_direction(self, scores: Float[Array, "n n"]) -> Float[Array, "n n"]:
        """Rows ``N_i`` spanning the null space of the Jacobian of ``S_i ↦ A_i`` (non-causal)."""
        raise NotImplementedError

    @property
    def centers_keys(self) -> bool:
        """True when the kernel sees the scores only after row-centering."""
        return False

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Softmax(Kernel):
    name: str = field(init=False, default="softmax")

    def unnormalized(self, scores, causal=False):
        vis = _visible(scores.shape[-1], causal)
        shifted = jnp.where(vis > 0, scores, -jnp.inf)
        shifted = shifted - jax.lax.stop_gradient(jnp.max(shifted, axis=-1, keepdims=True))
        return jnp.where(vis > 0, jnp.exp(shifted), 0.0)

    def null_direction(self, scores):
        return jnp.ones_like(scores)


@dataclass(frozen=True)
class Poly2(Kernel):
    """``T_ij = S_ij²``: the row-normalized degree-2 polynomial kernel."""

    name: str = field(init=False, default="poly2")

    def unnormalized(self, scores, causal=False):
        return _visible(scores.shape[-1], causal) * scores**2

    def null_direction(self, scores):
        return scores


@dataclass(frozen=True)
class CSQ(Kernel):
    """Centered, shifted quadratic kernel ``T_ij = (S_ij − S̄_i + c)²`` (reconstruction).

    ``center=False`` drops the centering, ``shift=0`` the shift (``CSQ(0, False)`` is poly2).
    """

    shift: float = 1.0
    center: bool = True
    name: str = field(init=False, default="csq")

    def __post_init__(self) -> None:
        if not math.isfinite(self.shift) or self.shift < 0:
            raise UnknownKernelError(f"csq: shift must be a finite number ≥ 0, got {self.shift}")

    def shifted_scores(self, scores: Float[Array, "n n"], causal: bool = False) -> Float[Array, "n n"]:
        """``S̃_ij + c`` where ``S̃_ij = S_ij − mean_{j'∈vis(i)} S_ij'`` (or ``S_ij`` uncentered)."""
        vis = _visible(scores.shape[-1], causal)
        if self.center:
            mean = jnp.sum(vis * scores, axis=-1, keepdims=True) / jnp.sum(vis, axis=-1, keepdims=True)
            scores = scores - mean
        return scores + self.shift

    def unnormalized(self, scores, causal=False):
        return _visible(scores.shape[-1], causal) * self.shifted_scores(scores, causal) ** 2

    def null_direction(self, scores):
        return self.shifted_scores(scores)

    def vertex_penalty(self, scores: Float[Array, "... n"], causal: bool = False) -> Float[Array, ""]:
        r"""The soft penalty (reconstruction): :math:`\operatorname{mean}_{(i,j)\ \mathrm{visible}}
        \operatorname{relu}(-(\tilde S_{ij} + c))^2`.

        Zero exactly when every visible key is at or above the parabola's vertex
        (:math:`\tilde S + c \ge 0`, where the weight grows with the score), quadratic below it, C¹.
        The paper's form is not public; this squared hinge is the project's one definition, used by
        the matching readings and the training harness.  Non-causal: any leading shape (``… × n``).
        """
        below = jax.nn.relu(-self.shifted_scores(scores, causal=causal)) ** 2
        if not causal:
            return jnp.mean(below)
        vis = _visible(scores.shape[-1], True)
        return jnp.sum(vis * below) / (jnp.sum(vis) * (below.size // vis.size))

    @property
    def centers_keys(self) -> bool:
        return self.center

    def describe(self) -> str:
        return f"csq(shift={self.shift:g}, center={self.center})"


@dataclass(frozen=True)
class LinearElu(Kernel):
    """Linear attention with feature map ``φ(x) = elu(x) + 1`` (Katharopoulos et al. 2020)."""

    name: str = field(init=False, default="linear")
    is_score_kernel: bool = field(init=False, default=False)

    @staticmethod
    def feature_map(x: Float[Array, "n dk"]) -> Float[Array, "n dk"]:
        """``φ(x) = elu(x) + 1``, computed as ``x + 1`` for x > 0 and ``exp(x)`` otherwise (same value,
        no cancellation: elu(x) + 1 rounds to 0 below x ≈ −37, which would make rows 0/0)."""
        return jnp.where(x > 0, x + 1.0, jnp.exp(jnp.minimum(x, 0.0)))

    def weights(self, q, k, causal=False):
        t = self.feature_map(q) @ self.feature_map(k).T * _visible(q.shape[-2], causal)
        return t / jnp.sum(t, axis=-1, keepdims=True)

    def weights_from_scores(self, scores, causal=False):
        raise UnknownKernelError(
            "linear: the elu+1 kernel is not a function of the scores; use the factorized "
            "parametrization (W_Q, W_K), e.g. --dk"
        )


KERNEL_NAMES = ("softmax", "poly2", "csq", "linear")


def get_kernel(name: str, **params) -> Kernel:
    """Look a kernel up by name; ``params`` go to its constructor (``csq``: shift, center)."""
    factories = {"softmax": Softmax, "poly2": Poly2, "csq": CSQ, "linear": LinearElu}
    if name not in factories:
        raise UnknownKernelError(f"unknown kernel {name!r}; choose one of {', '.join(KERNEL_NAMES)}")
    try:
        return factories[name](**params)
    except TypeError as err:
        raise UnknownKernelError(f"{name}: bad parameters {params}: {err}") from None
