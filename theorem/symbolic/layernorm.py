r"""Why LayerNorm with its affine part keeps a softmax head below d², at every parameter point.

LayerNorm maps a token :math:`g \in \mathbb{R}^d` to :math:`\gamma \odot z + \beta` with
:math:`z = (g - \bar g\,\mathbf 1)/\sigma(g)`, so :math:`z \cdot \mathbf 1_d = 0`.  Stacking ``n`` tokens,
:math:`X = Z\,\mathrm{diag}(\gamma) + \mathbf 1_n \beta^\top` with :math:`Z \mathbf 1_d = 0`, hence

.. math::

    X\,\mathrm{diag}(\gamma)^{-1}\mathbf 1_d \;=\; Z \mathbf 1_d + \mathbf 1_n\,(\beta^\top \gamma^{-1})
    \;=\; c\,\mathbf 1_n, \qquad c = \textstyle\sum_a \beta_a/\gamma_a,

so :math:`\mathbf 1_n \in \operatorname{col} X` whenever :math:`c \ne 0` (every sequence, every
position: the vector :math:`\mathrm{diag}(\gamma)^{-1}\mathbf 1_d / c` does not depend on the tokens).
The closed form of the softmax weights map, :math:`r(r - [\mathbf 1 \in \operatorname{col} X])`, then
gives at most :math:`d(d-1)`; it does not depend on :math:`M`, so the deficit holds at every parameter
point, hence along any training trajectory and across any data set of LayerNorm'd sequences.

:func:`layernorm_affine_ones_in_column_space` checks the identity symbolically for explicit sizes (the
token entries, :math:`\gamma` and :math:`\beta` all free symbols; the centering done symbolically).
"""

from __future__ import annotations

import sympy as sp

from .derivations import Derivation

__all__ = ["layernorm_affine_ones_in_column_space"]

SIZES: tuple[tuple[int, int], ...] = ((2, 2), (3, 2), (4, 3), (5, 4))


def _identity_holds(n: int, d: int) -> bool:
    g = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"g_{i}{j}", real=True))
    sigma = [sp.Symbol(f"sigma_{i}", positive=True) for i in range(n)]  # any positive row scale
    gamma = [sp.Symbol(f"gamma_{a}", positive=True) for a in range(d)]
    beta = [sp.Symbol(f"beta_{a}", real=True) for a in range(d)]
    z = sp.Matrix(n, d, lambda i, j: (g[i, j] - sum(g[i, :]) / d) / sigma[i])
    x = sp.Matrix(n, d, lambda i, j: gamma[j] * z[i, j] + beta[j])
    c = sum(b / gm for b, gm in zip(beta, gamma))
    lhs = x * sp.Matrix([1 / gm for gm in gamma])
    return all(sp.simplify(lhs[i] - c) == 0 for i in range(n))


def layernorm_affine_ones_in_column_space(sizes: tuple[tuple[int, int], ...] = SIZES) -> Derivation:
    """``X diag(γ)⁻¹ 1_d = (Σ β_a/γ_a) 1_n`` for LayerNorm'd tokens, checked for each (n, d) in ``sizes``."""
    held = [(n, d) for n, d in sizes if _identity_holds(n, d)]
    return Derivation(
        name="layernorm_affine_ones_in_column_space",
        statement_latex=r"X\,\mathrm{diag}(\gamma)^{-1}\mathbf 1_d = (\beta^\top\gamma^{-1})\,\mathbf 1_n"
                        r"\ \Rightarrow\ \mathbf 1_n \in \operatorname{col} X",
        general="proved in the module docstring (Z 1_d = 0); checked symbolically at explicit sizes",
        checked_sizes=tuple(sizes),
        holds=len(held) == len(sizes),
        detail=f"identity holds at {held} of {list(sizes)} (n, d)",
    )
