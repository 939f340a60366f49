"""T8's exact-algebra probe over Q: the Jacobian rank of a family's outputs at a dyadic rational point.

The families are those of :mod:`.function_dimension` (degree-p attention; the L-layer residual stack of
row-normalized quadratic attention of :mod:`.depth`).  At a point whose parameters and tokens are dyadic
rationals ``k / 2^b`` every output is a rational function of them, so the Jacobian ``J`` (one row per output
entry, one column per parameter) is a rational matrix: it is computed here **exactly** by forward-mode
differentiation in ``Q`` (python-flint ``fmpq_mat``, one Jacobian–vector product per parameter), and its
rank is exact.  The same point is exactly representable in float64, so the float64 Jacobian (``jax.jacfwd``
of :func:`.depth._student` / :func:`.depth.polynomial_attention`) is taken at the very same point and its
numerical rank (tolerance and gap, :func:`theorem.numeric.rank.numerical_rank`) set beside the exact one,
with the largest entry difference of the two Jacobians.

The scores' ``1/√d`` (``1/√w``) is left out of the exact map: a row-normalized even power is unchanged when
the scores are scaled (:mod:`theorem.symbolic.function_dimension`), so the map is the same function.

One layer ``h ← h + A h W_V`` with ``S = (h W_Q)(h W_K)ᵀ``, ``T = S^{∘p}``, ``r = T 1``, ``A = diag(r)⁻¹ T`` has
the tangent ``dS = dQ Kᵀ + Q dKᵀ``, ``dT = p S^{∘(p−1)} ∘ dS``, ``dA = diag(r)⁻¹ (dT − diag(dT 1) A)``,
``dh' = dh + (dA h + A dh) W_V + A h dW_V``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theorem.numeric.rank import numerical_rank
from theorem.training.depth import _student, polynomial_attention
from theorem.util.precision import float64

__all__ = ["dyadic_point", "exact_jacobian", "float_jacobian", "exact_dimension", "flint_available"]


def flint_available() -> bool:
    """Whether python-flint (the optional extra for exact rational linear algebra) is installed."""
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


def _dyadic(rng: np.random.Generator, shape: tuple[int, ...], scale: float, bits: int) -> np.ndarray:
    """Gaussian entries of standard deviation ``scale`` rounded to multiples of ``2^-bits`` (never all zero)."""
    a = np.round(rng.standard_normal(shape) * scale * 2**bits) / 2**bits
    a[a == 0] = 2.0**-bits
    return a


def _shapes(family: str, d: int, width: int, depth: int) -> list[tuple[str, tuple[int, int]]]:
    """The parameters in the column order of the Jacobians: name and shape."""
    if family == "poly":
        return [("w_q", (d, d)), ("w_k", (d, d)), ("w_v", (d, d))]
    layers = [(f"{nm}.{i}", (width, width)) for i in range(depth) for nm in ("w_q", "w_k", "w_v")]
    return [("w_in", (d, width)), *layers, ("w_out", (width, d))]


def dyadic_point(family: str, d: int, n: int, samples: int, *, width: int = 0, depth: int = 1, bits: int = 3,
                 seed: int = 0) -> dict[str, Any]:
    """Tokens ``[samples, n, d]`` and parameters (name → array) with dyadic entries (``bits`` binary digits)."""
    if family not in ("poly", "stack"):
        raise ValueError(f"family must be 'poly' or 'stack', got {family!r}")
    if min(d, n, samples, bits) < 1 or (family == "stack" and min(width, depth) < 1):
        raise ValueError(f"need d, n, samples, bits ≥ 1 (and width, depth ≥ 1 for a stack), got d={d}, n={n}, "
                         f"samples={samples}, bits={bits}, width={width}, depth={depth}")
    rng = np.random.default_rng(seed)
    xs = _dyadic(rng, (samples, n, d), 1.0, bits)
    params = {name: _dyadic(rng, shape, (0.5 if name.startswith("w_v") else 1.0) / math.sqrt(shape[0]), bits)
              for name, shape in _shapes(family, d, width, depth)}
    return {"family": family, "d": d, "n": n, "width": width, "depth": depth, "bits": bits, "xs": xs,
            "params": params, "order": [name for name, _ in _shapes(family, d, width, depth)]}


def _student_params(params: dict[str, jax.Array], depth: int) -> dict[str, Any]:
    return {"w_in": params["w_in"], "w_out": params["w_out"],
            "layers": [{k: params[f"{k}.{i}"] for k in ("w_q", "w_k", "w_v")} for i in range(depth)]}


@float64
def float_jacobian(point: dict[str, Any]) -> np.ndarray:
    """``∂ outputs / ∂ θ`` in float64 at the (exactly representable) dyadic point, columns in ``point['order']``."""
    order, params = point["order"], point["params"]
    sizes = [params[k].size for k in order]
    theta = jnp.asarray(np.concatenate([params[k].ravel() for k in order]))
    xs = jnp.asarray(point["xs"])
    splits = np.cumsum(sizes)[:-1].tolist()

    def f(t):
        pr = {k: v.reshape(params[k].shape) for k, v in zip(order, jnp.split(t, splits))}
        if point["family"] == "poly":
            out = jax.vmap(lambda x: polynomial_attention(x, pr["w_q"], pr["w_k"], pr["w_v"], point["p"]))(xs)
        else:
            sp = _student_params(pr, point["depth"])
            out = jax.vmap(lambda x: _student(sp, x))(xs)
        return out.ravel()

    return np.asarray(jax.jacfwd(f)(theta))


def _q(flint, a: np.ndarray, bits: int):
    """The dyadic array ``a`` as an exact ``fmpq_mat``."""
    scale = 2**bits
    return flint.fmpq_mat(a.shape[0], a.shape[1], [flint.fmpq(int(round(v * scale)), scale) for v in a.ravel()])


def _map(flint, a, f):
    """Entrywise ``f`` on an ``fmpq_mat``."""
    return flint.fmpq_mat(a.nrows(), a.ncols(), [f(v) for v in a.entries()])


class _Layer:
    """Primal values of one attention layer at the point, and its tangent map (``None`` is a zero tangent)."""

    def __init__(self, flint, h, wq, wk, p: int):
        self.flint, self.h, self.wq, self.wk, self.p = flint, h, wq, wk, p
        self.q, self.k = h * wq, h * wk
        self.s = self.q * self.k.transpose()
        t = _map(flint, self.s, lambda v: v**p)
        n = t.nrows()
        self.r = [sum((t[i, j] for j in range(n)), flint.fmpq(0)) for i in range(n)]
        if any(ri == 0 for ri in self.r):
            raise ValueError("a row of scores vanishes at this point (0/0): draw another point")
        self.a = flint.fmpq_mat(n, n, [t[i, j] / self.r[i] for i in range(n) for j in range(n)])
        self.ah = self.a * h

    def tangent(self, dh, dwq, dwk):
        """``(dA, A dh)`` for the tangents of ``h, W_Q, W_K`` (any may be None); None when all are."""
        terms_q = [x for x in (None if dh is None else dh * self.wq, None if dwq is None else self.h * dwq) if x is not None]
        terms_k = [x for x in (None if dh is None else dh * self.wk, None if dwk is None else self.h * dwk) if x is not None]
        if not terms_q and not terms_k:
            return None, None
        ds = None
        if terms_q:
            dq = terms_q[0] if len(terms_q) == 1 else terms_q[0] + terms_q[1]
            ds = dq * self.k.transpose()
        if terms_k:
            dk = terms_k[0] if len(terms_k) == 1 else terms_k[0] + terms_k[1]
            ds = self.q * dk.transpose() if ds is None else ds + self.q * dk.transpose()
        n, p, s, a, fq = self.s.nrows(), self.p, self.s, self.a, self.flint
        dt = [[p * s[i, j] ** (p - 1) * ds[i, j] for j in range(n)] for i in range(n)]
        da = fq.fmpq_mat(n, n, [(dt[i][j] - a[i, j] * sum(dt[i], fq.fmpq(0))) / self.r[i]
                                for i in range(n) for j in range(n)])
        return da, (None if dh is None else a * dh)


def _stack_columns(flint, x, params, depth: int, order: list[str], bits: int) -> list[list]:
    """Exact Jacobian columns (one list of output entries per parameter entry) of the stack on one sample."""
    qp = {k: _q(flint, v, bits) for k, v in params.items()}
    hs, layers = [x * qp["w_in"]], []
    for i in range(depth):
        lay = _Layer(flint, hs[-1], qp[f"w_q.{i}"], qp[f"w_k.{i}"], 2)
        layers.append(lay)
        hs.append(hs[-1] + lay.ah * qp[f"w_v.{i}"])
    cols = []
    for name in order:
        rows_, cols_ = params[name].shape
        for a in range(rows_):
            for b in range(cols_):
                e = flint.fmpq_mat(rows_, cols_)
                e[a, b] = 1
                if name == "w_out":
                    cols.append((hs[-1] * e).entries())
                    continue
                dh, start = (x * e, 0) if name == "w_in" else (None, int(name.split(".")[1]))
                for i in range(start, depth):
                    lay, own = layers[i], (i == start and name != "w_in")
                    da, adh = lay.tangent(dh, e if own and name.startswith("w_q") else None,
                                          e if own and name.startswith("w_k") else None)
                    new = [] if dh is None else [dh]
                    if da is not None:
                        du = da * lay.h if adh is None else da * lay.h + adh
                        new.append(du * qp[f"w_v.{i}"])
                    if own and name.startswith("w_v"):
                        new.append(lay.ah * e)
                    dh = new[0] if len(new) == 1 else sum(new[1:], new[0])
                cols.append((dh * qp["w_out"]).entries())
    return cols


def _poly_columns(flint, x, params, p: int, order: list[str], bits: int) -> list[list]:
    qp = {k: _q(flint, v, bits) for k, v in params.items()}
    lay = _Layer(flint, x, qp["w_q"], qp["w_k"], p)
    ax = lay.a * x
    cols = []
    for name in order:
        for a in range(params[name].shape[0]):
            for b in range(params[name].shape[1]):
                e = flint.fmpq_mat(*params[name].shape)
                e[a, b] = 1
                if name == "w_v":
                    cols.append((ax * e).entries())
                    continue
                da, _ = lay.tangent(None, e if name == "w_q" else None, e if name == "w_k" else None)
                cols.append((da * x * qp["w_v"]).entries())
    return cols


def exact_jacobian(point: dict[str, Any]):
    """The Jacobian at the dyadic point as an exact ``fmpq_mat`` (rows: outputs, sample-major; columns: θ)."""
    import flint

    cols_all = []
    for x in point["xs"]:
        xq = _q(flint, x, point["bits"])
        cols_all.append(_poly_columns(flint, xq, point["params"], point["p"], point["order"], point["bits"])
                        if point["family"] == "poly" else
                        _stack_columns(flint, xq, point["params"], point["depth"], point["order"], point["bits"]))
    n_par = len(cols_all[0])
    rows = [[cols[c][r] for c in range(n_par)] for cols in cols_all for r in range(len(cols[0]))]
    return flint.fmpq_mat(len(rows), n_par, [v for row in rows for v in row])


def exact_dimension(family: str, d: int, n: int, samples: int, *, p: int = 2, width: int = 0, depth: int = 1,
                    bits: int = 3, seed: int = 0, exact: bool = True) -> dict[str, Any]:
    """Float64 rank (tolerance, gap) and, when ``exact`` and python-flint is installed, the exact rank over Q of
    the Jacobian at one dyadic point, with the largest entry difference of the two Jacobians (relative)."""
    if family == "poly" and (p < 2 or p % 2):
        raise ValueError(f"p must be an even integer ≥ 2, got {p}")
    point = {**dyadic_point(family, d, n, samples, width=width, depth=depth, bits=bits, seed=seed), "p": p}
    jac = float_jacobian(point)
    r = numerical_rank(jac)
    out: dict[str, Any] = {
        "family": family, "d": d, "n": n, "samples": samples, "bits": bits, "seed": seed,
        **({"p": p} if family == "poly" else {"width": width, "depth": depth}),
        "parameters": int(jac.shape[1]), "outputs": int(jac.shape[0]),
        "float_rank": r.rank, "tolerance": r.tolerance, "gap": r.gap, "float_status": r.status,
        "exact_rank": None, "exact_seconds": None, "jacobian_difference": None,
    }
    if exact and flint_available():
        start = time.perf_counter()
        jq = exact_jacobian(point)
        out["exact_rank"] = int(jq.rank())
        out["exact_seconds"] = time.perf_counter() - start  # context only
        exact_float = np.array([[float(jq[i, j]) for j in range(jq.ncols())] for i in range(jq.nrows())])
        out["jacobian_difference"] = float(np.max(np.abs(exact_float - jac)) / max(np.max(np.abs(exact_float)), 1e-300))
    return out
