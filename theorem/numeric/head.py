r"""One attention head at fixed tokens: the single type every measurement uses.

A head is tokens :math:`X \in \mathbb{R}^{n\times d}` with query/key weights
:math:`W_Q, W_K \in \mathbb{R}^{d\times d_k}`, optional biases :math:`b_Q, b_K \in \mathbb{R}^{d_k}`
and an optional value map :math:`W_V \in \mathbb{R}^{d\times d_v}`:

.. math::

    Q = X W_Q + \mathbf 1 b_Q^\top,\qquad K = X W_K + \mathbf 1 b_K^\top,\qquad
    S = Q K^\top/\sqrt{d_k},\qquad V = X W_V .

The paper's *M form* is the case :math:`W_Q = M` (d×d), :math:`W_K = I_d` (so :math:`d_k = d` and
:math:`S = X M X^\top/\sqrt d`), marked ``form="M"``.  Rank, pullback, ε-rank, real-model and
training code all describe a head with this type; what varies between them (which coordinates are
parameters, which map is measured) belongs to the measurement, not to the head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from jaxtyping import Float

__all__ = ["Head", "EPS", "FORMS"]

EPS = float(np.finfo(np.float64).eps)
FORMS = ("factorized", "M")


def _matrix(name: str, a, rows: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 1 or (rows is not None and a.shape[0] != rows):
        want = f"({rows}, k ≥ 1)" if rows is not None else "a 2-D array"
        raise ValueError(f"{name}: expected shape {want}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or Inf")
    return a


@dataclass(frozen=True)
class Head:
    """Tokens, query/key weights, optional biases and value map of one head (float64)."""

    x: Float[np.ndarray, "n d"]
    w_q: Float[np.ndarray, "d dk"]
    w_k: Float[np.ndarray, "d dk"]
    b_q: Float[np.ndarray, " dk"] | None = None
    b_k: Float[np.ndarray, " dk"] | None = None
    w_v: Float[np.ndarray, "d dv"] | None = None
    form: str = "factorized"

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x: tokens must be a 2-D (n, d) array with n, d ≥ 1, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x: tokens contain NaN or Inf")
        d = x.shape[1]
        wq = _matrix("w_q", self.w_q, d)
        wk = _matrix("w_k", self.w_k, d)
        if wq.shape != wk.shape:
            raise ValueError(f"w_q and w_k must have the same shape (d, d_k), got {wq.shape} and {wk.shape}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {', '.join(FORMS)}, got {self.form!r}")
        if self.form == "M" and (wq.shape != (d, d) or not np.array_equal(wk, np.eye(d))):
            raise ValueError("form 'M': w_q must be M (d×d) and w_k the identity")
        if (self.b_q is None) != (self.b_k is None):
            raise ValueError("b_q and b_k: give both biases or neither")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "w_q", wq)
        object.__setattr__(self, "w_k", wk)
        for name in ("b_q", "b_k"):
            b = getattr(self, name)
            if b is None:
                continue
            b = np.asarray(b, dtype=np.float64)
            if b.shape != (wq.shape[1],):
                raise ValueError(f"{name}: expected a bias of shape ({wq.shape[1]},), got {b.shape}")
            if not np.all(np.isfinite(b)):
                raise ValueError(f"{name}: contains NaN or Inf")
            object.__setattr__(self, name, b)
        if self.w_v is not None:
            object.__setattr__(self, "w_v", _matrix("w_v", self.w_v, d))

    # --- constructors --------------------------------------------------------------------
    @classmethod
    def draw(
        cls,
        x: Float[np.ndarray, "n d"],
        dk: int | None = None,
        *,
        dv: int | None = None,
        bias: bool = False,
        seed: int = 0,
        bias_scale: float = 1.0,
        value: bool = True,
    ) -> "Head":
        """Gaussian parameters from ``np.random.default_rng(seed)``, entries ``N(0, 1/d)``.

        Drawn in the order ``W_Q`` (or ``M`` when ``dk`` is None), ``b_Q``, ``W_K``, ``b_K``, ``W_V``
        (biases ``N(0, bias_scale²/d)`` only when ``bias``; ``W_V`` of width ``dv`` (default ``d``)
        only when ``value``), so a head without biases draws the same numbers as one drawn before
        biases existed.  The M form has no biases.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"x: tokens must be a 2-D (n, d) array, got shape {x.shape}")
        d = x.shape[1]
        if dk is not None and not (isinstance(dk, (int, np.integer)) and dk >= 1):
            raise ValueError(f"dk must be a positive integer or None, got {dk!r}")
        if dk is None and bias:
            raise ValueError("the M form has no biases; give dk for a biased head")
        rng = np.random.default_rng(seed)
        root = math.sqrt(d)
        # unbiased heads divide by √d, biased ones multiply by 1/√d: the two conventions of the
        # head types this one replaced, kept so that every recorded draw is reproduced bit for bit
        scale = (lambda a: a / root) if not bias else (lambda a, s=1.0 / root: a * s)  # noqa: E731
        width_v = d if dv is None else dv
        if dk is None:
            m = scale(rng.standard_normal((d, d)))
            w_v = scale(rng.standard_normal((d, width_v))) if value else None
            return cls(x, m, np.eye(d), w_v=w_v, form="M")
        w_q = scale(rng.standard_normal((d, dk)))
        b_q = rng.standard_normal(dk) * (1.0 / root) * bias_scale if bias else None
        w_k = scale(rng.standard_normal((d, dk)))
        b_k = rng.standard_normal(dk) * (1.0 / root) * bias_scale if bias else None
        w_v = scale(rng.standard_normal((d, width_v))) if value else None
        return cls(x, w_q, w_k, b_q, b_k, w_v)

    @classmethod
    def from_m(cls, x: Float[np.ndarray, "n d"], m: Float[np.ndarray, "d d"],
               w_v: Float[np.ndarray, "d dv"] | None = None) -> "Head":
        """The M form ``S = X M Xᵀ/√d``."""
        x = np.asarray(x, dtype=np.float64)
        return cls(x, m, np.eye(x.shape[1]), w_v=w_v, form="M")

    # --- shapes ------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    @property
    def dk(self) -> int:
        return self.w_q.shape[1]

    @property
    def dv(self) -> int | None:
        return None if self.w_v is None else self.w_v.shape[1]

    @property
    def has_bias(self) -> bool:
        return self.b_q is not None

    # --- values ------------------------------------------------------------------------
    @property
    def q(self) -> Float[np.ndarray, "n dk"]:
        """``Q = X W_Q + 1 b_Qᵀ``."""
        q = self.x @ self.w_q
        return q if self.b_q is None else q + self.b_q

    @property
    def k(self) -> Float[np.ndarray, "n dk"]:
        """``K = X W_K + 1 b_Kᵀ`` (``X`` itself in the M form)."""
        if self.form == "M":
            return self.x
        k = self.x @ self.w_k
        return k if self.b_k is None else k + self.b_k

    @property
    def v(self) -> Float[np.ndarray, "n dv"]:
        """``V = X W_V``."""
        if self.w_v is None:
            raise ValueError("this head has no value map W_V")
        return self.x @ self.w_v

    def scores(self) -> Float[np.ndarray, "n n"]:
        """``S = Q Kᵀ/√d_k``."""
        return self.q @ self.k.T / math.sqrt(self.dk)

    @property
    def q_err(self) -> Float[np.ndarray, "n dk"]:
        """Entrywise bound on the rounding error of ``Q``: ``γ_{d+1}(|X||W_Q| + |b_Q|)``."""
        bound = np.abs(self.x) @ np.abs(self.w_q)
        if self.b_q is not None:
            bound = bound + np.abs(self.b_q)
        return self.d * EPS * bound

    @property
    def k_err(self) -> Float[np.ndarray, "n dk"]:
        if self.form == "M":
            return np.zeros_like(self.x)
        bound = np.abs(self.x) @ np.abs(self.w_k)
        if self.b_k is not None:
            bound = bound + np.abs(self.b_k)
        return self.d * EPS * bound

    def describe(self) -> str:
        par = "M (d×d)" if self.form == "M" else f"W_Q, W_K ∈ R^{{d×{self.dk}}}"
        bias = " with biases" if self.has_bias else ""
        return f"head: n = {self.n}, d = {self.d}, {par}{bias}"
