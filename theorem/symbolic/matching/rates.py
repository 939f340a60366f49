r"""Closed forms of the Monte-Carlo violation rates (claim T6.d), as SymPy expressions.

Inputs (those of :func:`theorem.numeric.matching.realistic_violation_rates`): given the query, the
scores are :math:`s_j = o + \sigma\zeta_j`, :math:`\zeta_j` iid :math:`N(0,1)`,
:math:`\sigma^2 = \lVert q\rVert^2/d_k`, with a common offset :math:`o \sim N(0, \tau^2\sigma^2)` from a
shared key mean of spread :math:`\tau`.

* :func:`centered_pair_sum_variance` — :math:`\operatorname{Var}(\zeta_i+\zeta_j-2\bar\zeta) = 2-4/n`
  (derived), the spread of a centered pair sum;
* :func:`vertex_misorder_rate` — a quadratic kernel reverses a pair with :math:`s_i > s_j` iff
  :math:`t_i + t_j < 0`: :math:`P = \Phi(-2c/(\sigma\,\mathrm{spread}))`, spread² = :math:`2 - 4/n`
  centered, :math:`2 + 4\tau^2` uncentered;
* :func:`euclid_misorder_angle` — the (b) rate of a kernel increasing in the score is
  :math:`\mathbb{E}\,\operatorname{atan2}(\sigma_w\sqrt W,\ 2\sqrt{d_k} - \sigma_w Z)/\pi`,
  :math:`W \sim \chi^2_{d_k-1}`, :math:`Z \sim N(0,1)`, :math:`\sigma_w^2 = 2 + 4\tau^2`
  (at :math:`d_k = 1`: :math:`\Phi(-2/\sigma_w)`, :func:`euclid_misorder_rate_dk1`).

The expectations over :math:`\sigma` and :math:`(W, Z)` are integrals the numeric side evaluates by
quadrature (:mod:`theorem.numeric.matching.rates`); the formulas are typed only here.
"""

from __future__ import annotations

import sympy as sp

from theorem.symbolic.derivations import Derivation

__all__ = [
    "centered_pair_sum_variance",
    "RATE_SYMBOLS",
    "normal_cdf",
    "pair_sum_spread_sq",
    "vertex_misorder_rate",
    "euclid_misorder_angle",
    "euclid_spread_sq",
    "euclid_misorder_rate_dk1",
]

SHIFT = sp.Symbol("c", nonnegative=True)
SIGMA = sp.Symbol("sigma", positive=True)  # score standard deviation given the query
TAU = sp.Symbol("tau", nonnegative=True)  # spread of the shared key mean
KEYS = sp.Symbol("n", positive=True, integer=True)
DK = sp.Symbol("d_k", positive=True, integer=True)
W = sp.Symbol("W", nonnegative=True)  # χ²_{d_k − 1}
Z = sp.Symbol("Z", real=True)  # N(0, 1)
SIGMA_W = sp.Symbol("sigma_w", positive=True)

#: the symbols of the rate expressions, by the name the numeric side passes
RATE_SYMBOLS = {"c": SHIFT, "sigma": SIGMA, "tau": TAU, "n": KEYS, "dk": DK, "W": W, "Z": Z, "sigma_w": SIGMA_W}


def normal_cdf(x: sp.Expr) -> sp.Expr:
    r""":math:`\Phi(x) = \tfrac12\operatorname{erfc}(-x/\sqrt2)`."""
    return sp.erfc(-x / sp.sqrt(2)) / 2


def pair_sum_spread_sq(center: bool) -> sp.Expr:
    """Variance of ``ζ_i + ζ_j`` (centered: minus ``2ζ̄``; uncentered: plus the offset ``2o/σ``)."""
    return 2 - 4 / KEYS if center else 2 + 4 * TAU**2


def vertex_misorder_rate(center: bool) -> sp.Expr:
    r""":math:`\Phi(-2c/(\sigma\sqrt{\mathrm{spread}^2}))`: the (a) rate of CSQ/poly2 given :math:`\sigma`
    (``c = 0`` gives 1/2: half of all pairs reversed)."""
    return normal_cdf(-2 * SHIFT / (SIGMA * sp.sqrt(pair_sum_spread_sq(center))))


def euclid_spread_sq() -> sp.Expr:
    r""":math:`\sigma_w^2 = 2 + 4\tau^2`: variance of each entry of :math:`w = 2\mu + z_i + z_j`."""
    return 2 + 4 * TAU**2


def euclid_misorder_angle() -> sp.Expr:
    r"""The integrand :math:`\operatorname{atan2}(\sigma_w\sqrt W,\ 2\sqrt{d_k} - \sigma_w Z)/\pi`.

    For keys :math:`k = \mu + z` and a pair :math:`u = z_i - z_j`, :math:`v = z_i + z_j`
    (independent, :math:`N(0, 2I)`): :math:`s_i - s_j \propto q\cdot u` and
    :math:`\lVert q-k_i\rVert^2 - \lVert q-k_j\rVert^2 = -u\cdot(2q - w)`, :math:`w = 2\mu + v`.
    Over isotropic :math:`u` the two orders disagree with probability :math:`\theta(2q - w, q)/\pi`,
    and with :math:`\lVert q\rVert = \sqrt{d_k}` that angle is the atan2 above.
    """
    return sp.atan2(SIGMA_W * sp.sqrt(W), 2 * sp.sqrt(DK) - SIGMA_W * Z) / sp.pi


def euclid_misorder_rate_dk1() -> sp.Expr:
    r""":math:`d_k = 1` (no orthogonal part, :math:`W = 0`): the angle is 0 or π, so
    :math:`P = P(\sigma_w Z > 2) = \Phi(-2/\sigma_w)`."""
    return normal_cdf(-2 / SIGMA_W)


def centered_pair_sum_variance(explicit_sizes: tuple[int, ...] = (3, 4, 5, 8)) -> Derivation:
    r""":math:`\operatorname{Var}(\zeta_i + \zeta_j - 2\bar\zeta) = 2 - 4/n` for iid unit-variance :math:`\zeta`.

    General :math:`n`: the coefficients are :math:`1 - 2/n` (twice) and :math:`-2/n`
    (:math:`n-2` times); the sum of their squares simplifies to :math:`2 - 4/n`.  Explicit
    sizes: the coefficient vector of :math:`\zeta_0 + \zeta_1 - \tfrac2n\sum_l\zeta_l`
    is built term by term and its squared norm compared.
    """
    n = KEYS
    general = sp.simplify(2 * (1 - 2 / n) ** 2 + (n - 2) * (2 / n) ** 2)
    target = pair_sum_spread_sq(center=True)  # the spread the rate's closed form uses
    ok = sp.simplify(general - target) == 0
    notes = []
    for m in explicit_sizes:
        z = sp.symbols(f"z0:{m}", real=True)
        combo = sp.expand(z[0] + z[1] - sp.Rational(2, m) * sum(z))
        var = sum(combo.coeff(v) ** 2 for v in z)
        agree = sp.simplify(var - target.subs(n, m)) == 0
        ok &= agree
        notes.append(f"n={m}: {var}")
    return Derivation(
        name="centered_pair_sum_variance",
        statement_latex=r"\operatorname{Var}(\zeta_i+\zeta_j-2\bar\zeta) = 2 - \tfrac{4}{n}",
        general="general n",
        checked_sizes=tuple(explicit_sizes),
        holds=bool(ok),
        detail=f"general: {general}; explicit: {', '.join(notes)}",
    )
