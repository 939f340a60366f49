"""d2check: symbolic and numerical checks of the claims of "The d² Pullback Theorem".

``from theorem import attention`` gives the attention API (quadratic and linear-time forms).
Importing the package changes no global JAX setting: the measurements scope float64 to themselves
(:mod:`theorem.util.precision`).  The layers are described in ``docs/architecture.md``.
"""

from theorem.attention import attention

__all__ = ["attention"]
