r"""CSQ's soft penalty and three forms of it: the exact one and two linear-time candidates (T7.b, issue 13 §2).

Write :math:`u_{ij} = \tilde s_{ij} + c` for CSQ's argument (centred score plus shift, over the keys query
:math:`i` sees).  Through the kernel's own linear form (:meth:`theorem.kernels.CSQ.linear_form`)
:math:`u_{ij} = q'_i\cdot k'_j + e_i` with :math:`q' = q/\sqrt{d_k}`, :math:`k' = k - \mu` (``μ`` the
stop-gradient key mean) and the per-query offset :math:`e_i`, so nothing here re-types the kernel.

* **exact** — :math:`P = \operatorname{mean}_{(i,j)\ \mathrm{visible}} \operatorname{relu}(-u_{ij})^2`
  (:meth:`theorem.kernels.CSQ.vertex_penalty` on the scores): all :math:`n^2` values of :math:`u`.
* **moments** — per query, the mean and variance of :math:`u_{i\cdot}` over its visible keys :math:`V_i`
  (:math:`|V_i| = n`, or :math:`i+1` causal) from the sufficient statistics of the keys,

  .. math::  \mu_i = q'_i\cdot \bar k'_i + e_i,\qquad
             \sigma_i^2 = q_i'^\top\big(\overline{k'k'^\top}_i - \bar k'_i \bar k_i'^\top\big) q'_i,

  :math:`\bar k'_i = |V_i|^{-1}\sum_{j\in V_i} k'_j`, :math:`\overline{k'k'^\top}_i = |V_i|^{-1}\sum_{j\in V_i}
  k'_j k_j'^\top` (prefix sums when causal): exact, :math:`O(n d_k^2)` time, :math:`O(d_k^2)` state
  (:math:`O(n d_k^2)` causal).  For centred CSQ :math:`\mu_i = c` identically (the centring removes the
  mean), so the mean is a constant and the variance carries the information.  The penalty is
  :math:`P_\kappa = \operatorname{mean}_i \operatorname{relu}(\kappa\sigma_i - \mu_i)^2`.
  **Guarantee** (Cantelli's one-sided inequality on the empirical distribution of :math:`u_{i\cdot}`):
  where query :math:`i`'s term is zero, :math:`\mu_i \ge \kappa\sigma_i`, so the fraction of its visible keys
  below the vertex is at most :math:`\sigma_i^2/(\sigma_i^2+\mu_i^2) \le 1/(1+\kappa^2)`
  (:func:`violation_bound`).  It buys this by bounding the spread :math:`\sigma_i \le \mu_i/\kappa` on both
  sides: keys far *above* the vertex are penalized too.
* **sampled** — the exact summand on :math:`m` keys per query drawn uniformly from :math:`V_i` with
  replacement (:func:`sampled_keys`, one PRNG key per call), rows weighted :math:`|V_i|/\sum_i|V_i|`: an
  unbiased estimate of the exact penalty, :math:`O(n m d_k)`.

A penalty is named by :class:`PenaltySpec` (``exact``, ``moments`` with κ, ``sampled`` with m); its value
is ``spec(kernel, q, k, key, causal)`` for one sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from theorem.kernels.base import In, scaled_scores
from theorem.kernels.polynomial import CSQ

__all__ = ["PENALTY_NAMES", "PenaltySpec", "exact_penalty", "query_moments", "moment_penalty", "violation_bound",
           "sampled_keys", "sampled_penalty"]

#: the penalties :class:`PenaltySpec` names
PENALTY_NAMES = ("exact", "moments", "sampled")
#: added to σ² under the square root (the gradient of √ at 0)
_VAR_FLOOR = 1e-12


def _counts(n: int, causal: bool, dtype) -> np.ndarray:
    """``|V_i|``: n for every query, or ``i + 1`` causal (a constant of the program)."""
    return (np.arange(1, n + 1) if causal else np.full(n, n)).astype(dtype)


def exact_penalty(kernel: CSQ, q: Float[In, "n dk"], k: Float[In, "n dk"], causal: bool = False) -> Float[Array, ""]:
    """The penalty as reconstructed: :meth:`CSQ.vertex_penalty` of :math:`S = qk^\\top/\\sqrt{d_k}` (n×n)."""
    return kernel.vertex_penalty(scaled_scores(q, k), causal=causal)


def query_moments(kernel: CSQ, q: Float[In, "n dk"], k: Float[In, "n dk"],
                  causal: bool = False) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    r"""Per query, :math:`\mu_i` and :math:`\sigma_i^2`, the mean and variance of :math:`u_{ij} = \tilde s_{ij}+c`
    over the visible keys, from the keys' first and second moments (module docstring), in :math:`O(n d_k^2)`."""
    form = kernel.linear_form(q, k, causal)
    qs, kp, e = form.q, form.k, form.e
    if causal:
        counts = _counts(kp.shape[0], True, kp.dtype)
        first = jnp.cumsum(kp, axis=0) / counts[:, None]
        second = jnp.cumsum(kp[:, :, None] * kp[:, None, :], axis=0) / counts[:, None, None]
        cov = second - first[:, :, None] * first[:, None, :]
        var = jnp.einsum("na,nab,nb->n", qs, cov, qs)
        mean = jnp.sum(qs * first, axis=-1) + e
    else:
        first = jnp.mean(kp, axis=0)
        cov = kp.T @ kp / kp.shape[0] - jnp.outer(first, first)
        var = jnp.sum((qs @ cov) * qs, axis=-1)
        mean = qs @ first + e
    return mean, jnp.maximum(var, 0.0)


def moment_penalty(kernel: CSQ, q: Float[In, "n dk"], k: Float[In, "n dk"], kappa: float = 1.0,
                   causal: bool = False) -> Float[Array, ""]:
    r""":math:`\operatorname{mean}_i \operatorname{relu}(\kappa\sigma_i - \mu_i)^2` (:func:`query_moments`)."""
    mean, var = query_moments(kernel, q, k, causal)
    return jnp.mean(jax.nn.relu(kappa * jnp.sqrt(var + _VAR_FLOOR) - mean) ** 2)


def violation_bound(kappa: float) -> float:
    r"""Cantelli: where query i's moment term is zero (:math:`\mu_i \ge \kappa\sigma_i`, :math:`\mu_i > 0`), at
    most :math:`1/(1+\kappa^2)` of its visible keys lie below the vertex."""
    return 1.0 / (1.0 + float(kappa) ** 2)


def sampled_keys(key: Array, n: int, m: int, causal: bool = False) -> Int[Array, "n m"]:
    """``m`` key indices per query, uniform with replacement over the visible keys (``0..i`` when causal)."""
    if not causal:
        return jax.random.randint(key, (n, m), 0, n)
    u = jax.random.uniform(key, (n, m))
    seen = np.arange(1, n + 1)[:, None]
    return jnp.minimum(jnp.floor(u * seen.astype(u.dtype)).astype(jnp.int32), (seen - 1).astype(np.int32))


def sampled_penalty(kernel: CSQ, q: Float[In, "n dk"], k: Float[In, "n dk"], idx: Int[In, "n m"],
                    causal: bool = False) -> Float[Array, ""]:
    r""":math:`\sum_i w_i\,\operatorname{mean}_{j\in J_i}\operatorname{relu}(-u_{ij})^2` over the sampled keys
    :math:`J_i` = ``idx[i]``, :math:`w_i = |V_i|/\sum_{i'}|V_{i'}|`; :math:`u_{iJ_i}` from the linear form, O(n·m·d_k)."""
    form = kernel.linear_form(q, k, causal)
    u = jnp.einsum("nd,nmd->nm", form.q, form.k[idx]) + form.e[:, None]
    per_query = jnp.mean(jax.nn.relu(-u) ** 2, axis=-1)
    counts = _counts(u.shape[0], causal, u.dtype)
    return jnp.sum(per_query * (counts / counts.sum()))


@dataclass(frozen=True)
class PenaltySpec:
    """One penalty: ``exact``, ``moments`` (with ``kappa``) or ``sampled`` (with ``m`` keys per query)."""

    name: str = "exact"
    kappa: float = 1.0
    m: int = 4

    def __post_init__(self) -> None:
        if self.name not in PENALTY_NAMES:
            raise ValueError(f"penalty: unknown {self.name!r}; choose one of {', '.join(PENALTY_NAMES)}")
        if not (np.isfinite(self.kappa) and self.kappa > 0):
            raise ValueError(f"penalty: kappa must be a finite number > 0, got {self.kappa}")
        if not (isinstance(self.m, (int, np.integer)) and self.m >= 1):
            raise ValueError(f"penalty: m must be an integer ≥ 1, got {self.m!r}")

    @property
    def label(self) -> str:
        return {"exact": "exact", "moments": f"moments κ={self.kappa:g}", "sampled": f"sampled m={self.m}"}[self.name]

    def __call__(self, kernel: CSQ, q: Float[In, "n dk"], k: Float[In, "n dk"], key: Array | None = None,
                 causal: bool = False) -> Float[Array, ""]:
        """The penalty of one sequence; ``key`` draws the sampled keys (required for ``sampled``)."""
        if self.name == "exact":
            return exact_penalty(kernel, q, k, causal)
        if self.name == "moments":
            return moment_penalty(kernel, q, k, self.kappa, causal)
        if key is None:
            raise ValueError("penalty: the sampled penalty needs a PRNG key")
        return sampled_penalty(kernel, q, k, sampled_keys(key, q.shape[0], self.m, causal), causal)
