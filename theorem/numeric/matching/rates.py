r"""How often (a), (b) fail on realistic inputs (claim T6.d), measured beside their closed forms.

Inputs: ``n`` queries against ``n`` keys.  Queries are ``layernorm`` (Gaussian rows rescaled to norm
:math:`\sqrt{d_k}`, so each row's scores have unit variance) or ``gaussian`` (:math:`N(0, I)` rows);
keys :math:`k_j = \mu + z_j`, :math:`z_j \sim N(0, I)`, with a shared mean :math:`\mu \sim N(0, \tau^2 I)`
(``key_mean`` = τ).  The closed forms are SymPy expressions of :mod:`theorem.symbolic.matching.rates`,
evaluated here (by quadrature where they are expectations).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jaxtyping import Array, Bool, Float
from scipy import integrate, stats

from theorem.kernels import CSQ, Kernel, Poly2
from theorem.numeric.matching.cases import (
    REL_TOL,
    MatchingCase,
    check_reading,
    kernel_offsets,
    matching_kernel,
    reversal,
)
from theorem.symbolic.matching import rates as sr
from theorem.symbolic.matching.identity import monotone_region
from theorem.util.precision import float64

__all__ = [
    "ViolationRates",
    "draw_inputs",
    "realistic_violation_rates",
    "pair_violation_rates",
    "realistic_example",
    "predicted_vertex_misorder_rate",
    "predicted_euclid_misorder_rate",
    "predicted_a_rate",
    "RATE_SETTINGS",
    "rate_table",
]

_S = sr.RATE_SYMBOLS


@dataclass(frozen=True)
class ViolationRates:
    """Per-pair violation rates of (a) and (b) on random inputs, with their standard errors.

    A rate is the fraction of (query, unordered key pair) with a strict reversal, averaged
    per trial; ``*_se`` is the standard error across trials.  ``below_vertex`` is the
    fraction of (query, key) with ``t_j < 0`` (quadratic kernels; ``nan`` otherwise).
    """

    kernel: str
    a_rate: float
    a_se: float
    b_rate: float
    b_se: float
    below_vertex: float
    setting: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "a_rate": self.a_rate,
            "a_se": self.a_se,
            "b_rate": self.b_rate,
            "b_se": self.b_se,
            "below_vertex": self.below_vertex,
            **self.setting,
        }


def draw_inputs(
    key: Array, n: int, dk: int, key_mean: float | Float[Array, ""], query: str
) -> tuple[Float[Array, "n dk"], Float[Array, "n dk"]]:
    """One draw of ``n`` queries and ``n`` keys (see the module docstring)."""
    kq, kk, km = jax.random.split(key, 3)
    q = jax.random.normal(kq, (n, dk))
    if query == "layernorm":
        q = q / jnp.linalg.norm(q, axis=1, keepdims=True) * math.sqrt(dk)
    mu = key_mean * jax.random.normal(km, (dk,))
    k = mu + jax.random.normal(kk, (n, dk))
    return q, k


def pair_violation_rates(
    kernel: Kernel,
    q: Float[Array | np.ndarray, "n dk"],
    k: Float[Array | np.ndarray, "n dk"],
    *,
    causal: bool = False,
    rows: Bool[Array | np.ndarray, " n"] | None = None,
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    r"""The (a) and (b) violation rates of ``kernel`` on one set of queries and keys: the fraction of
    (query :math:`i`, unordered pair of keys :math:`j \ne l` that :math:`i` sees) with a strict reversal,
    :math:`s_{ij} > s_{il}` but :math:`w_{ij} < w_{il}` (a), :math:`\lVert q_i-k_j\rVert < \lVert q_i-k_l\rVert`
    but :math:`w_{ij} < w_{il}` (b); :math:`s = qk^\top/\sqrt{d_k}`.  ``causal``: query :math:`i` sees keys
    :math:`j \le i`; ``rows``: a boolean mask of the queries counted (all by default).  The weights are the
    ones the head attends with (``kernel.weights(q, k, causal)``): a row normalization alone would not change
    a comparison within a row, but CSQ's centering subtracts the mean score of the keys the query *sees*, so
    causal and non-causal weights can order a row's keys differently."""
    q, k = jnp.asarray(q), jnp.asarray(k)
    n, dk = q.shape
    w = kernel.weights(q, k, causal=causal)
    s = q @ k.T / math.sqrt(dk)
    d2 = jnp.sum((q[:, None, :] - k[None, :, :]) ** 2, axis=-1)
    rev = w[:, :, None] < w[:, None, :] * (1.0 - REL_TOL)  # (i, j, l): w_ij < w_il
    if causal or rows is not None:
        vis = jnp.asarray(np.tril(np.ones((n, n), dtype=bool)) if causal else np.ones((n, n), dtype=bool))
        if rows is not None:
            vis = vis & jnp.asarray(rows, dtype=bool)[:, None]
        rev = rev & vis[:, :, None] & vis[:, None, :]
        seen = jnp.sum(vis, axis=1, dtype=s.dtype)
        pairs = jnp.sum(seen * (seen - 1) / 2)
    else:
        pairs = n * n * (n - 1) / 2
    a = jnp.sum((s[:, :, None] > s[:, None, :]) & rev, dtype=s.dtype) / pairs
    b = jnp.sum((d2[:, :, None] < d2[:, None, :]) & rev, dtype=s.dtype) / pairs
    return a, b


def _pair_rates(kernel: Kernel, q: Float[Array, "n dk"], k: Float[Array, "n dk"]):
    s = q @ k.T / math.sqrt(q.shape[1])
    a, b = pair_violation_rates(kernel, q, k)
    if isinstance(kernel, CSQ):
        below = jnp.mean(kernel.shifted_scores(s) < 0, dtype=s.dtype)
    elif isinstance(kernel, Poly2):
        below = jnp.mean(s < 0, dtype=s.dtype)
    else:
        below = jnp.asarray(jnp.nan, dtype=s.dtype)
    return a, b, below


def _check_query(query: str) -> None:
    if query not in ("layernorm", "gaussian"):
        raise ValueError(f"query: must be 'layernorm' or 'gaussian', got {query!r}")


@functools.partial(jax.jit, static_argnames=("kernel", "n", "dk", "query"))
def _trial_rates(keys, key_mean, *, kernel: Kernel, n: int, dk: int, query: str):
    """(a), (b) rates and the below-vertex fraction of each trial's draw: one program per kernel and shape,
    shared by every key mean τ (a traced scalar) and by the readings that ask again."""

    def one(key):
        q, k = draw_inputs(key, n, dk, key_mean, query)
        return _pair_rates(kernel, q, k)

    return jax.lax.map(one, keys)


@float64
def realistic_violation_rates(
    kernel_name: str,
    *,
    n: int = 32,
    dk: int = 16,
    trials: int = 100,
    key_mean: float = 0.0,
    query: str = "layernorm",
    seed: int = 0,
) -> ViolationRates:
    """Violation rates of (a), (b) on ``trials`` draws of :func:`draw_inputs` (float64)."""
    kernel = matching_kernel(kernel_name)
    _check_query(query)
    if n < 2 or dk < 1 or trials < 2:
        raise ValueError(f"n ≥ 2, dk ≥ 1, trials ≥ 2 required (got n={n}, dk={dk}, trials={trials})")
    if not (math.isfinite(key_mean) and key_mean >= 0):
        raise ValueError(f"key_mean: must be a finite number ≥ 0, got {key_mean}")

    keys = jax.random.split(jax.random.PRNGKey(seed), trials)
    a, b, below = (np.asarray(x) for x in _trial_rates(keys, key_mean, kernel=kernel, n=n, dk=dk, query=query))

    def se(x: np.ndarray) -> float:
        return float(np.std(x, ddof=1) / math.sqrt(trials))

    return ViolationRates(
        kernel_name, float(a.mean()), se(a), float(b.mean()), se(b), float(np.mean(below)),
        {"n": n, "dk": dk, "trials": trials, "key_mean": key_mean, "query": query, "seed": seed},
    )


@float64
def realistic_example(
    kernel_name: str, reading: str, *, n: int = 32, dk: int = 16, key_mean: float = 0.0, seed: int = 0
) -> dict[str, Any] | None:
    """One violation of ``reading`` in one draw of :func:`realistic_violation_rates` inputs
    (layernorm queries), as plain numbers: the query row, the two keys, their scores,
    squared distances, ``t`` values (quadratic kernels) and weights; ``None`` if the draw has none."""
    check_reading(reading)
    kernel = matching_kernel(kernel_name)
    q, k = draw_inputs(jax.random.PRNGKey(seed), n, dk, key_mean, "layernorm")
    for i in range(n):
        case = MatchingCase(np.asarray(q[i]), np.asarray(k))
        rev = reversal(kernel, case, reading)
        if rev.violated:
            t = kernel_offsets(kernel, case)
            pick = [rev.i, rev.j]
            return {
                "setting": {"n": n, "dk": dk, "key_mean": key_mean, "seed": seed, "query": "layernorm"},
                "query_row": i,
                "keys": pick,
                "scores": case.scores[pick].tolist(),
                "sq_distances": case.sq_distances[pick].tolist(),
                "t": None if t is None else t[pick].tolist(),
                "weights": rev.weights[pick].tolist(),
            }
    return None


def predicted_vertex_misorder_rate(
    *, center: bool, shift: float, n: int, key_mean: float = 0.0, query: str = "layernorm", dk: int = 16
) -> float:
    r"""The (a) violation rate of CSQ / poly2 on :func:`realistic_violation_rates` inputs:
    :func:`theorem.symbolic.matching.vertex_misorder_rate` at :math:`\sigma = 1` (``layernorm``
    queries) or averaged over :math:`\sigma^2 \sim \chi^2_{d_k}/d_k` (``gaussian``, quadrature)."""
    if n < 3 and center:
        raise ValueError(f"n: the centered closed form needs n ≥ 3, got {n}")
    _check_query(query)
    expr = sr.vertex_misorder_rate(center).subs({_S["c"]: sp.Float(shift, 30), _S["n"]: n, _S["tau"]: sp.Float(key_mean, 30)})
    if query == "layernorm":
        return float(expr.subs(_S["sigma"], 1))
    rate = sp.lambdify(_S["sigma"], expr, modules="math")
    chi2 = stats.chi2(dk)
    return float(integrate.quad(lambda x: rate(math.sqrt(x / dk)) * chi2.pdf(x), 0.0, np.inf, limit=200)[0])


def predicted_euclid_misorder_rate(*, dk: int, key_mean: float = 0.0) -> float:
    r"""The (b) violation rate of softmax (and every kernel strictly increasing in the score) on
    layernorm queries: :math:`\mathbb{E}` of :func:`theorem.symbolic.matching.euclid_misorder_angle`,
    inner expectation over :math:`Z` by Gauss–Hermite (96 nodes), outer over :math:`W` by adaptive
    quadrature; :math:`d_k = 1`: :func:`theorem.symbolic.matching.euclid_misorder_rate_dk1`."""
    if dk < 1:
        raise ValueError(f"dk: must be ≥ 1, got {dk}")
    sw = sr.euclid_spread_sq().subs(_S["tau"], sp.Float(key_mean, 30)) ** sp.Rational(1, 2)
    if dk == 1:  # no orthogonal part: the angle is 0 or π
        return float(sr.euclid_misorder_rate_dk1().subs(_S["sigma_w"], sw))
    angle = sp.lambdify((_S["W"], _S["Z"]), sr.euclid_misorder_angle().subs({_S["sigma_w"]: sw, _S["dk"]: dk}), modules="numpy")
    nodes, weights = np.polynomial.hermite_e.hermegauss(96)
    weights = weights / math.sqrt(2.0 * math.pi)
    chi2 = stats.chi2(dk - 1)

    def inner(x: float) -> float:
        return float(np.dot(weights, angle(x, nodes))) * chi2.pdf(x)

    return float(integrate.quad(inner, 0.0, chi2.ppf(1 - 1e-14), limit=200)[0])


def predicted_a_rate(kernel_name: str, n: int, key_mean: float) -> tuple[float | None, str]:
    """Closed-form (a) rate and its formula: 0 for kernels increasing in the score everywhere
    (softmax, derived by :func:`~theorem.symbolic.matching.monotone_region`); the vertex formula for
    CSQ and poly2 (= CSQ with c = 0, uncentered); None for the others."""
    kernel = matching_kernel(kernel_name)
    if isinstance(kernel, (CSQ, Poly2)):
        center, shift = (kernel.center, kernel.shift) if isinstance(kernel, CSQ) else (False, 0.0)
        formula = sp.sstr(sr.vertex_misorder_rate(center).subs(_S["sigma"], 1))
        return predicted_vertex_misorder_rate(center=center, shift=shift, n=n, key_mean=key_mean), formula
    if kernel_name == "softmax" and monotone_region("softmax").everywhere:
        return 0.0, "0 (the weight increases with the score everywhere)"
    return None, "none"


#: (kernel, key mean τ) of the rate table the ledger reads (T6.d)
RATE_SETTINGS: tuple[tuple[str, float], ...] = (
    ("csq", 0.0),
    ("csq", 1.0),
    ("csq-uncentered", 0.0),
    ("csq-uncentered", 1.0),
    ("csq-noshift", 0.0),
    ("softmax", 0.0),
    ("softmax", 1.0),
)


def rate_table(
    settings: tuple[tuple[str, float], ...] = RATE_SETTINGS, *, n: int = 32, dk: int = 16, trials: int = 40
) -> list[dict[str, Any]]:
    """Measured (a), (b) violation rates beside their closed forms, per (kernel, key mean τ).

    (b): softmax's closed form; for the other kernels the union bound ``P_b(softmax) + P_a(kernel)``
    (a reversed nearer key is a score/distance disagreement or a vertex reversal).
    """
    rows = []
    angle = sp.sstr(sr.euclid_misorder_angle())
    for kernel_name, tau in settings:
        r = realistic_violation_rates(kernel_name, n=n, dk=dk, trials=trials, key_mean=tau)
        pa, a_formula = predicted_a_rate(kernel_name, n, tau)
        pb_soft = predicted_euclid_misorder_rate(dk=dk, key_mean=tau)
        data = {**r.to_dict(), "a_predicted": pa, "a_formula": a_formula}
        if kernel_name == "softmax":
            data.update(b_predicted=pb_soft, b_formula=f"E[{angle}], sigma_w**2 = {sr.euclid_spread_sq()}")
        else:
            data.update(b_upper_bound=pb_soft + (pa or 0.0), b_formula="≤ P_b(softmax) + P_a(kernel) (union bound)")
        rows.append(data)
    return rows
