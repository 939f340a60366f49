r"""Every kernel of :mod:`theorem.kernels` against an oracle written here, at ordinary and extreme inputs.

Oracles (independent of the code under test): exact rationals (:class:`fractions.Fraction`) for the
squared kernels (poly2, CSQ and its variants) and the vertex penalty, ``mpmath`` at 50 digits for
``exp``/``log`` (softmax, the scaled RBF softmax) and at 400 digits for the *literal* ``elu(x) + 1 =
(eˣ − 1) + 1`` (so the oracle has no cancellation even at x = −700).  Score kernels use ``d_k = 4``, so
:math:`\sigma = 1/\sqrt{d_k} = 1/2` is exact and the oracle's scores are exact.

Inputs: scores of order 1, ±40, ±700 and 1e-300 (and queries scaled to give them); elu+1 queries
from −40 to −700.

Bounds (float64 first-order analysis, ε = 2⁻⁵²; ``SAFETY = 4`` covers second-order terms).  For
:math:`A_{ij} = T_{ij}/Z_i` with an absolute error :math:`\tau_{ij}` in :math:`T_{ij}`,

.. math:: |\Delta A_{ij}| \le (\tau_{ij} + A_{ij}\textstyle\sum_j \tau_{ij})/Z_i + (n+2)\,\varepsilon A_{ij},

with :math:`\tau = T(|\delta d| + 2\varepsilon)` for softmax (:math:`d = S - \max S`, :math:`\delta d =
\varepsilon|d| + \delta S_{ij} + \max_j \delta S_{ij}`), :math:`\tau = 2|u|\delta u` for the squares
(:math:`\delta u = \varepsilon(2|u| + c + [\text{centered}](n+2)\max_j|S_{ij}|) + \delta S + [\text{centered}]\max_j\delta S`),
:math:`\tau = (2d_k+8)\varepsilon T` for elu+1, and :math:`\delta S_{ij} = (d_k+1)\varepsilon\sum_a|\sigma q_{ia} k_{ja}|`
when the scores are computed from q and k (0 when given).  Entries below 1e-300 (float64 underflow)
are compared absolutely at 1e-300.  Log-weights: :math:`|\Delta\log A_{ij}| \le \tau_{ij}/T_{ij} +
\sum_j\tau_{ij}/Z_i + \varepsilon(|\log A_{ij}| + |\log Z_i| + n + 4)`.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from theorem.kernels import (
    CSQ,
    KERNEL_NAMES,
    KERNELS,
    Kernel,
    LinearElu,
    Poly2,
    ScaledRBFSoftmax,
    Softmax,
    UnknownKernelError,
    elu_plus_one,
    get_kernel,
    kernel_label,
    log_elu_plus_one,
    sym2,
    sym2_dim,
    sym2_pairs,
    sym2_weights,
    symmetric_square,
)
from theorem.kernels import penalties as pen
from theorem.kernels.hedgehog import HedgehogExp

EPS = float(np.finfo(np.float64).eps)
SAFETY = 4.0
TINY = 1e-300  # below: float64 underflow, compared absolutely
N, DK = 7, 4  # DK = 4: σ = 1/2 exactly
SCORE_LABELS = ("softmax", "poly2", "csq", "csq-uncentered", "csq-noshift")
SQUARES = {"poly2": (0.0, False), "csq": (1.0, True), "csq-uncentered": (1.0, False), "csq-noshift": (0.0, True)}
SCALES = {"ordinary": 1.0, "scores±40": 40.0, "scores±700": 700.0, "tiny1e-300": 1e-300}


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def score_matrix(scale: float, seed: int = 0) -> np.ndarray:
    """n×n scores with max |S| = scale (exactly representable floats)."""
    s = np.random.default_rng(seed).uniform(-1.0, 1.0, (N, N))
    return s / np.max(np.abs(s)) * scale


def query_keys(scale: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(q, k), n×4, with max |q·k/2| ≈ scale."""
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, N, DK))
    return q * (scale / np.max(np.abs(q @ k.T / 2))), k


def fr(x: np.ndarray) -> list:
    """Exact rationals of a float64 array (nested lists)."""
    return [fr(r) for r in x] if x.ndim > 1 else [Fraction(float(v)) for v in x]


def exact_scores(q: np.ndarray, k: np.ndarray) -> list[list[Fraction]]:
    qf, kf = fr(q), fr(k)
    return [[sum(a * b for a, b in zip(qi, kj)) / 2 for kj in kf] for qi in qf]


def score_error(q: np.ndarray | None, k: np.ndarray | None) -> np.ndarray:
    """δS: rounding of (σq)kᵀ (0 when the scores are given)."""
    if q is None:
        return np.zeros((N, N))
    return (DK + 1) * EPS * (np.abs(q / 2) @ np.abs(k).T)


def visible(causal: bool) -> np.ndarray:
    return np.tril(np.ones((N, N), bool)) if causal else np.ones((N, N), bool)


# ---------------------------------------------------------------------------------------
# oracles: (A, log A, T, τ) as float64 arrays, from exact or 50-digit arithmetic
# ---------------------------------------------------------------------------------------


def _mp(x: Fraction):
    return mp.mpf(x.numerator) / x.denominator


def _finish(t_mp, tau_mp, vis, rho, log_mag=None):
    """A, log A from the (multi-precision) T; the error bounds of A and of log A from the absolute error
    τ of T (multi-precision: T may underflow float64) and its relative error ρ = τ/T; ``log_mag``: the
    size of the numbers the log route subtracts beyond log T and log Z (softmax: the row maximum)."""
    a = np.zeros((N, N))
    log_a = np.full((N, N), -np.inf)
    bound = np.zeros((N, N))
    log_bound = np.zeros((N, N))
    for i in range(N):
        z = mp.fsum(t_mp[i][j] for j in range(N) if vis[i, j])
        if z == 0:  # every visible T is 0: A is 0/0, undefined
            a[i], log_a[i], bound[i], log_bound[i] = np.nan, np.nan, np.nan, np.nan
            continue
        tau_sum = mp.fsum(tau_mp[i][j] for j in range(N) if vis[i, j])
        for j in range(N):
            if not vis[i, j]:
                continue
            a_ij = t_mp[i][j] / z
            a[i, j] = float(a_ij)
            bound[i, j] = float((tau_mp[i][j] + a_ij * tau_sum) / z + (N + 2) * EPS * a_ij)
            if t_mp[i][j] != 0:
                log_a[i, j] = float(mp.log(a_ij))
                mag = abs(log_a[i, j]) + abs(float(mp.log(z))) + abs(float(mp.log(t_mp[i][j])))
                mag += 0.0 if log_mag is None else float(log_mag[i, j])
                log_bound[i, j] = rho[i, j] + float(tau_sum / z) + EPS * (mag + N + 4)
    return a, log_a, bound, log_bound


def oracle_softmax(s_exact: list[list[Fraction]], ds: np.ndarray, causal: bool):
    vis = visible(causal)
    sf = np.array([[float(x) for x in row] for row in s_exact])
    m = np.max(np.where(vis, sf, -np.inf), axis=1, keepdims=True)
    dd = EPS * np.abs(sf - m) + ds + np.max(np.where(vis, ds, 0), axis=1, keepdims=True)
    rho = dd + 2 * EPS
    with mp.workdps(50):
        # T scaled by the row factor exp(−max S) (the weights do not see it)
        t = [[mp.exp(_mp(s_exact[i][j]) - mp.mpf(m[i, 0])) for j in range(N)] for i in range(N)]
        tau = [[t[i][j] * rho[i, j] for j in range(N)] for i in range(N)]
        return _finish(t, tau, vis, rho, log_mag=np.abs(sf) + np.abs(m))


def oracle_base(label: str, s_exact, causal: bool) -> list[list[Fraction]]:
    """u = S − mean_vis S + c (centered) or S + c, exactly."""
    shift, center = SQUARES[label]
    vis = visible(causal)
    u = []
    for i in range(N):
        seen = [s_exact[i][j] for j in range(N) if vis[i, j]]
        mean = sum(seen) / len(seen) if center else 0
        u.append([s_exact[i][j] - mean + Fraction(shift) for j in range(N)])
    return u


def oracle_square(label: str, s_exact, ds: np.ndarray, causal: bool):
    shift, center = SQUARES[label]
    vis = visible(causal)
    u = oracle_base(label, s_exact, causal)
    uf = np.array([[float(x) for x in row] for row in u])
    smax = np.max(np.abs(np.array([[float(x) for x in row] for row in s_exact])) * vis, axis=1, keepdims=True)
    du = EPS * (2 * np.abs(uf) + shift + (N + 2) * smax * center) + ds
    if center:
        du = du + np.max(np.where(vis, ds, 0), axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 2 * du / np.abs(uf)  # ∞ where u = 0: there log A = −∞ and is compared as such
    with mp.workdps(50):
        t = [[_mp(u[i][j] * u[i][j]) for j in range(N)] for i in range(N)]
        tau = [[2 * abs(_mp(u[i][j])) * mp.mpf(du[i, j]) for j in range(N)] for i in range(N)]
        return _finish(t, tau, vis, rho)


def oracle_scores(label: str, s_exact, ds, causal):
    if label == "softmax":
        return oracle_softmax(s_exact, ds, causal)
    return oracle_square(label, s_exact, ds, causal)


def elu_plus_one_oracle(x: float):
    """The literal definition (eˣ − 1) + 1 at 400 digits: no cancellation down to x = −700."""
    with mp.workdps(400):
        xm = mp.mpf(x)
        return +(xm + 1 if xm > 0 else (mp.exp(xm) - 1) + 1)


def oracle_linear(q: np.ndarray, k: np.ndarray, causal: bool):
    vis = visible(causal)
    with mp.workdps(400):
        pq = [[elu_plus_one_oracle(x) for x in row] for row in q]
        pk = [[elu_plus_one_oracle(x) for x in row] for row in k]
        t = [[mp.fsum(a * b for a, b in zip(pq[i], pk[j])) for j in range(N)] for i in range(N)]
        rho = np.full((N, N), (2 * q.shape[1] + 8) * EPS)
        tau = [[t[i][j] * rho[i, j] for j in range(N)] for i in range(N)]
        return _finish(t, tau, vis, rho)


def oracle_rbf(q: np.ndarray, k: np.ndarray, causal: bool):
    """softmax of −‖q_i − k_j‖²/(2√d_k) (d_k = 4: /4), exactly, then 50-digit exp."""
    qf, kf = fr(q), fr(k)
    r = [[-sum((a - b) ** 2 for a, b in zip(qi, kj)) / 4 for kj in kf] for qi in qf]
    rf = np.array([[float(x) for x in row] for row in r])
    dr = (DK + 4) * EPS * np.abs(rf)
    return oracle_softmax(r, dr, causal)


# ---------------------------------------------------------------------------------------
# weights and log-weights
# ---------------------------------------------------------------------------------------


def undefined_rows(got: np.ndarray, oracle) -> np.ndarray:
    """Rows where the oracle's A is 0/0: the kernel must say NaN there too; the other rows are returned."""
    bad = np.isnan(oracle[0][:, 0])
    assert np.all(np.isnan(got[bad])), "a row whose visible T are all 0 has no weights (0/0)"
    return ~bad


def assert_weights(got: np.ndarray, oracle, causal: bool) -> None:
    rows = undefined_rows(got, oracle)
    got, (a, log_a, bound, _) = got[rows], (o[rows] for o in oracle)
    vis = visible(causal)[rows]
    assert np.all(got[~vis] == 0)
    err = np.abs(got - a)
    allowed = SAFETY * bound + TINY
    worst = np.unravel_index(np.argmax(err / allowed), err.shape)
    assert np.all(err <= allowed), f"entry {worst}: got {got[worst]!r}, oracle {a[worst]!r}, bound {allowed[worst]:.2e}"


def assert_log_weights(got: np.ndarray, oracle, causal: bool) -> None:
    rows = undefined_rows(got, oracle)
    got, (_, log_a, _, log_bound) = got[rows], (o[rows] for o in oracle)
    finite = np.isfinite(log_a)
    assert np.array_equal(np.isfinite(got), finite), "−∞ exactly where the oracle's weight is 0 or masked"
    assert np.all(got[~finite] == -np.inf)
    err = np.abs(got[finite] - log_a[finite])
    assert np.all(err <= SAFETY * log_bound[finite]), float(np.max(err / log_bound[finite]))


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("scale", list(SCALES.values()), ids=list(SCALES))
@pytest.mark.parametrize("label", SCORE_LABELS)
def test_weights_from_scores_match_the_oracle(label, scale, causal):
    s = score_matrix(scale)
    oracle = oracle_scores(label, fr(s), score_error(None, None), causal)  # csq-noshift causal row 0: 0/0
    kern = KERNELS[label]
    got = np.asarray(kern.weights_from_scores(jnp.asarray(s), causal=causal))
    log_got = np.asarray(kern.log_weights_from_scores(jnp.asarray(s), causal=causal))
    assert_weights(got, oracle, causal)
    assert_log_weights(log_got, oracle, causal)


@given(st.sampled_from(SCORE_LABELS), st.floats(-300.0, 3.0), st.integers(0, 2**16), st.booleans())
def test_weights_from_scores_match_the_oracle_at_any_magnitude(label, log10_scale, seed, causal):
    """Scores of any magnitude from 1e-300 to 1e3 (log-uniform), fuzzed; the same oracle and bound."""
    s = score_matrix(10.0**log10_scale, seed=seed)
    note(f"max |S| = {np.max(np.abs(s)):.3e}")
    oracle = oracle_scores(label, fr(s), score_error(None, None), causal)
    kern = KERNELS[label]
    assert_weights(np.asarray(kern.weights_from_scores(jnp.asarray(s), causal=causal)), oracle, causal)
    assert_log_weights(np.asarray(kern.log_weights_from_scores(jnp.asarray(s), causal=causal)), oracle, causal)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("scale", [1.0, 40.0, 700.0], ids=["ordinary", "scores±40", "scores±700"])
@pytest.mark.parametrize("label", ["softmax", "poly2", "csq", "csq-uncentered"])
def test_weights_from_queries_and_keys_match_the_oracle(label, scale, causal):
    q, k = query_keys(scale)
    oracle = oracle_scores(label, exact_scores(q, k), score_error(q, k), causal)
    kern = KERNELS[label]
    assert_weights(np.asarray(kern.weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)
    assert_log_weights(np.asarray(kern.log_weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)


ELU_QUERIES = {"ordinary": (-2.0, 2.0), "q∈[-40,-38]": (-40.0, -38.0), "q∈[-300,-40]": (-300.0, -40.0),
               "q∈[-700,-600]": (-700.0, -600.0)}


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("lo, hi", list(ELU_QUERIES.values()), ids=list(ELU_QUERIES))
def test_linear_weights_match_the_literal_elu_oracle(lo, hi, causal):
    rng = np.random.default_rng(5)
    q = rng.uniform(lo, hi, (N, 3))
    k = rng.standard_normal((N, 3))
    oracle = oracle_linear(q, k, causal)
    kern = KERNELS["linear"]
    assert_weights(np.asarray(kern.weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)
    assert_log_weights(np.asarray(kern.log_weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)


@pytest.mark.parametrize("x", [-745.0, -700.0, -300.0, -40.0, -38.0, -1.0, -1e-300, 0.0, 1e-300, 0.5, 40.0, 700.0])
def test_elu_plus_one_has_relative_error_of_one_rounding(x):
    ref = elu_plus_one_oracle(x)
    got = float(elu_plus_one(jnp.asarray([x]))[0])
    assert abs(got - float(ref)) <= 2 * EPS * float(ref) + (5e-324 if x < -708 else 0.0)
    with mp.workdps(50):
        log_ref = float(mp.log(ref))
    assert abs(float(log_elu_plus_one(jnp.asarray([x]))[0]) - log_ref) <= 2 * EPS * max(abs(log_ref), 1.0)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("scale", [1.0, 40.0], ids=["ordinary", "far"])
def test_rbf_weights_match_the_oracle(scale, causal):
    q, k = query_keys(scale)
    k = k * math.sqrt(scale)
    oracle = oracle_rbf(q, k, causal)
    kern = KERNELS["rbf"]
    assert_weights(np.asarray(kern.weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)
    assert_log_weights(np.asarray(kern.log_weights(jnp.asarray(q), jnp.asarray(k), causal)), oracle, causal)


def test_rbf_is_softmax_without_the_key_norm_term():
    """Identity (c): softmax_j(−‖q−k_j‖²/(2√d)) = softmax_j(S_ij − ‖k_j‖²/(2√d)), the second side exact."""
    q, k = query_keys(3.0)
    kf = fr(k)
    shifted = [[row[j] - sum(x * x for x in kf[j]) / 4 for j in range(N)] for row in exact_scores(q, k)]
    oracle = oracle_softmax(shifted, score_error(q, k) + (DK + 2) * EPS * np.sum(k * k, 1) / 4, False)
    assert_weights(np.asarray(ScaledRBFSoftmax().weights(jnp.asarray(q), jnp.asarray(k))), oracle, False)


# ---------------------------------------------------------------------------------------
# feature lifts and their widths
# ---------------------------------------------------------------------------------------


def oracle_pair_weights(label: str, q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Non-causal T, exactly (squares) or at 400 digits (elu+1), as float64."""
    if label == "linear":
        with mp.workdps(400):
            return np.array([[float(mp.fsum(elu_plus_one_oracle(a) * elu_plus_one_oracle(b) for a, b in zip(qi, kj)))
                              for kj in k] for qi in q])
    u = oracle_base(label, exact_scores(q, k), False)
    return np.array([[float(x * x) for x in row] for row in u])


@pytest.mark.parametrize("scale", [1.0, 40.0, 700.0], ids=["ordinary", "scores±40", "scores±700"])
@pytest.mark.parametrize("label", ["poly2", "csq", "csq-uncentered", "csq-noshift", "linear"])
def test_features_lift_the_weights_exactly(label, scale):
    q, k = query_keys(scale)
    if label == "linear":
        q = q - scale  # queries down to about −2·scale
    kern = KERNELS[label]
    phi_q, phi_k = (np.asarray(f) for f in kern.features(jnp.asarray(q), jnp.asarray(k)))
    assert phi_q.shape == (N, kern.feature_dim(DK)) and phi_k.shape == (N, kern.feature_dim(DK))
    got = phi_q @ phi_k.T
    ref = oracle_pair_weights(label, q, k)
    if label == "linear":
        bound = (2 * DK + 8) * EPS * ref
    else:
        shift, center = SQUARES[label]
        x = np.concatenate([q / 2, np.full((N, 1), shift)], axis=1)
        kc = k - k.mean(0) if center else k
        y = np.concatenate([kc, np.ones((N, 1))], axis=1)
        dy = EPS * (np.abs(kc) + (N + 1) * np.max(np.abs(k))) if center else np.zeros_like(kc)
        dy = np.concatenate([dy, np.zeros((N, 1))], axis=1)
        d = kern.feature_dim(DK)
        bound = (d + 6) * EPS * (np.abs(x) @ np.abs(y).T) ** 2 + 2 * np.abs(x @ y.T) * (np.abs(x) @ dy.T)
    assert np.all(np.abs(got - ref) <= SAFETY * bound + TINY), float(np.max(np.abs(got - ref) / (bound + TINY)))


def test_feature_widths_count_the_monomials():
    """D = the number of degree-2 monomials of the lifted vector, counted here by enumeration."""
    for dk in (1, 2, 3, 4, 7):
        sq = len(list(itertools.combinations_with_replacement(range(dk), 2)))
        aug = len(list(itertools.combinations_with_replacement(range(dk + 1), 2)))
        assert KERNELS["poly2"].feature_dim(dk) == sq == sym2_dim(dk)
        assert KERNELS["csq"].feature_dim(dk) == aug == KERNELS["csq-uncentered"].feature_dim(dk)
        assert KERNELS["csq-noshift"].feature_dim(dk) == sq
        assert KERNELS["linear"].feature_dim(dk) == dk
    for label in ("softmax", "rbf"):
        assert KERNELS[label].feature_dim(4) is None
        assert KERNELS[label].features(jnp.ones((3, 4)), jnp.ones((3, 4))) is None
        assert KERNELS[label].linear_form(jnp.ones((3, 4)), jnp.ones((3, 4))) is None


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_sym2_pair_order_weights_and_symmetric_square(d):
    pairs = [(a, b) for a in range(d) for b in range(a, d)]
    assert list(zip(*(ix.tolist() for ix in sym2_pairs(d)))) == pairs
    x = np.random.default_rng(d).standard_normal((3, d))
    y = np.random.default_rng(d + 10).standard_normal((3, d))
    np.testing.assert_array_equal(np.asarray(sym2(jnp.asarray(x))), np.stack([x[:, a] * x[:, b] for a, b in pairs], 1))
    np.testing.assert_array_equal(np.asarray(sym2_weights(d, jnp.float64)), [1.0 if a == b else 2.0 for a, b in pairs])
    got = np.asarray(symmetric_square(jnp.asarray(x))) @ np.asarray(symmetric_square(jnp.asarray(y))).T
    ref = np.array([[float(sum(Fraction(a) * Fraction(b) for a, b in zip(xi, yj)) ** 2) for yj in y] for xi in x])
    scale = (np.abs(x) @ np.abs(y).T) ** 2
    assert np.all(np.abs(got - ref) <= SAFETY * (sym2_dim(d) + 4) * EPS * scale)


# ---------------------------------------------------------------------------------------
# null direction: the analytic row Jacobian annihilates it
# ---------------------------------------------------------------------------------------


def row_jacobian(label: str, u_row: np.ndarray) -> np.ndarray:
    """∂A/∂(argument) of one row, analytically: softmax diag(a) − a aᵀ (in S); the squares
    (2/Z)(diag(u) − a uᵀ) in u (u = S, or S̃ + c for CSQ)."""
    if label == "softmax":
        a = np.exp(u_row - u_row.max())
        a /= a.sum()
        return np.diag(a) - np.outer(a, a)
    z = np.sum(u_row**2)
    a = u_row**2 / z
    return (2 / z) * (np.diag(u_row) - np.outer(a, u_row))


# not ±40: a saturated softmax row's Jacobian is 0 to working precision (no resolvable null space),
# and not max|S| = 1 exactly: uncentered CSQ would then have a u = 0 (a second null direction)
@pytest.mark.parametrize("scale", [0.7, 5.0], ids=["ordinary", "scores±5"])
@pytest.mark.parametrize("label", SCORE_LABELS)
def test_null_direction_is_annihilated_by_the_row_jacobian(label, scale):
    s = score_matrix(scale, seed=3)
    null = np.asarray(KERNELS[label].null_direction(jnp.asarray(s)))
    if label == "softmax":
        u = s
        du = np.zeros(N)
    else:
        u = np.array([[float(x) for x in row] for row in oracle_base(label, fr(s), False)])
        du = EPS * ((N + 3) * np.max(np.abs(s), axis=1) + 2)
    for i in range(N):
        jac = row_jacobian(label, u[i])
        sv = np.linalg.svd(jac, compute_uv=False)
        assert sv[-2] > 1e-6 * sv[0], "the null space is one-dimensional"
        resid = np.linalg.norm(jac @ null[i])
        bound = SAFETY * np.linalg.norm(jac, 2) * (np.sqrt(N) * (du if np.ndim(du) == 0 else du[i])
                                                   + N * EPS * np.linalg.norm(null[i]))
        assert resid <= bound, (i, resid, bound)
        # and the check can fail: the other kernels' direction is not in this null space
        other = np.ones(N) if label != "softmax" else u[i]
        assert np.linalg.norm(jac @ other) > 1e3 * bound


# ---------------------------------------------------------------------------------------
# the CSQ vertex penalty
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("scale", [1.0, 40.0, 700.0], ids=["ordinary", "scores±40", "scores±700"])
@pytest.mark.parametrize("label", ["csq", "csq-uncentered", "csq-noshift"])
def test_vertex_penalty_matches_the_exact_mean_squared_hinge(label, scale, causal):
    s = score_matrix(1.5 * scale, seed=4)  # beyond ±1: uncentered rows too reach below the vertex at c = 1
    u = oracle_base(label, fr(s), causal)
    vis = visible(causal)
    seen = [(i, j) for i in range(N) for j in range(N) if vis[i, j]]
    exact = sum(max(Fraction(0), -u[i][j]) ** 2 for i, j in seen) / len(seen)
    uf = np.array([[float(x) for x in row] for row in u])
    du = EPS * (2 * np.abs(uf) + 1 + (N + 2) * 1.5 * scale)
    bound = np.sum(np.where(vis, 2 * np.abs(uf) * du + du**2, 0)) / len(seen) + N * N * EPS * float(exact)
    got = float(KERNELS[label].vertex_penalty(jnp.asarray(s), causal=causal))
    assert abs(got - float(exact)) <= SAFETY * bound
    assert float(exact) > 0  # these rows do reach below the vertex, so the comparison is not 0 == 0


def test_vertex_penalty_is_zero_exactly_above_the_vertex_and_batches():
    s = score_matrix(40.0, seed=6)
    assert float(CSQ(shift=200.0).vertex_penalty(jnp.asarray(s))) == 0.0
    batch = np.stack([score_matrix(1.0, seed=7), score_matrix(3.0, seed=8)])
    got = float(CSQ().vertex_penalty(jnp.asarray(batch)))
    per = [float(CSQ().vertex_penalty(jnp.asarray(b))) for b in batch]
    assert abs(got - np.mean(per)) <= 4 * EPS * max(per)


# ---------------------------------------------------------------------------------------
# the penalty's linear-time candidates (theorem.kernels.penalties), against exact rationals
# ---------------------------------------------------------------------------------------


def oracle_row_moments(u, causal: bool) -> tuple[list[Fraction], list[Fraction]]:
    """Mean and (population) variance of each row of u over its visible keys, exactly."""
    vis = visible(causal)
    means, variances = [], []
    for i in range(N):
        seen = [u[i][j] for j in range(N) if vis[i, j]]
        mean = sum(seen) / len(seen)
        means.append(mean)
        variances.append(sum((x - mean) ** 2 for x in seen) / len(seen))
    return means, variances


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("offset", [0.0, 5.0], ids=["keys", "keys+5"])
@pytest.mark.parametrize("label", ["csq", "csq-uncentered", "csq-noshift"])
def test_query_moments_match_exact_rationals(label, offset, causal):
    q, k = query_keys(3.0, seed=11)
    k = k + offset  # a shared key mean: the centring removes it, the moments must not lose digits to it
    u = oracle_base(label, exact_scores(q, k), causal)
    means, variances = oracle_row_moments(u, causal)
    mean, var = pen.query_moments(KERNELS[label], jnp.asarray(q), jnp.asarray(k), causal)
    scale = 1 + float(max(abs(x) for row in u for x in row)) + 3.0 * offset
    assert np.max(np.abs(np.asarray(mean) - [float(m) for m in means])) <= 64 * EPS * scale
    assert np.max(np.abs(np.asarray(var) - [float(v) for v in variances])) <= 64 * EPS * scale**2
    if KERNELS[label].center:  # centred: the mean is the shift, for every query
        assert [float(m) for m in means] == [KERNELS[label].shift] * N


@given(st.integers(0, 10**6), st.floats(0.3, 4.0), st.floats(0.5, 3.0), st.booleans())
def test_moment_penalty_value_and_its_cantelli_guarantee(seed, kappa, shift, causal):
    """The value against the exact moments; and where a query's term is 0, at most 1/(1+κ²) of its visible
    keys lie below the vertex (Cantelli), counted on the exact u."""
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((N, DK)) * rng.uniform(0.2, 2.0), rng.standard_normal((N, DK))
    kern = CSQ(shift=shift)
    u = oracle_base("csq", exact_scores(q, k), causal)
    u = [[x - 1 + Fraction(shift) for x in row] for row in u]  # oracle_base adds c = 1: use this shift
    means, variances = oracle_row_moments(u, causal)
    sd = [math.sqrt(float(v)) for v in variances]
    want = np.mean([max(kappa * s - float(m), 0.0) ** 2 for m, s in zip(means, sd)])
    got = float(pen.moment_penalty(kern, jnp.asarray(q), jnp.asarray(k), kappa, causal))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    vis = visible(causal)
    cleared = [i for i in range(N) if float(means[i]) ** 2 >= kappa**2 * float(variances[i])]
    assume(cleared)
    for i in cleared:
        seen = [u[i][j] for j in range(N) if vis[i, j]]
        below = sum(1 for x in seen if x < 0) / len(seen)
        assert below <= 1 / (1 + kappa**2) + 1e-12
    assert pen.violation_bound(kappa) == pytest.approx(1 / (1 + kappa**2), rel=1e-15)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("label", ["csq", "csq-uncentered"])
def test_sampled_penalty_matches_exact_rationals_on_the_same_keys(label, causal):
    q, k = query_keys(4.0, seed=12)
    u = oracle_base(label, exact_scores(q, k), causal)
    idx = np.asarray(pen.sampled_keys(jax.random.PRNGKey(3), N, 5, causal))
    vis = visible(causal)
    assert all(vis[i, j] for i in range(N) for j in idx[i])  # only visible keys are drawn
    counts = [int(vis[i].sum()) for i in range(N)]
    want = sum(Fraction(counts[i], sum(counts)) * sum(max(Fraction(0), -u[i][int(j)]) ** 2 for j in idx[i]) / 5
               for i in range(N))
    got = float(pen.sampled_penalty(KERNELS[label], jnp.asarray(q), jnp.asarray(k), jnp.asarray(idx), causal))
    assert float(want) > 0 and got == pytest.approx(float(want), rel=1e-12)
    # drawing every key once per query gives the exact penalty (non-causal: the rows are weighted alike)
    every = jnp.asarray(np.tile(np.arange(N), (N, 1)))
    full = float(pen.sampled_penalty(KERNELS[label], jnp.asarray(q), jnp.asarray(k), every))
    exact = sum(max(Fraction(0), -x) ** 2 for row in oracle_base(label, exact_scores(q, k), False) for x in row)
    assert full == pytest.approx(float(exact) / N**2, rel=1e-12)


def test_penalty_spec_names_the_three_penalties_and_rejects_bad_ones():
    q, k = query_keys(4.0, seed=13)
    qj, kj = jnp.asarray(q), jnp.asarray(k)
    assert float(pen.PenaltySpec("exact")(CSQ(), qj, kj)) == float(CSQ().vertex_penalty(jnp.asarray(q @ k.T / 2)))
    assert float(pen.PenaltySpec("moments", kappa=2.0)(CSQ(), qj, kj)) == float(pen.moment_penalty(CSQ(), qj, kj, 2.0))
    key = jax.random.PRNGKey(5)
    idx = pen.sampled_keys(key, N, 3)
    assert float(pen.PenaltySpec("sampled", m=3)(CSQ(), qj, kj, key)) == float(pen.sampled_penalty(CSQ(), qj, kj, idx))
    for bad in ({"name": "hinge"}, {"name": "moments", "kappa": 0.0}, {"name": "sampled", "m": 0}):
        with pytest.raises(ValueError):
            pen.PenaltySpec(**bad)
    with pytest.raises(ValueError, match="PRNG key"):
        pen.PenaltySpec("sampled")(CSQ(), qj, kj)


# ---------------------------------------------------------------------------------------
# registry, labels, dtype
# ---------------------------------------------------------------------------------------


def test_registry_labels_and_errors():
    assert set(KERNELS) == {"softmax", "rbf", "linear", "poly2", "csq", "csq-uncentered", "csq-noshift"}
    for label, kern in KERNELS.items():
        assert kernel_label(kern) == label
    assert kernel_label(CSQ(shift=2.0)) == "csq(shift=2, center=True)"
    assert KERNEL_NAMES == ("softmax", "poly2", "csq", "linear", "hedgehog")
    assert get_kernel("csq", shift=0.5, center=False) == CSQ(0.5, False)
    assert isinstance(get_kernel("hedgehog"), HedgehogExp)  # by name only: not among the labelled KERNELS
    assert isinstance(get_kernel("linear"), LinearElu) and isinstance(get_kernel("poly2"), Poly2)
    with pytest.raises(UnknownKernelError, match="cosine"):
        get_kernel("cosine")
    with pytest.raises(UnknownKernelError, match="width"):
        get_kernel("csq", width=2)
    with pytest.raises(UnknownKernelError, match="shift"):
        CSQ(shift=-1.0)
    with pytest.raises(UnknownKernelError, match="scores"):
        LinearElu().weights_from_scores(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="key norms"):
        ScaledRBFSoftmax().weights_from_scores(jnp.zeros((2, 2)))
    with pytest.raises(NotImplementedError):
        LinearElu().null_direction(jnp.zeros((2, 2)))
    assert [KERNELS[x].centers_keys for x in ("csq", "csq-uncentered", "softmax")] == [True, False, False]


class Cubic(Kernel):
    """A user kernel that supplies only its weight function, T = |S|³."""

    def unnormalized(self, scores, causal=False):
        t = jnp.abs(scores) ** 3
        return t if not causal else jnp.where(np.tril(np.ones(t.shape, bool)), t, 0.0)


def test_a_user_kernel_gets_everything_else_derived_or_reported_unavailable():
    s = score_matrix(2.0, seed=9)
    exact = [[abs(Fraction(x)) ** 3 for x in row] for row in s]
    ref = np.array([[float(x / sum(row)) for x in row] for row in exact])
    kern = Cubic()
    np.testing.assert_allclose(np.asarray(kern.weights_from_scores(jnp.asarray(s))), ref, rtol=(N + 8) * EPS)
    with mp.workdps(50):
        log_ref = np.array([[float(mp.log(_mp(x)) - mp.log(_mp(sum(row)))) for x in row] for row in exact])
    np.testing.assert_allclose(np.asarray(kern.log_weights_from_scores(jnp.asarray(s))), log_ref,
                               rtol=0, atol=(N + 8) * EPS * np.max(np.abs(log_ref)))
    assert kern.features(jnp.ones((2, 2)), jnp.ones((2, 2))) is None and kern.feature_dim(2) is None
    with pytest.raises(NotImplementedError):
        kern.null_direction(jnp.asarray(s))


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("label", list(KERNELS))
def test_float32_in_float32_out(label, causal):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((5, 4)), jnp.float32)
    kern = KERNELS[label]
    outs = [kern.weights(x, x, causal), kern.log_weights(x, x, causal), kern.unnormalized_qk(x, x, causal)]
    if kern.is_score_kernel:
        s = x @ x.T
        outs += [kern.weights_from_scores(s, causal), kern.log_weights_from_scores(s, causal), kern.null_direction(s)]
    if kern.features(x, x) is not None:
        outs += list(kern.features(x, x)) + [f for f in kern.linear_form(x, x, causal)[1:]]
    if isinstance(kern, CSQ):
        outs.append(kern.vertex_penalty(x @ x.T, causal))
    assert all(o.dtype == jnp.float32 for o in outs), [o.dtype for o in outs]


def test_softmax_is_a_kernel_of_the_registry():
    assert isinstance(KERNELS["softmax"], Softmax) and get_kernel("softmax") == Softmax()


def test_csq_shift_can_be_traced_and_differentiated():
    """d log A_ij / dc = 2/u_ij − 2 Σ_j u_ij / Σ_j u_ij² (u = S̃ + c), written here, vs jax.grad through CSQ(shift=c)."""
    q, k = query_keys(2.0, seed=12)
    c = 1.3
    grad = jax.jit(jax.grad(lambda c: CSQ(shift=c).log_weights(jnp.asarray(q), jnp.asarray(k))[2, 3]))(jnp.asarray(c))
    s = q @ k.T / 2
    u = s - s.mean(1, keepdims=True) + c
    ref = 2 / u[2, 3] - 2 * u[2].sum() / (u[2] ** 2).sum()
    assert abs(float(grad) - ref) <= 1e3 * EPS * (abs(2 / u[2, 3]) + abs(ref))
