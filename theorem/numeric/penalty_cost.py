r"""The cost of training with CSQ's soft penalty, read off the traced programs (T7.b, issue 13 §2).

The penalty as reconstructed (:meth:`theorem.kernels.CSQ.vertex_penalty`) is

.. math::  P = \operatorname{mean}_{(i,j)\ \mathrm{visible}} \operatorname{relu}(-(\tilde S_{ij} + c))^2,

a function of every one of the :math:`n^2` centred scores: its gradient's jaxpr holds :math:`n\times n`
arrays and its operations grow as :math:`n^2`, whatever the attention itself costs.  Two candidates
for a penalty that is linear in :math:`n` are written here, built only from the kernel's own feature
map (:meth:`theorem.kernels.CSQ.features`, :math:`\varphi_c(q)\cdot\psi(k) = (\tilde s + c)^2`), so no
kernel formula is repeated (non-causal):

* **moments** — per query, the mean and variance over keys of :math:`x_{ij} = \tilde s_{ij} + c`, exact and
  :math:`O(n D)`: :math:`E_j[x^2] = \varphi_c(q_i)\cdot\bar\psi_c`, and :math:`E_j[x]` from two shifts,
  :math:`(x+1)^2 - x^2 = 2x + 1`; the penalty is :math:`\operatorname{mean}_i \operatorname{relu}(\kappa\sigma_i - \mu_i)^2`
  (zero when query i's keys lie, to :math:`\kappa` standard deviations, above the parabola's vertex);
* **sampled** — the exact penalty's summand on :math:`m` keys per query drawn once (fixed indices),
  :math:`O(n m D)`, with :math:`x_{ij}` again from two shifts of the features.

Whether either keeps what the penalty is for (the T6 readings: monotonicity reversals, loss cost,
divergence) is not measured here.  :func:`penalty_profile` reads, for a penalty and sizes, the operations
of ``jax.grad`` of the penalty (forward and backward) and the arrays with two axes ≥ n.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from theorem.kernels import CSQ
from theorem.numeric.linear_jaxpr import array_shapes, count_flops, square_arrays

__all__ = ["exact_penalty", "moment_penalty", "sampled_penalty", "sampled_keys", "PENALTIES", "penalty_profile",
           "query_moments"]


def _scores(q: Float[Array, "n dk"], k: Float[Array, "m dk"]) -> Float[Array, "n m"]:
    """:math:`S = q k^\\top / \\sqrt{d_k}`."""
    return q @ k.T / math.sqrt(q.shape[-1])


def exact_penalty(q: Float[Array, "n dk"], k: Float[Array, "n dk"], kernel: CSQ = CSQ()) -> Float[Array, ""]:
    """The reconstructed penalty :meth:`CSQ.vertex_penalty` of the scores :math:`q k^\\top/\\sqrt{d_k}` (non-causal)."""
    return kernel.vertex_penalty(_scores(q, k))


def _two_shift_features(q, k, kernel: CSQ):
    """Feature pairs with shifts c and c + 1: ``(φ_c(q), ψ_c(k)), (φ_{c+1}(q), ψ_{c+1}(k))`` (for c = 0 the
    kernel's minimal lift has fewer features than the shifted one, so each shift keeps its own ψ)."""
    return kernel.features(q, k), CSQ(shift=kernel.shift + 1.0, center=kernel.center).features(q, k)


def query_moments(q: Float[Array, "n dk"], k: Float[Array, "n dk"],
                  kernel: CSQ = CSQ()) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    r"""Per query, :math:`\mu_i = E_j[\tilde s_{ij} + c]` and :math:`E_j[(\tilde s_{ij} + c)^2]`, exact, in O(n·D):
    :math:`E_j[x^2] = \varphi_c(q_i)\cdot\bar\psi_c` and :math:`2E_j[x] + 1 = \varphi_{c+1}(q_i)\cdot\bar\psi_{c+1} - E_j[x^2]`."""
    (phi_c, psi_c), (phi_c1, psi_c1) = _two_shift_features(q, k, kernel)
    second = phi_c @ jnp.mean(psi_c, axis=0)
    first = (phi_c1 @ jnp.mean(psi_c1, axis=0) - second - 1.0) / 2.0
    return first, second


def moment_penalty(q: Float[Array, "n dk"], k: Float[Array, "n dk"], kernel: CSQ = CSQ(),
                   kappa: float = 1.0) -> Float[Array, ""]:
    """:math:`\\operatorname{mean}_i \\operatorname{relu}(\\kappa\\sigma_i - \\mu_i)^2`, :math:`\\sigma_i^2 = E_j[x^2] - \\mu_i^2`."""
    mu, second = query_moments(q, k, kernel)
    sigma = jnp.sqrt(jnp.maximum(second - mu**2, 0.0) + 1e-12)
    return jnp.mean(jax.nn.relu(kappa * sigma - mu) ** 2)


def sampled_keys(n: int, m: int, seed: int = 0) -> Int[np.ndarray, "n m"]:
    """``m`` key indices per query, drawn uniformly with replacement once (a constant of the program)."""
    return np.random.default_rng([seed, n, m]).integers(0, n, size=(n, m))


def sampled_penalty(q: Float[Array, "n dk"], k: Float[Array, "n dk"], idx: Int[np.ndarray, "n m"],
                    kernel: CSQ = CSQ()) -> Float[Array, ""]:
    """:math:`\\operatorname{mean}_{i, j \\in J_i} \\operatorname{relu}(-x_{ij})^2` over the sampled keys :math:`J_i`,
    :math:`x_{ij} = (\\varphi_{c+1}(q_i)\\cdot\\psi(k_j) - \\varphi_c(q_i)\\cdot\\psi(k_j) - 1)/2`, in O(n·m·D)."""
    (phi_c, psi_c), (phi_c1, psi_c1) = _two_shift_features(q, k, kernel)
    x = (jnp.einsum("nd,nmd->nm", phi_c1, psi_c1[idx]) - jnp.einsum("nd,nmd->nm", phi_c, psi_c[idx]) - 1.0) / 2.0
    return jnp.mean(jax.nn.relu(-x) ** 2)


#: name → builder of the penalty ``f(q, k)`` at size n (the sampled one takes m keys per query)
PENALTIES: dict[str, Callable] = {
    "exact": lambda n, m: exact_penalty,
    "moments": lambda n, m: moment_penalty,
    "sampled": lambda n, m: (lambda q, k, _idx=sampled_keys(n, m): sampled_penalty(q, k, _idx)),
}


def penalty_profile(name: str, ns, dk: int = 4, m: int = 16) -> list[dict]:
    """For each n: the operations of the penalty's forward and of ``jax.grad`` w.r.t. (q, k) (read off the
    jaxpr with :func:`~theorem.numeric.linear_jaxpr.count_flops`), the arrays with two axes ≥ n in the
    gradient's program, and its largest array."""
    rows = []
    for n in ns:
        f = PENALTIES[name](n, m)
        x = jnp.zeros((n, dk), jnp.float32)
        grad = jax.grad(f, argnums=(0, 1))
        fwd, both = count_flops(f, x, x), count_flops(grad, x, x)
        shapes = array_shapes(grad, x, x)
        rows.append({"penalty": name, "n": n, "dk": dk, "m": m if name == "sampled" else None,
                     "forward": fwd.total, "forward_and_backward": both.total,
                     "square": [list(s) for s in square_arrays(grad, n, x, x)],
                     "largest_array": list(max(shapes, key=math.prod))})
    return rows
