r"""Closed forms of the low-rank bottleneck (claim R4), as SymPy expressions.

* :func:`off_support_mass_bound` — with :math:`|S_{ij}| \le B`, a softmax row whose target has
  :math:`m` of :math:`n` keys keeps at least :math:`(n-m)e^{-B}/(m e^{B} + (n-m)e^{-B})
  = (n-m)/(m e^{2B} + n - m)` of its mass off them (best case: target keys at :math:`+B`, the rest at
  :math:`-B`), a lower bound on the row's total variation at any rank;
* :func:`circle_construction_error` — rank 2 suffices for a permutation when :math:`B` may grow:
  keys on a circle at angles :math:`2\pi j/n`, query :math:`i` at the angle of key :math:`\pi(i)`, scores
  :math:`B\cos(\theta_j - \theta_{\pi(i)})`; the target gets :math:`1/\sum_j e^{B(\cos(2\pi j/n) - 1)}`.

:mod:`theorem.numeric.bottleneck` evaluates them (``lambdify``); the fits are
:mod:`theorem.training.bottleneck_fit`.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["KEYS", "TARGET_KEYS", "BOUND", "off_support_mass_bound", "circle_construction_error"]

KEYS = sp.Symbol("n", positive=True, integer=True)
TARGET_KEYS = sp.Symbol("m", positive=True, integer=True)
BOUND = sp.Symbol("B", nonnegative=True)
_J = sp.Symbol("j", integer=True, nonnegative=True)


def off_support_mass_bound() -> sp.Expr:
    r""":math:`(n-m)e^{-B}/(m e^{B} + (n-m)e^{-B})`, simplified to :math:`(n-m)/(m e^{2B} + n - m)`."""
    best = (KEYS - TARGET_KEYS) * sp.exp(-BOUND) / (TARGET_KEYS * sp.exp(BOUND) + (KEYS - TARGET_KEYS) * sp.exp(-BOUND))
    return sp.simplify(best)


def circle_construction_error() -> sp.Expr:
    r""":math:`1 - 1/\sum_{j=0}^{n-1} e^{B(\cos(2\pi j/n) - 1)}` (the target's key is :math:`j = 0`)."""
    return 1 - 1 / sp.Sum(sp.exp(BOUND * (sp.cos(2 * sp.pi * _J / KEYS) - 1)), (_J, 0, KEYS - 1))
