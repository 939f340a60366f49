r"""Matching properties of attention kernels, measured (claims T4 and T6).

"Euclidean matching" is never defined in what is known of the paper; this module gives
it precise readings, each a checkable property of a kernel at **one fixed query** ``q``
and one set of keys ``k_1..k_n`` (weights ``w_j`` = that query's row of ``A``):

* **(a) dot-product monotonicity** — for every pair of keys,
  :math:`q\cdot k_i > q\cdot k_j \Rightarrow w_i \ge w_j`; a *violation* is a strict
  reversal (the key with the larger dot product gets strictly less weight);
* **(b) Euclidean matching** — for every pair,
  :math:`\lVert q-k_i\rVert < \lVert q-k_j\rVert \Rightarrow w_i \ge w_j`;
* **(d) contrast** — the smallest score gap :math:`\Delta^*` that gives the best key at
  least half of the mass against :math:`n-1` equal distractors (``n`` keys in all);
* **(e) CSQ's parts** — how often realistic inputs violate (a), (b) when CSQ's soft
  penalty is off, and what a short training run with the penalty on does to that.

(c), the identity :math:`\operatorname{softmax}(q\cdot k) =
\operatorname{softmax}(-\lVert q-k\rVert^2/2 + \lVert k\rVert^2/2)`, is derived in
:mod:`theorem.symbolic.matching`, which also holds the contrast closed forms.

Kernels under test (:data:`MATCHING_KERNELS`): those of :mod:`theorem.kernels`, the CSQ
variants, and the *scaled RBF softmax* :class:`ScaledRBFSoftmax`,
:math:`w_j \propto \exp(-\lVert q-k_j\rVert^2 / (2\sqrt{d_k}))`, a variant used only here.

Conditions (:data:`CONDITIONS`) are the ones the derivations say each kernel needs:
``equal-key-norms`` removes the key-norm term of (c); ``above-vertex`` keeps a quadratic
kernel on the increasing side of its parabola (every :math:`t_j = \tilde s_j + c > 0`).
The exact condition for a quadratic kernel is weaker (:func:`quadratic_order_margin`):
with :math:`t_i - t_j = s_i - s_j > 0`, :math:`t_i^2 \ge t_j^2 \iff t_i + t_j \ge 0`,
so no pair is reversed iff the two smallest :math:`t` sum to :math:`\ge 0`.

The **soft penalty** of CSQ (:func:`csq_penalty`) is the project's reconstruction
(``claims.md``, T6): a loss term :math:`\lambda\cdot\operatorname{mean}\,
\operatorname{relu}(-(\tilde s + c))^2` that pushes centered shifted scores above the vertex.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels import CSQ, Kernel, LinearElu, Poly2, Softmax, get_kernel

jax.config.update("jax_enable_x64", True)

__all__ = [
    "ScaledRBFSoftmax",
    "MATCHING_KERNELS",
    "READINGS_AB",
    "CONDITIONS",
    "MatchingCase",
    "Reversal",
    "SearchResult",
    "matching_kernel",
    "query_weights",
    "kernel_offsets",
    "reversal",
    "vertex_margin",
    "quadratic_order_margin",
    "candidate_conditions",
    "meets",
    "matching_cases",
    "search_counterexample",
    "contrast_case",
    "best_key_mass",
    "measure_contrast_gap",
    "CONTRAST_LEVELS",
    "ViolationRates",
    "realistic_violation_rates",
    "realistic_example",
    "predicted_vertex_misorder_rate",
    "predicted_euclid_misorder_rate",
    "csq_penalty",
    "PenaltyRun",
    "penalty_sweep",
]

#: relative tolerance of a reversal: ``w_j − w_i > REL_TOL · max(w)``
REL_TOL = 1e-9
#: relative margin a premise (``s_i > s_j``, ``‖q−k_i‖² < ‖q−k_j‖²``) must clear
PREMISE_TOL = 1e-9


# ------------------------------------------------------------------------------------
# the kernels under test
# ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaledRBFSoftmax(Kernel):
    r"""Scaled RBF softmax: :math:`A_{ij} = \operatorname{softmax}_j(-\lVert q_i-k_j\rVert^2/(2\sqrt{d_k}))`.

    By the identity (c), this is softmax attention with the key-norm term
    :math:`\lVert k_j\rVert^2/(2\sqrt{d_k})` removed from the scores.  It is not a function
    of :math:`S = qk^\top/\sqrt{d_k}` alone (it needs the key norms), so it has no
    ``weights_from_scores``.  The row normalization is softmax's own
    (:meth:`theorem.kernels.Softmax.weights_from_scores` on the RBF scores).
    """

    name: str = field(init=False, default="rbf")
    is_score_kernel: bool = field(init=False, default=False)

    @staticmethod
    def rbf_scores(q: Float[Array, "m dk"], k: Float[Array, "n dk"]) -> Float[Array, "m n"]:
        r""":math:`-\lVert q_i-k_j\rVert^2/(2\sqrt{d_k})`, computed from differences (no cancellation)."""
        diff = q[:, None, :] - k[None, :, :]
        return -jnp.sum(diff**2, axis=-1) / (2.0 * jnp.sqrt(q.shape[-1]))

    def weights(self, q, k, causal=False):
        return Softmax().weights_from_scores(self.rbf_scores(q, k), causal=causal)

    def weights_from_scores(self, scores, causal=False):
        raise ValueError("rbf: the scaled RBF softmax needs the key norms, not only the scores; call weights(q, k)")


#: every kernel the matching readings test, by the name the ledger uses
MATCHING_KERNELS: dict[str, Kernel] = {
    "softmax": get_kernel("softmax"),
    "rbf": ScaledRBFSoftmax(),
    "linear": get_kernel("linear"),
    "poly2": get_kernel("poly2"),
    "csq": get_kernel("csq", shift=1.0, center=True),
    "csq-uncentered": get_kernel("csq", shift=1.0, center=False),
    "csq-noshift": get_kernel("csq", shift=0.0, center=True),
}

READINGS_AB = ("a", "b")


def matching_kernel(name: str) -> Kernel:
    """The kernel of :data:`MATCHING_KERNELS` called ``name`` (ValueError naming it otherwise)."""
    if name not in MATCHING_KERNELS:
        raise ValueError(f"kernel: unknown matching kernel {name!r}; choose one of {', '.join(MATCHING_KERNELS)}")
    return MATCHING_KERNELS[name]


def _check_reading(reading: str) -> None:
    if reading not in READINGS_AB:
        raise ValueError(f"reading: must be 'a' (dot-product monotonicity) or 'b' (Euclidean matching), got {reading!r}")


# ------------------------------------------------------------------------------------
# one query, its keys, and the properties (a), (b)
# ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchingCase:
    """One query ``q`` (d_k,) and its keys (n, d_k), as float64 arrays."""

    q: np.ndarray
    keys: np.ndarray

    def __post_init__(self) -> None:
        q = np.asarray(self.q, dtype=np.float64)
        keys = np.asarray(self.keys, dtype=np.float64)
        if q.ndim != 1 or q.size == 0:
            raise ValueError(f"q: expected a non-empty 1-D query of length d_k, got shape {q.shape}")
        if keys.ndim != 2 or keys.shape[1] != q.size or keys.shape[0] < 2:
            raise ValueError(f"keys: expected an (n ≥ 2, d_k={q.size}) array, got shape {keys.shape}")
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(keys))):
            raise ValueError("q, keys: NaN or Inf entries")
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "keys", keys)

    @property
    def dk(self) -> int:
        return self.q.size

    @property
    def scores(self) -> np.ndarray:
        r""":math:`s_j = q\cdot k_j/\sqrt{d_k}`."""
        return self.keys @ self.q / math.sqrt(self.dk)

    @property
    def sq_distances(self) -> np.ndarray:
        r""":math:`\lVert q-k_j\rVert^2`."""
        return np.sum((self.keys - self.q) ** 2, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {"q": self.q.tolist(), "keys": self.keys.tolist()}


_JITTED: dict[Any, Callable] = {}


def _jitted(kernel: Kernel) -> Callable:
    """``kernel.weights`` compiled once per kernel and shape (far cheaper than eager dispatch)."""
    if kernel not in _JITTED:
        _JITTED[kernel] = jax.jit(lambda q, k: kernel.weights(q[None, :], k)[0])
    return _JITTED[kernel]


def query_weights(kernel: Kernel, q: Float[Array, " dk"], keys: Float[Array, "n dk"]) -> np.ndarray:
    """The weights ``w`` (n,) that ``kernel`` gives one query ``q`` over ``keys`` (non-causal)."""
    q = jnp.asarray(q, dtype=jnp.float64)
    keys = jnp.asarray(keys, dtype=jnp.float64)
    return np.asarray(_jitted(kernel)(q, keys))


def kernel_offsets(kernel: Kernel, case: MatchingCase) -> np.ndarray | None:
    r"""The quantity a quadratic kernel squares: ``t_j`` (CSQ: :math:`\tilde s_j + c`; poly2: :math:`s_j`).

    ``None`` for the kernels without a vertex (softmax, rbf, linear).
    """
    if isinstance(kernel, CSQ):
        if ("t", kernel) not in _JITTED:  # CSQ.shifted_scores of one row (its own code, compiled)
            _JITTED[("t", kernel)] = jax.jit(
                lambda s: kernel.shifted_scores(jnp.broadcast_to(s, (s.shape[0], s.shape[0])))[0]
            )
        return np.asarray(_JITTED[("t", kernel)](jnp.asarray(case.scores)))
    if isinstance(kernel, Poly2):
        return np.asarray(case.scores)
    return None


def vertex_margin(kernel: Kernel, case: MatchingCase) -> float:
    """``min_j t_j`` (> 0: every key above the vertex); ``+inf`` for kernels without a vertex."""
    t = kernel_offsets(kernel, case)
    return math.inf if t is None else float(np.min(t))


def quadratic_order_margin(t: Float[np.ndarray, " n"]) -> float:
    r"""Sum of the two smallest ``t``: no pair of a quadratic kernel is reversed iff this is ``≥ 0``.

    For :math:`w_j \propto t_j^2` and :math:`t_i - t_j = s_i - s_j > 0`:
    :math:`t_i^2 - t_j^2 = (t_i - t_j)(t_i + t_j)`, so the pair is reversed iff
    :math:`t_i + t_j < 0`; the smallest pair sum is that of the two smallest entries.
    """
    t = np.sort(np.asarray(t, dtype=np.float64))
    if t.size < 2:
        raise ValueError(f"t: need at least 2 entries, got {t.size}")
    return float(t[0] + t[1])


@dataclass(frozen=True)
class Reversal:
    """The worst reversal of a reading on one case: ``amount = (w_j − w_i)/max w`` for the pair
    ``(i, j)`` where ``i`` is preferred by the premise.  ``amount ≤ REL_TOL``: no violation."""

    amount: float
    i: int
    j: int
    weights: np.ndarray

    @property
    def violated(self) -> bool:
        return self.amount > REL_TOL


def reversal(kernel: Kernel, case: MatchingCase, reading: str) -> Reversal:
    """Worst reversal of reading ``a`` (premise ``s_i > s_j``) or ``b`` (``‖q−k_i‖ < ‖q−k_j‖``)."""
    _check_reading(reading)
    w = query_weights(kernel, case.q, case.keys)
    if reading == "a":
        key = case.scores  # larger is preferred
    else:
        key = -case.sq_distances  # nearer is preferred
    scale = 1.0 + np.abs(key)
    prem = (key[:, None] - key[None, :]) > PREMISE_TOL * (scale[:, None] + scale[None, :])
    top = float(np.max(w))
    if not np.any(prem) or not np.isfinite(top) or top <= 0.0:
        return Reversal(-1.0, -1, -1, w)
    rev = np.where(prem, (w[None, :] - w[:, None]) / top, -np.inf)
    i, j = np.unravel_index(int(np.argmax(rev)), rev.shape)
    return Reversal(float(rev[i, j]), int(i), int(j), w)


# ------------------------------------------------------------------------------------
# conditions and the counterexample search
# ------------------------------------------------------------------------------------

CONDITIONS: dict[str, str] = {
    "equal-key-norms": "all keys have the same Euclidean norm (e.g. normalized keys)",
    "above-vertex": (
        "every key lies above the parabola's vertex: t_j > 0 for all j "
        "(CSQ: t_j = q·(k_j − k̄)/√d_k + c; poly2: t_j = q·k_j/√d_k)"
    ),
    "nonnegative-inputs": "query and keys have nonnegative entries",
}


def candidate_conditions(kernel: Kernel, reading: str) -> tuple[str, ...]:
    """The conditions under which the derivations say ``reading`` can hold for ``kernel``.

    (a) needs the weight to increase with the score: quadratic kernels need ``above-vertex``;
    the RBF softmax, whose score carries ``−‖k‖²/2`` (identity (c)), needs ``equal-key-norms``.
    (b) needs (a) and the key-norm term gone: add ``equal-key-norms`` (the RBF needs nothing).
    The elu+1 kernel is no function of the score; the most favourable natural conditions
    are tried (``nonnegative-inputs``, and equal norms for (b)).
    """
    _check_reading(reading)
    if isinstance(kernel, ScaledRBFSoftmax):
        return ("equal-key-norms",) if reading == "a" else ()
    if isinstance(kernel, LinearElu):
        return ("nonnegative-inputs",) if reading == "a" else ("nonnegative-inputs", "equal-key-norms")
    base = ("above-vertex",) if isinstance(kernel, (CSQ, Poly2)) else ()
    return base if reading == "a" else base + ("equal-key-norms",)


def meets(kernel: Kernel, case: MatchingCase, conditions: tuple[str, ...]) -> bool:
    """Whether ``case`` satisfies every named condition (relative tolerance 1e-9 on norms)."""
    for name in conditions:
        if name not in CONDITIONS:
            raise ValueError(f"conditions: unknown condition {name!r}; choose from {', '.join(CONDITIONS)}")
        if name == "equal-key-norms":
            norms = np.linalg.norm(case.keys, axis=1)
            if np.ptp(norms) > 1e-9 * max(1.0, float(np.max(norms))):
                return False
        elif name == "above-vertex":  # strictly, beyond round-off of the scores (t = s̃ + c can be ~1e-17)
            if not vertex_margin(kernel, case) > 1e-9 * (1.0 + float(np.max(np.abs(case.scores)))):
                return False
        elif name == "nonnegative-inputs":
            if np.any(case.q < 0) or np.any(case.keys < 0):
                return False
    return True


def matching_cases(
    *,
    max_dk: int = 3,
    max_keys: int = 4,
    bound: float = 10.0,
    equal_norms: bool = False,
    nonnegative: bool = False,
):
    """Hypothesis strategy of :class:`MatchingCase`: d_k ≤ ``max_dk``, 2..``max_keys`` keys,
    entries in ``[−bound, bound]`` (``[0, bound]`` when ``nonnegative``); with ``equal_norms``
    every key is rescaled to one drawn radius (a zero direction becomes the first axis)."""
    from hypothesis import strategies as st

    if max_dk < 1 or max_keys < 2 or not bound > 0:
        raise ValueError(f"matching_cases: need max_dk ≥ 1, max_keys ≥ 2, bound > 0 (got {max_dk}, {max_keys}, {bound})")
    lo = 0.0 if nonnegative else -bound
    entry = st.floats(lo, bound, allow_nan=False, allow_infinity=False)

    @st.composite
    def build(draw):
        dk = draw(st.integers(1, max_dk))
        n = draw(st.integers(2, max_keys))
        q = np.array(draw(st.lists(entry, min_size=dk, max_size=dk)))
        keys = np.array([draw(st.lists(entry, min_size=dk, max_size=dk)) for _ in range(n)])
        if equal_norms:
            radius = draw(st.floats(0.5, bound, allow_nan=False))
            norms = np.linalg.norm(keys, axis=1, keepdims=True)
            axis = np.zeros(dk)
            axis[0] = 1.0
            keys = np.where(norms > 0, keys / np.where(norms > 0, norms, 1.0), axis) * radius
        return MatchingCase(q, keys)

    return build()


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one Hypothesis search for a violation of ``reading`` by ``kernel``.

    ``counterexample`` is the minimal case Hypothesis shrank to (``None``: none found in
    ``max_examples``); ``evaluated``/``met`` count the cases tried and those meeting the
    conditions with at least one pair the reading speaks about (``met == 0``: the conditions
    were never met non-vacuously, so the search says nothing).
    """

    kernel: str
    reading: str
    conditions: tuple[str, ...]
    counterexample: dict[str, Any] | None
    evaluated: int
    met: int
    max_examples: int
    seconds: float

    @property
    def found(self) -> bool:
        return self.counterexample is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "reading": self.reading,
            "conditions": list(self.conditions),
            "counterexample": self.counterexample,
            "cases_evaluated": self.evaluated,
            "cases_meeting_conditions": self.met,
            "max_examples": self.max_examples,
            "seconds": round(self.seconds, 3),
        }


def describe_violation(kernel: Kernel, case: MatchingCase, reading: str) -> dict[str, Any]:
    """A counterexample as plain numbers: the case, scores, distances, weights, the reversed pair."""
    rev = reversal(kernel, case, reading)
    out = case.to_dict()
    out.update(
        scores=case.scores.tolist(),
        sq_distances=case.sq_distances.tolist(),
        weights=rev.weights.tolist(),
        preferred=rev.i,
        beaten_by=rev.j,
        reversal=rev.amount,
    )
    t = kernel_offsets(kernel, case)
    if t is not None:
        out["t"] = t.tolist()
    return out


def search_counterexample(
    kernel_name: str,
    reading: str,
    conditions: tuple[str, ...] = (),
    *,
    max_examples: int = 200,
) -> SearchResult:
    """Search a minimal violation of ``reading`` (``a``/``b``) by a kernel of :data:`MATCHING_KERNELS`.

    ``hypothesis.find`` over :func:`matching_cases`; ``target()`` steers toward large
    reversals (and, under ``above-vertex``, toward keys above the vertex, so the condition
    is met often enough to mean something).  Derandomized, no database: the same
    result every run.
    """
    from hypothesis import HealthCheck, find, settings, target
    from hypothesis.errors import NoSuchExample

    kernel = matching_kernel(kernel_name)
    _check_reading(reading)
    for c in conditions:
        if c not in CONDITIONS:
            raise ValueError(f"conditions: unknown condition {c!r}; choose from {', '.join(CONDITIONS)}")
    if max_examples < 1:
        raise ValueError(f"max_examples: must be ≥ 1, got {max_examples}")
    counts = {"evaluated": 0, "met": 0}
    strategy = matching_cases(
        equal_norms="equal-key-norms" in conditions, nonnegative="nonnegative-inputs" in conditions
    )

    def violates(case: MatchingCase) -> bool:
        counts["evaluated"] += 1
        if "above-vertex" in conditions:
            margin = vertex_margin(kernel, case)
            target(float(np.clip(margin, -1e3, 1e3)), label="vertex margin")
        if not meets(kernel, case, conditions):
            return False
        rev = reversal(kernel, case, reading)
        if rev.i >= 0:  # count only cases with a pair the reading speaks about (not all tied)
            counts["met"] += 1
        target(rev.amount, label="reversal")
        return rev.violated

    cfg = settings(
        max_examples=max_examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    start = time.perf_counter()
    try:
        found = find(strategy, violates, settings=cfg)
        cex = describe_violation(kernel, found, reading)
    except NoSuchExample:
        cex = None
    return SearchResult(
        kernel_name, reading, tuple(conditions), cex, counts["evaluated"], counts["met"], max_examples,
        time.perf_counter() - start,
    )


# ------------------------------------------------------------------------------------
# (d) contrast, measured
# ------------------------------------------------------------------------------------

#: distractor levels at which each kernel's contrast is measured (scores; rbf: RBF score)
CONTRAST_LEVELS: dict[str, tuple[float, ...]] = {
    "softmax": (0.5, -3.0),
    "rbf": (-40.0,),
    "linear": (1.0, -8.0),
    "poly2": (1.0, -1.0),
    "csq": (0.3, -2.0),
    "csq-uncentered": (1.0, -3.0),
}


def contrast_case(kernel_name: str, n: int, level: float, gap: float) -> MatchingCase:
    r"""One query, a best key at score ``level + gap`` and ``n − 1`` distractors at ``level``.

    d_k = 1 and q = 1, so the score of key ``k`` is ``k`` itself (linear: the dot product
    ``q·k = k``).  For ``rbf`` the level is the RBF score :math:`-(q-k)^2/2` (q = 0), which
    must stay ``≤ 0``: the key is :math:`\sqrt{-2u}`.
    """
    if n < 3:
        raise ValueError(f"n: the contrast gap is defined for n ≥ 3 keys, got {n}")
    matching_kernel(kernel_name)
    if kernel_name == "rbf":
        if level + gap > 0:
            raise ValueError(f"level + gap: an RBF score must be ≤ 0, got {level + gap}")
        best, other = math.sqrt(-2.0 * (level + gap)), math.sqrt(-2.0 * level)
        return MatchingCase(np.zeros(1), np.array([[best]] + [[other]] * (n - 1)))
    return MatchingCase(np.ones(1), np.array([[level + gap]] + [[level]] * (n - 1)))


def best_key_mass(kernel_name: str, n: int, level: float, gap: float) -> float:
    """Weight of the best key in :func:`contrast_case` (computed by the kernel's own code)."""
    case = contrast_case(kernel_name, n, level, gap)
    return float(query_weights(matching_kernel(kernel_name), case.q, case.keys)[0])


def measure_contrast_gap(kernel_name: str, n: int, level: float, *, iterations: int = 80) -> dict[str, Any]:
    r"""Smallest gap :math:`\Delta \ge 0` with best-key mass :math:`\ge 1/2`, found numerically.

    Doubling finds a bracket, bisection its crossing; a grid of 32 gaps below the result is
    then checked to hold mass :math:`< 1/2` (so the crossing found is the first one).
    Returns ``gap``, ``mass_at_gap`` and ``first_crossing`` (the grid check).
    """
    if iterations < 1:
        raise ValueError(f"iterations: must be ≥ 1, got {iterations}")
    cap = -level if kernel_name == "rbf" else math.inf

    def mass(g: float) -> float:
        value = best_key_mass(kernel_name, n, level, g)
        if not math.isfinite(value):
            raise ArithmeticError(f"{kernel_name}: weight is {value} at n={n}, level={level}, gap={g}")
        return value

    if mass(0.0) >= 0.5:
        return {"gap": 0.0, "mass_at_gap": mass(0.0), "first_crossing": True}
    hi = 1e-3
    while mass(min(hi, cap)) < 0.5:
        if hi >= cap or hi > 1e12:
            raise ValueError(f"{kernel_name}: no gap gives half the mass at n={n}, level={level}")
        hi *= 2.0
    hi, lo = min(hi, cap), 0.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if mass(mid) >= 0.5:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 4 * np.finfo(float).eps * max(1.0, hi):
            break
    below = np.linspace(0.0, hi, 33)[:-1] * (1 - 1e-9)
    first = all(mass(g) < 0.5 for g in below)
    return {"gap": hi, "mass_at_gap": mass(hi), "first_crossing": bool(first)}


# ------------------------------------------------------------------------------------
# (e) realistic inputs: how often (a), (b) fail
# ------------------------------------------------------------------------------------


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


def _draw_inputs(key, n: int, dk: int, key_mean: float, query: str):
    kq, kk, km = jax.random.split(key, 3)
    q = jax.random.normal(kq, (n, dk))
    if query == "layernorm":
        q = q / jnp.linalg.norm(q, axis=1, keepdims=True) * jnp.sqrt(dk)
    mu = key_mean * jax.random.normal(km, (dk,))
    k = mu + jax.random.normal(kk, (n, dk))
    return q, k


def _pair_rates(kernel: Kernel, q, k):
    n, dk = q.shape
    w = kernel.weights(q, k)
    s = q @ k.T / jnp.sqrt(dk)
    d2 = jnp.sum((q[:, None, :] - k[None, :, :]) ** 2, axis=-1)
    rev = w[:, :, None] < w[:, None, :] * (1.0 - REL_TOL)  # (i, j, l): w_ij < w_il
    pairs = n * n * (n - 1) / 2
    a = jnp.sum((s[:, :, None] > s[:, None, :]) & rev) / pairs
    b = jnp.sum((d2[:, :, None] < d2[:, None, :]) & rev) / pairs
    if isinstance(kernel, CSQ):
        below = jnp.mean(kernel.shifted_scores(s) < 0)
    elif isinstance(kernel, Poly2):
        below = jnp.mean(s < 0)
    else:
        below = jnp.nan
    return a, b, below


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
    r"""Violation rates of (a), (b) on "realistic" inputs: ``n`` queries against ``n`` keys.

    Queries: ``layernorm`` (Gaussian rows rescaled to norm :math:`\sqrt{d_k}`, so each row's
    scores have unit variance) or ``gaussian`` (:math:`N(0, I)` rows).  Keys:
    :math:`k_j = \mu + z_j`, :math:`z_j \sim N(0, I)`, with a shared mean
    :math:`\mu \sim N(0, \tau^2 I)`, :math:`\tau` = ``key_mean`` (keys of real models share
    a mean direction; it gives each query a common score offset).
    """
    kernel = matching_kernel(kernel_name)
    if query not in ("layernorm", "gaussian"):
        raise ValueError(f"query: must be 'layernorm' or 'gaussian', got {query!r}")
    if n < 2 or dk < 1 or trials < 2:
        raise ValueError(f"n ≥ 2, dk ≥ 1, trials ≥ 2 required (got n={n}, dk={dk}, trials={trials})")
    if not (math.isfinite(key_mean) and key_mean >= 0):
        raise ValueError(f"key_mean: must be a finite number ≥ 0, got {key_mean}")

    def one(key):
        q, k = _draw_inputs(key, n, dk, key_mean, query)
        return _pair_rates(kernel, q, k)

    keys = jax.random.split(jax.random.PRNGKey(seed), trials)
    a, b, below = jax.lax.map(jax.jit(one), keys)
    a, b, below = np.asarray(a), np.asarray(b), np.asarray(below)
    se = lambda x: float(np.std(x, ddof=1) / math.sqrt(trials))  # noqa: E731
    return ViolationRates(
        kernel_name, float(a.mean()), se(a), float(b.mean()), se(b), float(np.mean(below)),
        {"n": n, "dk": dk, "trials": trials, "key_mean": key_mean, "query": query, "seed": seed},
    )


def realistic_example(
    kernel_name: str, reading: str, *, n: int = 32, dk: int = 16, key_mean: float = 0.0, seed: int = 0
) -> dict[str, Any] | None:
    """One violation of ``reading`` in one draw of :func:`realistic_violation_rates` inputs
    (layernorm queries), as plain numbers: the query row, the two keys, their scores,
    squared distances, ``t`` values (quadratic kernels) and weights; ``None`` if the draw has none."""
    _check_reading(reading)
    kernel = matching_kernel(kernel_name)
    q, k = _draw_inputs(jax.random.PRNGKey(seed), n, dk, key_mean, "layernorm")
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


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def predicted_vertex_misorder_rate(
    *, center: bool, shift: float, n: int, key_mean: float = 0.0, query: str = "layernorm", dk: int = 16
) -> float:
    r"""Closed form of the (a) violation rate of CSQ / poly2 on :func:`realistic_violation_rates` inputs.

    A pair with :math:`s_i > s_j` is reversed iff :math:`t_i + t_j < 0`.  Given the query,
    the scores are :math:`s_j = o + \sigma\zeta_j` with :math:`\zeta_j` iid :math:`N(0,1)`,
    :math:`\sigma^2 = \lVert q\rVert^2/d_k` and a common offset :math:`o \sim N(0, \tau^2\sigma^2)`.

    * centered: the offset cancels and :math:`\operatorname{Var}(\zeta_i+\zeta_j-2\bar\zeta) = 2 - 4/n`
      (derived in :func:`theorem.symbolic.matching.centered_pair_sum_variance`):
      :math:`P = \Phi\!\left(-2c / (\sigma\sqrt{2-4/n})\right)`;
    * uncentered: :math:`t_i+t_j \sim N(2c, \sigma^2(2+4\tau^2))`:
      :math:`P = \Phi\!\left(-2c / (\sigma\sqrt{2+4\tau^2})\right)`.

    ``layernorm`` queries have :math:`\sigma = 1`; ``gaussian`` queries average over
    :math:`\sigma^2 \sim \chi^2_{d_k}/d_k` (numerical quadrature).
    """
    from scipy import integrate, stats

    if n < 3 and center:
        raise ValueError(f"n: the centered closed form needs n ≥ 3, got {n}")
    spread = math.sqrt(2.0 - 4.0 / n) if center else math.sqrt(2.0 + 4.0 * key_mean**2)
    if shift == 0.0:
        return 0.5
    if query == "layernorm":
        return _phi(-2.0 * shift / spread)
    if query != "gaussian":
        raise ValueError(f"query: must be 'layernorm' or 'gaussian', got {query!r}")
    chi2 = stats.chi2(dk)
    f = lambda x: _phi(-2.0 * shift / (math.sqrt(x / dk) * spread)) * chi2.pdf(x)  # noqa: E731
    return float(integrate.quad(f, 0.0, np.inf, limit=200)[0])


def predicted_euclid_misorder_rate(*, dk: int, key_mean: float = 0.0) -> float:
    r"""Closed form (one double integral) of the (b) violation rate of softmax, layernorm queries.

    For keys :math:`k = \mu + z` and a pair :math:`u = z_i - z_j`, :math:`v = z_i + z_j`
    (independent, :math:`N(0, 2I)`): :math:`s_i - s_j \propto q\cdot u` and
    :math:`\lVert q-k_i\rVert^2 - \lVert q-k_j\rVert^2 = -u\cdot(2q - w)` with
    :math:`w = 2\mu + v \sim N(0, \sigma_w^2 I)`, :math:`\sigma_w^2 = 2 + 4\tau^2`.
    Over isotropic :math:`u` the two orders disagree with probability
    :math:`\theta(2q - w, q)/\pi`, so with :math:`\lVert q\rVert = \sqrt{d_k}`:
    :math:`P = \tfrac{1}{\pi}\,\mathbb{E}\,\operatorname{atan2}(\sigma_w\sqrt{W},\ 2\sqrt{d_k} - \sigma_w Z)`,
    :math:`W \sim \chi^2_{d_k-1}`, :math:`Z \sim N(0,1)`.  The same holds for every kernel
    strictly increasing in the score (softmax; CSQ wherever every key is above its vertex).
    """
    from scipy import integrate, stats

    if dk < 1:
        raise ValueError(f"dk: must be ≥ 1, got {dk}")
    sw = math.sqrt(2.0 + 4.0 * key_mean**2)
    if dk == 1:  # no orthogonal part: the angle is 0 or π
        return float(stats.norm.sf(2.0 / sw))
    # inner expectation over Z by Gauss–Hermite (probabilists'), outer over W by adaptive quadrature
    nodes, weights = np.polynomial.hermite_e.hermegauss(96)
    weights = weights / math.sqrt(2.0 * math.pi)
    chi2 = stats.chi2(dk - 1)

    def inner(x: float) -> float:
        angle = np.arctan2(sw * math.sqrt(x), 2.0 * math.sqrt(dk) - sw * nodes)
        return float(np.dot(weights, angle)) * chi2.pdf(x)

    return float(integrate.quad(inner, 0.0, chi2.ppf(1 - 1e-14), limit=200)[0] / math.pi)


# ------------------------------------------------------------------------------------
# (e) the soft penalty and a short training run
# ------------------------------------------------------------------------------------


def csq_penalty(scores_centered: Float[Array, "... n"], shift: float) -> Float[Array, ""]:
    r"""CSQ's soft penalty on already-centered scores :math:`\tilde s_{ij} = s_{ij} - \bar s_i`:
    :math:`\operatorname{mean}\,\operatorname{relu}(-(\tilde s + c))^2`, ``shift`` = ``c``.
    The formula is :meth:`theorem.kernels.CSQ.vertex_penalty` (defined there once)."""
    if not (math.isfinite(shift) and shift >= 0):
        raise ValueError(f"shift: must be a finite number ≥ 0, got {shift}")
    return CSQ(shift=float(shift), center=False).vertex_penalty(jnp.asarray(scores_centered))


@dataclass(frozen=True)
class PenaltyRun:
    """Held-out numbers after training a head with penalty weight ``lam`` from ``seed``."""

    lam: float
    seed: int
    task_loss: float  # held-out NLL of the target key
    target_mass: float  # held-out mean weight on the target key
    below_vertex: float  # held-out fraction of (query, key) with s̃ + c < 0
    a_rate: float  # held-out per-pair (a) violation rate
    penalty: float  # held-out penalty value
    seconds: float  # wall time of the whole sweep, divided by its number of runs
    t_quantiles: tuple[float, ...] = ()  # held-out percentiles 1..99 of t = s̃ + c (CSQ)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _task_batch(key, batch: int, n: int, d: int, b_matrix):
    x = jax.random.normal(key, (batch, n, d))
    logits = jnp.einsum("bid,de,bje->bij", x, b_matrix, x)
    return x, jnp.argmax(logits, axis=-1)


def penalty_sweep(
    lams: tuple[float, ...],
    *,
    seeds: tuple[int, ...] = (0,),
    kernel_name: str = "csq",
    n: int = 16,
    d: int = 8,
    dk: int = 8,
    steps: int = 1000,
    batch: int = 32,
    lr: float = 0.03,
    task_seed: int = 0,
    eval_batches: int = 8,
) -> list[PenaltyRun]:
    r"""Train one head on a matching task for every (penalty weight, seed); held-out numbers.

    Task: tokens :math:`x_i \sim N(0, I_d)`; query ``i`` must attend to the key
    :math:`\arg\max_j x_i^\top B x_j` for a hidden random :math:`B` (drawn from ``task_seed``).
    Loss: the mean :math:`-\log A_{i,\mathrm{target}(i)}` plus :math:`\lambda\cdot`
    :func:`csq_penalty` of the centered scores (with the kernel's shift; softmax, the
    reference, uses shift 0 and should get ``lams=(0,)``).  Parameters
    :math:`W_Q, W_K \in \mathbb{R}^{d\times d_k}` initialized :math:`N(0, 1/d)` from the seed,
    which also draws the training batches; Adam (optax).  All runs are one compiled program
    (``vmap`` over :math:`(\lambda, \text{seed})`); the held-out numbers use fresh batches.
    Returns one :class:`PenaltyRun` per (λ, seed), λ-major.
    """
    import optax

    if kernel_name not in ("csq", "csq-uncentered", "softmax"):
        raise ValueError(f"kernel_name: must be csq, csq-uncentered or softmax, got {kernel_name!r}")
    if not lams or not all(math.isfinite(x) and x >= 0 for x in lams):
        raise ValueError(f"lams: need finite penalty weights ≥ 0, got {lams}")
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    if min(d, dk, steps, batch, eval_batches) < 1 or n < 2:
        raise ValueError("n ≥ 2 and d, dk, steps, batch, eval_batches ≥ 1 required")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: must be a finite number > 0, got {lr}")
    kernel = matching_kernel(kernel_name)
    shift = float(getattr(kernel, "shift", 0.0))
    b_matrix = jax.random.normal(jax.random.PRNGKey(task_seed), (d, d))
    eval_keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(task_seed), 1), eval_batches)

    def losses(p, x, tgt):
        q, k = x @ p["wq"], x @ p["wk"]
        s = jnp.einsum("bid,bjd->bij", q, k) / math.sqrt(dk)
        centered = s - jnp.mean(s, axis=-1, keepdims=True)
        a = jax.vmap(kernel.weights_from_scores)(s)
        picked = jnp.take_along_axis(a, tgt[..., None], axis=-1)[..., 0]
        nll = -jnp.mean(jnp.log(picked + 1e-30))
        return nll, csq_penalty(centered, shift), s, a, picked

    def objective(p, lam, x, tgt):
        nll, pen, *_ = losses(p, x, tgt)
        return nll + lam * pen

    opt = optax.adam(lr)

    def train_one(lam, seed):
        kq, kk, kdata = jax.random.split(jax.random.PRNGKey(seed), 3)
        p0 = {"wq": jax.random.normal(kq, (d, dk)) / math.sqrt(d), "wk": jax.random.normal(kk, (d, dk)) / math.sqrt(d)}

        def step(carry, key):
            p, state = carry
            x, tgt = _task_batch(key, batch, n, d, b_matrix)
            g = jax.grad(objective)(p, lam, x, tgt)
            upd, state = opt.update(g, state, p)
            return (optax.apply_updates(p, upd), state), None

        (p, _), _ = jax.lax.scan(step, (p0, opt.init(p0)), jax.random.split(kdata, steps))
        return p

    def evaluate_one(p):
        def one_batch(key):
            x, tgt = _task_batch(key, batch, n, d, b_matrix)
            nll, pen, s, a, picked = losses(p, x, tgt)
            below = jnp.mean(jax.vmap(kernel.shifted_scores)(s) < 0) if isinstance(kernel, CSQ) else jnp.nan
            rev = a[:, :, :, None] < a[:, :, None, :] * (1 - REL_TOL)
            a_rate = jnp.sum((s[:, :, :, None] > s[:, :, None, :]) & rev) / (batch * n * n * (n - 1) / 2)
            return jnp.array([nll, jnp.mean(picked), below, a_rate, pen])

        def t_values(key):
            x, _ = _task_batch(key, batch, n, d, b_matrix)
            q, k = x @ p["wq"], x @ p["wk"]
            s = jnp.einsum("bid,bjd->bij", q, k) / math.sqrt(dk)
            return s - jnp.mean(s, axis=-1, keepdims=True) + shift

        t_all = jax.lax.map(t_values, eval_keys)
        quantiles = jnp.percentile(t_all, jnp.arange(1.0, 100.0))
        return jnp.concatenate([jnp.mean(jax.lax.map(one_batch, eval_keys), axis=0), quantiles])

    grid = [(float(lam), int(seed)) for lam in lams for seed in seeds]
    lam_arr = jnp.asarray([g[0] for g in grid])
    seed_arr = jnp.asarray([g[1] for g in grid], dtype=jnp.uint32)
    start = time.perf_counter()
    stats = jax.jit(jax.vmap(lambda lam, seed: evaluate_one(train_one(lam, seed))))(lam_arr, seed_arr)
    stats = np.asarray(stats)
    seconds = (time.perf_counter() - start) / len(grid)
    return [
        PenaltyRun(lam, seed, *map(float, row[:5]), seconds, tuple(float(v) for v in row[5:]))
        for (lam, seed), row in zip(grid, stats)
    ]
