"""The pulled-back gradient space, measured.

A :class:`PullbackProblem` fixes tokens ``X`` (n×d), a kernel, a map and a
parametrization, and draws the fixed parameters from a seed:

* ``param="M"``: ``θ = M ∈ R^{d×d}``, ``S = X M Xᵀ / √d``;
* ``param="factorized"``: ``θ = (W_Q, W_K) ∈ R^{d×d_k} × R^{d×d_k}``, ``S = X W_Q W_Kᵀ Xᵀ / √d_k``;
* ``map="scores"``: ``θ ↦ S``; ``"weights"``: ``θ ↦ A``; ``"output"``: ``θ ↦ A X W_V``.

The pulled-back gradient space is the span of ``∂L/∂θ`` over all losses ``L``,
i.e. the row space of the Jacobian ``J = ∂ vec(map)/∂θ``; its dimension is ``rank J``.
Two routes measure it: the dense Jacobian (``jax.jacfwd``) and a matrix-free
sketch (random cotangents pulled back by ``jax.vjp``, stacked), which never forms
``J`` and is what large shapes use.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.kernels import Kernel, get_kernel
from theorem.numeric.head import Head
from theorem.numeric.rank import RankResult, numerical_rank, rank_from_singular_values
from theorem.numeric.sketch import rank_one_cotangents, stacked_norm
from theorem.util.precision import float64, x64

__all__ = ["MAPS", "PARAMS", "PullbackProblem", "dense_jacobian", "sketched_gradients", "measure_rank"]

MAPS = ("scores", "weights", "output")
PARAMS = ("M", "factorized")


@dataclass(frozen=True)
class PullbackProblem:
    """One attention head at fixed tokens, a kernel and a map.

    The head's parameters (θ₀ and W_V) are drawn from ``seed`` (:meth:`Head.draw`) unless ``head``
    gives them (a user's own head: :meth:`from_head`).
    """

    x: np.ndarray
    kernel: Kernel
    map: str = "weights"
    dk: int | None = None  # None: the d×d form M; an int: factorized W_Q, W_K ∈ R^{d×dk}
    dv: int | None = None  # output width for map="output" (default d)
    seed: int = 0
    head: Head | None = None

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"tokens must be a 2-D (n, d) array, got shape {x.shape}")
        n, d = x.shape
        if n == 0 or d == 0:
            raise ValueError(f"tokens must have n ≥ 1 and d ≥ 1, got n={n}, d={d}")
        if not np.all(np.isfinite(x)):
            raise ValueError("tokens contain NaN or Inf")
        if self.map not in MAPS:
            raise ValueError(f"unknown map {self.map!r}; choose one of {', '.join(MAPS)}")
        if self.dk is not None and not (1 <= self.dk <= d):
            raise ValueError(f"--dk must satisfy 1 ≤ dk ≤ d = {d}, got {self.dk}")
        if self.dv is not None and self.dv < 1:
            raise ValueError(f"--dv must be ≥ 1, got {self.dv}")
        if not self.kernel.is_score_kernel and self.dk is None:
            raise ValueError(
                f"kernel {self.kernel.name!r} has no d×d form M; give --dk for the factorized W_Q, W_K"
            )
        object.__setattr__(self, "x", x)
        if self.head is None:
            object.__setattr__(self, "head", Head.draw(x, self.dk, dv=self.dv, seed=self.seed))
        elif self.head.has_bias:
            raise ValueError("a head with biases is measured by theorem.numeric.pullback_bias")

    @classmethod
    def from_head(cls, head: Head, kernel: Kernel, map: str = "weights") -> "PullbackProblem":
        """The problem of a given head (its W_V, when the map is ``output``, must be set)."""
        if map == "output" and head.w_v is None:
            raise ValueError("--map output needs the head's value map W_V")
        dk = None if head.form == "M" else head.dk
        dv = head.dv if head.w_v is not None and head.dv != head.d else None
        if head.w_v is None:  # a placeholder value map: only the output map reads it
            head = Head(head.x, head.w_q, head.w_k, w_v=np.zeros((head.d, 1)), form=head.form)
            dv = None
        return cls(head.x, kernel, map, dk, dv, 0, head)

    # --- shapes ----------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    @property
    def param(self) -> str:
        return "M" if self.dk is None else "factorized"

    @property
    def width_v(self) -> int:
        return self.head.dv

    @property
    def ambient_dim(self) -> int:
        """dim θ: d² for M, 2·d·d_k for (W_Q, W_K)."""
        return self.d**2 if self.dk is None else 2 * self.d * self.dk

    @property
    def output_dim(self) -> int:
        return self.n * self.width_v if self.map == "output" else self.n * self.n

    # --- parameters ------------------------------------------------------------------
    def fixed_parameters(self) -> dict[str, np.ndarray]:
        """θ₀ and W_V of the head (drawn from N(0, 1/d) entrywise with ``seed``, or the user's)."""
        h = self.head
        params = {"M": h.w_q} if self.dk is None else {"W_Q": h.w_q, "W_K": h.w_k}
        params["W_V"] = h.w_v
        return params

    def theta0(self) -> Float[Array, " p"]:
        """θ₀ flattened row-major (``vec M``, or ``vec W_Q`` then ``vec W_K``); assembled in NumPy, so no
        XLA compilation per shape."""
        return jnp.asarray(self._theta0_np())

    def _theta0_np(self) -> Float[np.ndarray, " p"]:
        p = self.fixed_parameters()
        if self.dk is None:
            return np.ravel(p["M"])
        return np.concatenate([np.ravel(p["W_Q"]), np.ravel(p["W_K"])])

    def scores_at(self, theta: Float[Array, " p"]) -> Float[Array, "n n"]:
        return _scores_jit(theta, jnp.asarray(self.x), self.dk)

    def weights_at(self, theta: Float[Array, " p"]) -> Float[Array, "n n"]:
        return _weights_jit(theta, jnp.asarray(self.x), self.kernel, self.dk)

    @cached_property
    def _at_theta0(self) -> dict[str, np.ndarray]:
        """The map and the kernel's terms at θ₀, computed once per problem by one compiled function
        (:func:`_value_and_scores`, :func:`_kernel_terms`): ``value`` = the forward map, ``scores`` S; for a
        score kernel also ``unnormalized`` T and, where the kernel has one, ``null`` (its null direction N)."""
        with x64():  # NumPy arguments: jnp.asarray would compile a transfer per new shape
            wv = np.asarray(self.fixed_parameters()["W_V"], dtype=np.float64)
            value, scores = _value_and_scores(self._theta0_np(), self.x, wv, self.kernel, self.map, self.dk)
            out = {"value": np.asarray(value), "scores": np.asarray(scores)}
            if self.kernel.is_score_kernel:
                out.update({k: np.asarray(v) for k, v in _kernel_terms(out["scores"], self.kernel).items()})
            return out

    def kernel_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(S, T, N)`` at θ₀ for a score kernel: the scores, the unnormalized weights ``kernel.unnormalized(S)``
        and ``kernel.null_direction(S)`` (None when the kernel has none), as NumPy arrays, computed once."""
        if not self.kernel.is_score_kernel:
            raise ValueError(f"kernel {self.kernel.name!r} is not a function of the scores")
        t = self._at_theta0
        return t["scores"], t["unnormalized"], t.get("null")

    def forward(self) -> Callable[[Float[Array, " p"]], Float[Array, " m"]]:
        """The map θ ↦ vec(scores | weights | output), flattened row-major."""
        x = jnp.asarray(self.x)
        wv = jnp.asarray(self.fixed_parameters()["W_V"])
        return lambda theta: _forward(theta, x, wv, self.kernel, self.map, self.dk)

    def jacobian_scale(self) -> float:
        """An upper bound on ``‖J‖₂`` from the norms of its chain-rule factors.

        ``J = (∂out/∂A)(∂A/∂T)(∂T/∂S)(∂S/∂θ)``; rounding errors in a computed ``J`` are of order
        ``eps`` times this product, so it is the scale the rank tolerance is relative to.
        """
        norm = lambda a: float(np.linalg.norm(np.asarray(a), 2))  # noqa: E731
        x = self.x
        p = self.fixed_parameters()
        if self.dk is None:
            bound = norm(x) ** 2 / math.sqrt(self.d)
        else:
            bound = norm(x) ** 2 * (norm(p["W_Q"]) + norm(p["W_K"])) / math.sqrt(self.dk)
        if self.map == "scores":
            return bound
        if not self.kernel.is_score_kernel:  # elu+1, a user's q,k kernel: no chain-rule bound through S
            return float("nan")
        s, t, null = self.kernel_terms()
        if np.any(t.sum(axis=1) == 0):
            return float("nan")
        a = t / t.sum(axis=1, keepdims=True)
        if self.kernel.name == "softmax":
            row = np.max(a, axis=1)  # ‖diag(a) − a aᵀ‖₂ ≤ max_j a_j
        elif self.kernel.name in ("poly2", "csq"):  # T = f², row Jacobian (2/Z)(diag(f) − a fᵀ), f = √T with signs
            f = null
            z = t.sum(axis=1)
            row = 2.0 / z * (np.max(np.abs(f), axis=1) + np.linalg.norm(a, axis=1) * np.linalg.norm(f, axis=1))
        else:  # any other score kernel (a user's, weight function only): ‖∂A_i/∂S_i‖₂ of each row, computed
            jac = jax.vmap(jax.jacfwd(lambda r: self.kernel.weights_from_scores(r[None])[0]))(jnp.asarray(s))
            row = np.linalg.norm(np.asarray(jac), 2, axis=(1, 2))
        bound *= float(np.max(row))
        if self.map == "output":
            bound *= norm(x @ p["W_V"])
        return bound

    def describe(self) -> str:
        par = "θ = M (d×d)" if self.dk is None else f"θ = (W_Q, W_K), d_k = {self.dk}"
        extra = f", d_v = {self.width_v}" if self.map == "output" else ""
        return f"{self.kernel.describe()}, {self.map} map, {par}, n = {self.n}, d = {self.d}{extra}"


class UndefinedMapError(ValueError):
    """The map is undefined at θ₀ (a row of unnormalized weights sums to 0: 0/0)."""


@float64
def check_defined(problem: PullbackProblem) -> None:
    """Raise :class:`UndefinedMapError` when the forward map is not finite at θ₀."""
    values = problem._at_theta0["value"]
    if not np.all(np.isfinite(values)):
        raise UndefinedMapError(
            f"{problem.kernel.describe()} {problem.map} map is undefined at these tokens: some query's "
            "unnormalized weights sum to 0 (0/0), e.g. a zero token or scores that vanish; "
            "use other tokens or a kernel with a shift (csq, shift > 0)"
        )


def _scores(theta, x, dk):
    d = x.shape[1]
    if dk is None:
        return x @ theta.reshape(d, d) @ x.T / math.sqrt(d)
    wq = theta[: d * dk].reshape(d, dk)
    wk = theta[d * dk :].reshape(d, dk)
    return (x @ wq) @ (x @ wk).T / math.sqrt(dk)


def _weights(theta, x, kernel, dk):
    if kernel.is_score_kernel:
        return kernel.weights_from_scores(_scores(theta, x, dk))
    d = x.shape[1]
    wq = theta[: d * dk].reshape(d, dk)
    wk = theta[d * dk :].reshape(d, dk)
    return kernel.weights(x @ wq, x @ wk)


def _forward(theta, x, wv, kernel, map, dk):
    """θ ↦ vec(S), vec(A) or vec(A X W_V): a pure function, so one compilation serves every X of a shape."""
    if map == "scores":
        return _scores(theta, x, dk).ravel()
    a = _weights(theta, x, kernel, dk)
    return a.ravel() if map == "weights" else (a @ (x @ wv)).ravel()


_scores_jit = jax.jit(_scores, static_argnames=("dk",))
_weights_jit = jax.jit(_weights, static_argnames=("kernel", "dk"))


@partial(jax.jit, static_argnames=("kernel", "map", "dk"))
def _value_and_scores(theta, x, wv, kernel, map, dk) -> tuple:
    """The forward map at ``theta`` and the scores S (module level, static kernel, map and d_k, so its
    cache serves every problem of a shape)."""
    return _forward(theta, x, wv, kernel, map, dk), _scores(theta, x, dk)


@partial(jax.jit, static_argnames=("kernel",))
def _kernel_terms(s, kernel) -> dict:
    """``T = kernel.unnormalized(S)`` and, where the kernel has one, ``N = kernel.null_direction(S)``, compiled
    apart from S (fused with the score product, XLA rounds T differently from T of the stored S)."""
    out = {"unnormalized": kernel.unnormalized(s)}
    try:
        out["null"] = kernel.null_direction(s)
    except NotImplementedError:  # a kernel without a null direction (a user's weight function)
        pass
    return out


@partial(jax.jit, static_argnames=("kernel", "map", "dk"))
def _jacobian(theta, x, wv, kernel, map, dk):
    return jax.jacfwd(_forward)(theta, x, wv, kernel, map, dk)


@partial(jax.jit, static_argnames=("kernel", "map", "dk"))
def _pull(theta, x, wv, u, v, kernel, map, dk):
    """``Jᵀ vec(u_l v_lᵀ)`` for each row pair of ``(u, v)``, by ``jax.vjp`` of :func:`_forward` at ``theta``:
    module level with static kernel, map and d_k, so one compilation serves every batch and every call of
    a shape (a function defined per call would compile again each time)."""
    _, vjp = jax.vjp(lambda t: _forward(t, x, wv, kernel, map, dk), theta)
    cot = (u[:, :, None] * v[:, None, :]).reshape(u.shape[0], -1)
    return jax.vmap(lambda c: vjp(c)[0])(cot)


@float64
def dense_jacobian(problem: PullbackProblem) -> np.ndarray:
    """The full Jacobian ``∂ vec(map)/∂θ`` (output_dim × ambient_dim), by forward mode."""
    wv = np.asarray(problem.fixed_parameters()["W_V"], dtype=np.float64)
    jac = _jacobian(problem._theta0_np(), problem.x, wv, problem.kernel, problem.map, problem.dk)
    return np.asarray(jac)


@float64
def sketched_gradients(
    problem: PullbackProblem,
    num: int,
    *,
    seed: int = 1,
    batch: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``num`` pulled-back gradients ``Jᵀ g_l`` (num × ambient_dim), never forming ``J``.

    The cotangents are rank-one, ``g_l = u_l v_lᵀ`` with Gaussian ``u_l, v_l`` (for the output
    map ``v_l ∈ R^{d_v}``).  Rank-one matrices span all matrices, so for ``num ≥ rank J``
    the rows span the row space of ``J`` with probability one.
    """
    return _sketch(problem, num, seed=seed, batch=batch, progress=progress)[0]


def _sketch(problem: PullbackProblem, num: int, *, seed: int = 1, batch: int = 64,
            progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, float]:
    """The pulled-back gradients and ``‖Ω‖₂`` of their cotangents (:mod:`theorem.numeric.sketch`)."""
    theta = problem._theta0_np()
    wv = np.asarray(problem.fixed_parameters()["W_V"], dtype=np.float64)
    n = problem.n
    width = problem.width_v if problem.map == "output" else n

    rows, us, vs = [], [], []
    for u, v in rank_one_cotangents(num, n, width, seed=seed, batch=batch):
        pad = batch - u.shape[0]  # one compiled shape: the last batch is padded, its extra rows dropped
        up = np.pad(u, ((0, pad), (0, 0))) if pad else u
        vp = np.pad(v, ((0, pad), (0, 0))) if pad else v
        rows.append(np.asarray(_pull(theta, problem.x, wv, up, vp, problem.kernel, problem.map, problem.dk))
                    [: u.shape[0]])
        us.append(u)
        vs.append(v)
        if progress is not None:
            progress(u.shape[0])
    return np.concatenate(rows, axis=0), stacked_norm(np.concatenate(us), np.concatenate(vs))


@dataclass(frozen=True)
class Measurement:
    rank: RankResult
    route: str  # "dense" or "sketch"
    samples: int
    seconds: float


@float64
def measure_rank(
    problem: PullbackProblem,
    *,
    route: str = "auto",
    oversample: int = 16,
    dense_limit: int = 4_000_000,
    progress: Callable[[int], None] | None = None,
) -> Measurement:
    """Measured dim of the pulled-back gradient space, with its tolerance and gap.

    ``route="auto"`` uses the dense Jacobian when it has at most ``dense_limit`` entries,
    else the sketch with ``min(ambient, output) + oversample`` cotangents.
    """
    start = time.perf_counter()
    check_defined(problem)
    if route == "auto":
        route = "dense" if problem.output_dim * problem.ambient_dim <= dense_limit else "sketch"
    if route == "dense":
        jac = dense_jacobian(problem)
        result = numerical_rank(jac, reference=problem.jacobian_scale())
        samples = jac.shape[0]
    elif route == "sketch":
        samples = min(problem.ambient_dim, problem.output_dim) + oversample
        grads, omega = _sketch(problem, samples, progress=progress)
        sv = np.linalg.svd(grads, compute_uv=False)
        # G = Ω J: its rounding is of order eps·‖Ω‖₂·‖J‖ (‖Ω‖₂ computed, not the √rank-larger ‖Ω‖_F)
        ref = problem.jacobian_scale() * omega
        result = rank_from_singular_values(sv, grads.shape, reference=ref)
    else:
        raise ValueError(f"unknown route {route!r}; choose auto, dense or sketch")
    return Measurement(result, route, samples, time.perf_counter() - start)


def make_problem(
    x: np.ndarray,
    kernel: str = "softmax",
    map: str = "weights",
    dk: int | None = None,
    dv: int | None = None,
    seed: int = 0,
    **kernel_params,
) -> PullbackProblem:
    """Convenience constructor taking a kernel name."""
    return PullbackProblem(np.asarray(x), get_kernel(kernel, **kernel_params), map, dk, dv, seed)
