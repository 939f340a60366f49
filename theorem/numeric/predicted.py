"""The predicted dimension of the pulled-back gradient space, from invariants of X.

Everything here is derived in ``docs/pullback.md``; the short version:

**Scores.** ``dS = X dM Xᵀ`` (M form) or ``X dW_Q W_Kᵀ Xᵀ + X W_Q dW_Kᵀ Xᵀ``.  With
``U = col X`` (dim r), ``Q = col(X W_Q)`` (dim q₁), ``K = col(X W_K)`` (dim k₁), the image is
``U ⊗ U`` (dim r²) or ``U ⊗ K + Q ⊗ U`` (dim ``r k₁ + q₁ r − q₁ k₁``), writing ``a ⊗ b`` for
the matrices with column space in ``a`` and row space in ``b``.  A key-centering kernel sees
``dS H`` with ``H = I − 11ᵀ/n``, i.e. ``U ⊗ HU`` or ``U ⊗ HK + Q ⊗ HU``.

**Weights.** Row ``i`` of the normalization ``T ↦ A`` has Jacobian null space
``span(N_i)`` (``N = 11ᵀ`` for softmax, ``N = S`` for poly2, ``N = S̃ + c11ᵀ`` for CSQ) when
every ``T_ij > 0``.  So the kernel of the weights map restricted to the image is
``{diag(c) N : c ∈ Rⁿ} ∩ image`` and

``rank = dim(image) − dim{c ∈ Rⁿ : diag(c) N ∈ image}``.

The last dimension is the nullity of the n×n Gram matrix
``G = diag(‖N_i‖²) − P_A∘(N P_B Nᵀ) − P_C∘(N P_D Nᵀ) + P_C∘(N P_B Nᵀ)`` for the image
``A ⊗ B + C ⊗ D`` (``C ⊆ A``, ``B ⊆ D``), ``∘`` the entrywise product.  For the M form it
reduces to the closed forms ``r(r − [1 ∈ U])`` (softmax, CSQ) and ``r² − m(X)`` (poly2,
``m`` the number of connected components of the matroid of the rows of X).

**Output.** ``dO = dA X W_V`` has dimension ``min(w, n'·p)`` (``w`` the weights', ``n'`` distinct tokens,
``p = rank(X W_V)``): a bound at every input, the generic value for softmax and for the M form, certified
exactly at the input where the size allows (:func:`_output_rank`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theorem.numeric.attention_rank.predict import token_classes
from theorem.numeric.output_certificate import certify_output
from theorem.numeric.pullback import PullbackProblem
from theorem.numeric.rank import RankResult, numerical_rank, rank_from_singular_values
from theorem.symbolic.output_rank import evaluate_output_bound
from theorem.util.precision import float64

__all__ = ["Subspace", "Prediction", "predict_rank", "token_invariants"]

# a residual below this (relative) counts as "in the subspace"; above RESIDUAL_OUT as "not in";
# in between the membership is ambiguous and the prediction says so.
RESIDUAL_IN = 1e-9
RESIDUAL_OUT = 1e-5
MIN_CONDITION = 1e-4
COSINE_ZERO = 1e-10
COSINE_SURE = 1e-6


@dataclass(frozen=True)
class Subspace:
    """An orthonormal basis of the column space of a matrix, with the rank that chose it."""

    basis: np.ndarray  # (n, dim)
    rank: RankResult

    @classmethod
    def column_space(cls, mat: np.ndarray) -> "Subspace":
        mat = np.asarray(mat, dtype=np.float64)
        if mat.size == 0 or not np.any(mat):
            return cls(np.zeros((mat.shape[0], 0)), numerical_rank(np.zeros((max(mat.shape[0], 1), 1))))
        u, s, _ = np.linalg.svd(mat, full_matrices=False)

        rr = rank_from_singular_values(s, mat.shape)
        return cls(u[:, : rr.rank], rr)

    @classmethod
    def image_of_basis(cls, mat: np.ndarray) -> "Subspace":
        """Column space of ``L B`` for an orthonormal ``B`` and a projector ``L``.

        Singular values of such a product are cosines in [0, 1]; round-off puts the zero ones
        near ``k·eps``.  They are compared with 1 (not with the largest of them), so a product
        that is pure round-off has dimension 0: below ``COSINE_ZERO`` a cosine is 0, above
        ``COSINE_SURE`` it counts, in between the dimension is reported ill-defined.
        """
        mat = np.asarray(mat, dtype=np.float64)
        if mat.shape[1] == 0:
            return cls(np.zeros((mat.shape[0], 0)), RankResult(0, COSINE_ZERO, np.inf, "ok", np.zeros(0), 0.0))
        u, s, _ = np.linalg.svd(mat, full_matrices=False)
        keep = int(np.sum(s > COSINE_ZERO))
        status = "ill-defined" if np.any((s > COSINE_ZERO) & (s < COSINE_SURE)) else "ok"
        below = s[keep] if keep < s.size else 0.0
        gap = np.inf if below == 0.0 or keep == 0 else s[keep - 1] / below
        return cls(u[:, :keep], RankResult(keep, COSINE_ZERO, gap, status, s, COSINE_SURE / COSINE_ZERO))

    def minus(self, other: "Subspace") -> "Subspace":
        """``self ⊖ other``: the part of ``self`` orthogonal to ``other`` (for ``other ⊆ self``)."""
        return Subspace.image_of_basis(self.basis - other.basis @ (other.basis.T @ self.basis))

    @property
    def dim(self) -> int:
        return self.basis.shape[1]

    @property
    def projector(self) -> np.ndarray:
        return self.basis @ self.basis.T

    def contains(self, v: np.ndarray, scale: float | None = None) -> bool | None:
        """True/False when ``v`` is clearly in/out of the subspace; None when ambiguous.

        The residual is relative to ``max(‖v‖, scale)``: pass ``scale`` when ``v`` was computed
        by cancellation from something larger (a centered row).
        """
        v = np.asarray(v, dtype=np.float64)
        norm = max(np.linalg.norm(v), scale or 0.0)
        if norm == 0:
            return True
        res = np.linalg.norm(v - self.basis @ (self.basis.T @ v)) / norm
        if res <= RESIDUAL_IN:
            return True
        if res >= RESIDUAL_OUT:
            return False
        return None


@dataclass
class Prediction:
    """A predicted rank, the invariants it came from, and the conditions it assumed."""

    rank: int | None
    formula: str
    invariants: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)  # assumptions that were checked and hold
    violations: list[str] = field(default_factory=list)  # assumptions that fail: prediction not claimed

    @property
    def valid(self) -> bool:
        return self.rank is not None and not self.violations

    def to_dict(self) -> dict:
        return {"rank": self.rank, "formula": self.formula, "invariants": dict(self.invariants),
                "conditions": list(self.conditions), "violations": list(self.violations)}


def token_invariants(x: np.ndarray) -> dict:
    """r = rank X, e = [1 ∈ col X], ρ = rank((I − 11ᵀ/n) X), and the rank statuses."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    u = Subspace.column_space(x)
    centered = Subspace.column_space(x - x.mean(axis=0, keepdims=True))
    ones_in = u.contains(np.ones(n))
    return {
        "n": n,
        "d": x.shape[1],
        "r": u.dim,
        "e": None if ones_in is None else int(ones_in),
        "rho": centered.dim,
        "rank_status": u.rank.status,
    }


def _khatri_rao_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix of ``c ↦ leftᵀ diag(c) right`` (columns i = ``left_i ⊗ right_i``), rows i of inputs."""
    return (left[:, :, None] * right[:, None, :]).reshape(left.shape[0], -1).T


def _row_factor(mat: np.ndarray, scale: float) -> np.ndarray:
    """``F`` with ``F Fᵀ = mat matᵀ``, dropping singular values that are round-off of ``scale``."""
    u, s, _ = np.linalg.svd(mat, full_matrices=False)
    keep = s > scale * max(mat.shape) * np.finfo(float).eps
    return u[:, keep] * s[keep]


def _stabilizer(n_mat, a_sp, b_sp, c_sp, d_sp, row_scale=None) -> tuple[int, RankResult | None, list[int]]:
    """``dim{c ∈ Rⁿ : diag(c) N ∈ A⊗B + C⊗D}`` for ``C ⊆ A``, ``B ⊆ D``.

    ``diag(c) N`` lies in the image iff (i) ``c_i = 0`` whenever ``N_i ∉ D``, (ii)
    ``P_{A⊥} diag(c) N = 0`` and (iii) ``P_{A⊖C} diag(c) N P_{D⊖B} = 0``.  Conditions
    (ii), (iii) are linear in ``c`` with Khatri–Rao matrices whose singular values equal
    those of the map itself (no Gram matrix, so no squared condition number).
    """
    n = n_mat.shape[0]
    scales = [None] * n if row_scale is None else row_scale
    allowed = [i for i in range(n) if d_sp.contains(n_mat[i], scales[i]) is not False]
    if not allowed:
        return 0, None, allowed
    nm = n_mat[allowed]
    full = np.linalg.svd(a_sp.basis, full_matrices=True)[0] if a_sp.dim else np.eye(n)
    a_perp = full[:, a_sp.dim :][allowed]
    blocks = []
    scale = float(np.linalg.norm(nm, 2)) if nm.size else 0.0
    if scale == 0.0:
        return len(allowed), None, allowed
    # rows computed by cancellation (centered scores) carry errors relative to what they came from
    tol_scale = max(scale, float(np.linalg.norm(np.asarray(scales)[allowed]))) if row_scale is not None else scale
    if a_perp.shape[1]:
        blocks.append(_khatri_rao_rows(a_perp, _row_factor(nm, tol_scale)))
    # A ⊖ C and D ⊖ B
    amc = a_sp.minus(c_sp)
    d_minus_b = d_sp.minus(b_sp)
    if amc.dim and d_minus_b.dim:
        right = _row_factor(nm @ d_minus_b.basis, tol_scale)
        if right.shape[1]:
            blocks.append(_khatri_rao_rows(amc.basis[allowed], right))
    if not blocks:
        return len(allowed), None, allowed
    mat = np.vstack(blocks)
    # the blocks share the scale ‖N‖ (the bases are orthonormal): rank relative to it
    sv = np.linalg.svd(mat, compute_uv=False) if mat.size else np.zeros(0)
    rr = rank_from_singular_values(np.concatenate([[tol_scale], sv]), (mat.shape[0] + 1, mat.shape[1]))
    rr = RankResult(rr.rank - 1, rr.tolerance, rr.gap, rr.status, sv, rr.min_gap)
    return len(allowed) - rr.rank, rr, allowed


def _check_conditioning(name: str, sp: Subspace, inv: dict, violations: list[str]) -> None:
    """Flag nearly rank-deficient factors: ``σ_r/σ₁ < MIN_CONDITION``.

    The closed forms are exact-arithmetic statements; when tokens are nearly dependent
    (near-duplicates, say) the directions they predict have sizes of order ``(σ_r/σ₁)^k`` and
    fall below float64 resolution of the Jacobian, so no measurement can confirm them.
    """
    sv = sp.rank.singular_values
    if sp.dim == 0 or sv.size == 0 or sv[0] == 0:
        return
    cond = float(sv[sp.dim - 1] / sv[0])
    inv[f"cond[{name}]"] = cond
    if cond < MIN_CONDITION:
        violations.append(
            f"{name} is nearly rank-deficient (σ_r/σ₁ = {cond:.1e} < {MIN_CONDITION:.0e}): the closed form holds "
            "in exact arithmetic but its smallest directions are below float64 resolution"
        )


@float64
def predict_rank(problem: PullbackProblem) -> Prediction:
    """Predicted ``rank ∂ vec(map)/∂θ`` for ``problem`` with the conditions it rests on."""

    x = problem.x
    n, d = x.shape
    kernel = problem.kernel
    params = problem.fixed_parameters()
    conditions: list[str] = []
    violations: list[str] = []

    u = Subspace.column_space(x)
    inv: dict = {"r": u.dim}
    if u.rank.status != "ok":
        violations.append(f"rank of X is ill-defined ({u.rank.summary()})")
    _check_conditioning("X", u, inv, violations)

    if problem.dk is None:
        q_sp = k_sp = u
    else:
        q_sp = Subspace.column_space(x @ params["W_Q"])
        k_sp = Subspace.column_space(x @ params["W_K"])
        inv.update(q1=q_sp.dim, k1=k_sp.dim)
        for name, sp in (("X W_Q", q_sp), ("X W_K", k_sp)):
            if sp.rank.status != "ok":
                violations.append(f"rank of {name} is ill-defined ({sp.rank.summary()})")
            _check_conditioning(name, sp, inv, violations)

    def image_dim(a, b, c, dd) -> int:
        return a.dim * b.dim + c.dim * dd.dim - c.dim * b.dim

    if problem.map == "scores" or not kernel.is_score_kernel:
        if problem.map == "scores":
            rank = image_dim(u, k_sp, q_sp, u)
            formula = "r²" if problem.dk is None else "r·k₁ + q₁·r − q₁·k₁"
            return Prediction(rank, formula, inv, ["none: the scores map is linear in M"], violations)
        return Prediction(
            None,
            "no closed form: elu+1 features are not a function of the scores",
            inv,
            [],
            violations + ["kernel has no score form"],
        )

    # the image seen by the normalization: (row space) ⊗ (column space), centered on keys
    if kernel.centers_keys:
        h = np.eye(n) - np.ones((n, n)) / n
        b_sp = Subspace.image_of_basis(h @ k_sp.basis)
        d_sp = Subspace.image_of_basis(h @ u.basis)
    else:
        b_sp, d_sp = k_sp, u
    a_sp, c_sp = u, q_sp
    inv["image_dim"] = image_dim(a_sp, b_sp, c_sp, d_sp)
    ones_in = u.contains(np.ones(n))
    inv["e"] = None if ones_in is None else int(ones_in)
    if ones_in is None:
        violations.append("whether 1 ∈ col X is ambiguous in float64")

    scores, t, n_mat = problem.kernel_terms()  # S, kernel.unnormalized(S), kernel.null_direction(S) at θ₀
    if n_mat is None:  # a user's kernel with a weight function only: no closed form without its null direction
        raise NotImplementedError(f"{kernel.name}: no null direction, so no closed form for its pulled-back space")
    weights = t / t.sum(axis=1, keepdims=True)
    if np.any(np.all(t == 0, axis=1)):
        violations.append("a row of unnormalized weights is all zero: A is undefined (0/0)")
    smallest = float(weights.min())
    inv["min_weight"] = smallest
    active = np.ones(n, dtype=bool)
    if kernel.name == "softmax":
        # saturation: a row whose off-peak mass is far below the Jacobian's rounding level moves
        # nothing (its row Jacobian diag(a) − a aᵀ is 0 to working precision); a row whose
        # smallest weight is far above it is fully resolved; anything between is not predicted
        level = max(problem.output_dim, problem.ambient_dim) * np.finfo(float).eps
        off_peak = 1.0 - weights.max(axis=1)
        active = off_peak > level / 100
        resolved = weights.min(axis=1) > level * 1e4
        partial = active & ~resolved
        inv["saturated_rows"] = int(np.sum(~active))
        if np.any(partial):
            violations.append(
                f"{int(partial.sum())} softmax rows are partly saturated (weights between 0 and the float64 "
                f"resolution {level:.0e}): their row Jacobians are not resolvable"
            )
        elif np.any(~active):
            conditions.append(f"{int((~active).sum())} rows saturated to one-hot (they move nothing); "
                              "the closed form counts the active rows only")
        else:
            conditions.append(f"every weight resolved (smallest {smallest:.1e})")
    elif smallest <= 0.0:
        violations.append(
            "some weights are exactly 0 (a zero of the polynomial): the row Jacobians have extra null directions"
        )
    else:
        conditions.append(f"every weight > 0 (smallest {smallest:.1e})")

    if not np.any(active):
        inv.update(image_dim=0, lost=0)
        rank, formula = 0, "0 (every row saturated)"
        if problem.map == "output":
            rank, formula = _output_rank(problem, rank, formula, inv, conditions, violations)
        return Prediction(rank, formula, inv, conditions, violations)
    if not np.all(active):
        # only the active rows' part of the image reaches the weights
        a_sp = Subspace.column_space(x[active])
        c_sp = a_sp if problem.dk is None else Subspace.column_space(x[active] @ params["W_Q"])
        n_mat = n_mat[active]
        inv["image_dim"] = image_dim(a_sp, b_sp, c_sp, d_sp)

    # a centered row S̃_i + c is computed by cancellation from S_i: judge it on that scale
    row_scale = np.linalg.norm(scores[active], axis=1) if kernel.centers_keys else None
    lost, null, _ = _stabilizer(n_mat, a_sp, b_sp, c_sp, d_sp, row_scale)
    inv["lost"] = lost
    if null is not None and null.status != "ok":
        violations.append(f"the diagonal-stabilizer nullity is ill-defined ({null.summary()})")
    rank = inv["image_dim"] - lost
    centered_shifted = kernel.name == "csq" and kernel.centers_keys and kernel.shift > 0
    if kernel.name == "softmax" and problem.dk is None:
        formula = "r·(r − [1 ∈ col X])" if np.all(active) else "r_active·(r − [1 ∈ col X])"
    elif centered_shifted and problem.dk is None:
        formula = "r·(r − [1 ∈ col X])  (centered, shifted CSQ: nothing lost to normalization)"
    elif kernel.name == "poly2" and problem.dk is None:
        formula = "r² − m(X)"
    else:
        formula = "dim(image) − dim{c : diag(c)·N ∈ image}"

    if problem.map == "output":
        rank, formula = _output_rank(problem, rank, formula, inv, conditions, violations)
    return Prediction(rank, formula, inv, conditions, violations)


def _output_rank(problem, weights_rank, formula, inv, conditions, violations) -> tuple[int, str]:
    """Output map ``dO = dA (X W_V)``: ``β = min(w, n'·p)`` (:mod:`theorem.symbolic.output_rank`), ``w`` the
    weights' dimension, ``n'`` distinct tokens, ``p = rank(X W_V)``, certified at the input where the size
    allows (:mod:`theorem.numeric.output_certificate`).

    ``β`` bounds the dimension at every input and is the generic value for softmax (every parametrization)
    and for every kernel in the M form; for factorized poly2/CSQ it is only a bound, and the prediction is the
    exact rank at the input when certified (a violated condition otherwise).
    """
    params = problem.fixed_parameters()
    x = problem.x
    p = Subspace.column_space(x @ params["W_V"]).dim
    n_distinct = token_classes(x)
    beta = evaluate_output_bound(weights_rank, n_distinct, p)
    inv.update(dv_eff=p, n_distinct=n_distinct, output_bound=beta)
    text = f"{formula}  [output: min(w, n'·p) = min({weights_rank}, {n_distinct}·{p})]"
    cert = None
    if not violations and not inv.get("saturated_rows"):
        theta = {"m": params["M"]} if problem.dk is None else {"w_q": params["W_Q"], "w_k": params["W_K"]}
        cert = certify_output(x, problem.kernel, params["W_V"], **theta)
        inv["certificate"] = cert.to_dict()
    if cert is not None and cert.rank is not None and cert.bound == beta:
        conditions.append(f"certified exactly at this input: rank = {cert.rank} ({cert.method})")
        if cert.rank == beta:
            return beta, text
        return cert.rank, f"exact rank over Q at this input (below the bound min(w, n'·p) = {beta})"
    if cert is not None and cert.rank is not None:
        conditions.append(f"the exact (dyadic) input has bound {cert.bound} and rank {cert.rank}: float64 sees it "
                          f"as the degenerate input it rounds (bound {beta})")
    if problem.kernel.name == "softmax" or problem.dk is None:
        return beta, text
    why = "too large to certify" if cert is None or cert.bound is None else cert.method
    violations.append(f"factorized {problem.kernel.name}: min(w, n'·p) = {beta} is only a bound here (d_k = 1: "
                      f"every row of A is the same), and the exact rank at this input is not known ({why})")
    return beta, f"≤ min(w, n'·p) = {beta}"
