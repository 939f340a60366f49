r"""Unions of pulled-back gradient spaces: across token matrices and along the points a fit visits.

For θ = M (d×d) and a score kernel κ, the pulled-back space at one point is the row space of the
Jacobian ``J(M, X) = ∂ vec A(M; X)/∂ vec M`` (:mod:`theorem.numeric.pullback`).  Here:

* :func:`union_rank` — ``dim Σ_k P(M_k, X_k)`` over a list of points ``(X_k, M_k)``: the Jacobians, each
  divided by its chain-rule bound ``s_k ≥ ‖J_k‖₂`` (so each block's rounding is of order eps), stacked and
  ranked (:func:`theorem.numeric.rank.numerical_rank` with reference scale 1: tolerance and gap);
* :func:`prefix_ranks` — the same for every prefix ``k < T`` (the rank against trajectory length);
* :func:`span_rank` — ``dim span{g_t}`` of given vectors (the gradients met), each scaled to unit norm
  (the span is unchanged; a small late gradient is not mistaken for round-off of a large early one);
* :func:`predicted_union` — the closed form (:mod:`theorem.symbolic.spans`) from invariants of the data,
  with the conditions it needs checked and reported;
* :func:`token_stream` — ``count`` token matrices of one family; ``layernorm_affine_shared`` draws LayerNorm
  tokens (:mod:`theorem.util.tokens`, family ``layernorm``) and applies ONE affine part ``γ, β`` to all of
  them, as one LayerNorm layer does to every sequence.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from jaxtyping import Float

from theorem.kernels import Kernel
from theorem.numeric.head import Head
from theorem.numeric.pullback import PullbackProblem, dense_jacobian
from theorem.numeric.rank import RankResult, numerical_rank
from theorem.symbolic.spans import evaluate, span_formula
from theorem.util.precision import float64
from theorem.util.tokens import make_tokens

__all__ = ["STREAM_FAMILIES", "token_stream", "pulled_back_block", "union_rank", "prefix_ranks", "span_rank",
           "prefix_span_ranks", "predicted_union", "data_invariants"]

#: families :func:`token_stream` draws: the util/tokens ones, plus LayerNorm with one shared affine part
STREAM_FAMILIES: tuple[str, ...] = ("gaussian", "layernorm_affine_shared", "layernorm_affine", "layernorm")

#: a list of arrays, or one array stacked along its first axis
Points = Sequence[np.ndarray] | np.ndarray

_RESIDUAL = 1e-8  # relative residual below which a vector counts as lying in a subspace


def token_stream(family: str, count: int, n: int, d: int, seed: int = 0) -> Float[np.ndarray, "count n d"]:
    """``count`` token matrices (n×d) of ``family`` (:data:`STREAM_FAMILIES`), matrix ``i`` from seed
    ``seed·10⁴ + i``; ``layernorm_affine_shared``: ``z_i γ + β`` with ``z_i`` the ``layernorm`` family and
    ``γ = 1 + 0.5 N(0, 1)``, ``β = 0.5 N(0, 1)`` drawn once from ``seed`` (the same γ, β for every matrix);
    ``layernorm_affine``: a new γ, β per matrix (the util/tokens family)."""
    if family not in STREAM_FAMILIES:
        raise ValueError(f"family: unknown stream family {family!r}; choose one of {', '.join(STREAM_FAMILIES)}")
    if count < 1:
        raise ValueError(f"count must be ≥ 1, got {count}")
    seeds = [seed * 10_000 + i for i in range(count)]
    if family != "layernorm_affine_shared":
        return np.stack([make_tokens(family, n, d, s) for s in seeds])
    rng = np.random.default_rng([seed, 7])
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(d), 0.5 * rng.standard_normal(d)
    return np.stack([make_tokens("layernorm", n, d, s) * gamma + beta for s in seeds])


@float64
def pulled_back_block(x: np.ndarray, kernel: Kernel, m: np.ndarray) -> np.ndarray:
    """``J(M, X)/s`` (n² × d²): the weights map's Jacobian at ``M``, divided by its chain-rule bound ``s``
    (:meth:`PullbackProblem.jacobian_scale`; ``‖J‖₂`` where no bound exists)."""
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    problem = PullbackProblem.from_head(Head(x, np.asarray(m, dtype=np.float64), np.eye(d), form="M"), kernel)
    jac = dense_jacobian(problem)
    if not np.all(np.isfinite(jac)):
        raise ValueError(f"{kernel.describe()} weights map is undefined at this point (a row of weights is 0/0)")
    scale = problem.jacobian_scale()
    if not np.isfinite(scale) or scale <= 0:
        scale = float(np.linalg.norm(jac, 2)) or 1.0
    return jac / scale


def _stack_rank(blocks: Points) -> RankResult:
    stack = np.concatenate(list(blocks), axis=0)
    return numerical_rank(stack, reference=1.0)


def union_rank(xs: Points, ms: Points, kernel: Kernel) -> RankResult:
    """``dim Σ_k P(M_k, X_k)`` (with tolerance and gap) over the points ``(xs[k], ms[k])``."""
    if len(xs) != len(ms) or not xs:
        raise ValueError(f"need as many token matrices as parameter points (≥ 1), got {len(xs)} and {len(ms)}")
    return _stack_rank([pulled_back_block(x, kernel, m) for x, m in zip(xs, ms)])


def prefix_ranks(xs: Points, ms: Points, kernel: Kernel,
                 lengths: Sequence[int]) -> list[RankResult]:
    """:func:`union_rank` of the first ``T`` points for each ``T`` in ``lengths``."""
    blocks = [pulled_back_block(x, kernel, m) for x, m in zip(xs, ms)]
    if any(not 1 <= t <= len(blocks) for t in lengths):
        raise ValueError(f"lengths must lie in 1..{len(blocks)}, got {list(lengths)}")
    return [_stack_rank(blocks[:t]) for t in lengths]


def span_rank(vectors: np.ndarray) -> RankResult:
    """``dim span{v_t}`` of the rows of ``vectors`` (each scaled to unit norm; zero rows dropped)."""
    v = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    norms = np.linalg.norm(v, axis=1)
    keep = norms > 0
    return numerical_rank(v[keep] / norms[keep, None]) if np.any(keep) else numerical_rank(np.zeros((0, v.shape[1])))


def prefix_span_ranks(vectors: np.ndarray, lengths: Sequence[int]) -> list[RankResult]:
    """:func:`span_rank` of the first ``T`` rows for each ``T`` in ``lengths``."""
    return [span_rank(np.asarray(vectors)[:t]) for t in lengths]


def _rank(a: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(a))


def _in_span(basis: np.ndarray, v: np.ndarray) -> bool:
    """``v`` (flattened) in the span of the rows of ``basis``, by least squares."""
    coef, *_ = np.linalg.lstsq(basis.T, v, rcond=None)
    return bool(np.linalg.norm(basis.T @ coef - v) <= _RESIDUAL * max(np.linalg.norm(v), 1e-300))


def data_invariants(xs: Points, ms: Points | None = None) -> dict:
    """The invariants of :mod:`theorem.symbolic.spans`: ``r`` (dim of the sum of the row spaces), whether every
    ``X_i`` has that row space (``common_row_space``), ``rho_u`` = rank [H X_1; …] and, given points ``ms``,
    ``par`` = [the ``P_R M_k P_R`` are all parallel]."""
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    stacked = np.concatenate(xs, axis=0)
    r = _rank(stacked)
    centred = np.concatenate([x - x.mean(axis=0, keepdims=True) for x in xs], axis=0)
    out = {"r": r, "common_row_space": all(_rank(x) == r for x in xs), "rho_u": _rank(centred),
           "count": len(xs)}
    if ms is not None:
        _, s, vt = np.linalg.svd(stacked, full_matrices=False)
        basis = vt[:r]
        proj = basis.T @ basis  # P_R
        dirs = [(proj @ np.asarray(m) @ proj).ravel() for m in ms]
        first = dirs[0][None, :]
        out["par"] = int(all(_in_span(first, v) for v in dirs[1:]))
    return out


def predicted_union(kernel: str, sense: str, xs: Points, ms: Points,
                    one_point_valid: bool = True) -> dict:
    """The closed form of ``dim Σ_k P(M_k, X_k)`` for ``kernel`` in ``sense`` (``data`` or ``trajectory``),
    its invariants, and the conditions it needs: a common row space (every kernel) and, for poly2, some
    ``X_k`` with a connected row matroid (``one_point_valid``: the caller's one-point prediction ``r² − 1``
    held there); a failed condition gives ``value = None`` and says why."""
    inv = data_invariants(xs, ms if sense == "trajectory" else None)
    expr = span_formula(kernel, sense)
    violations = []
    if not inv["common_row_space"]:
        violations.append("the X_k do not share one row space")
    if kernel == "poly2" and not one_point_valid:
        violations.append("no X_k with a connected row matroid (m = 1)")
    names = {"r": inv["r"], "rho_u": inv["rho_u"]}
    if "par" in inv:
        names["par"] = inv["par"]
    used = {k: v for k, v in names.items() if k in {s.name for s in expr.free_symbols}}
    value = None if violations else evaluate(expr, **used)
    return {"value": value, "formula": str(expr), "invariants": inv, "violations": violations}
