"""d2check: symbolic and numerical checks of the claims of "The d² Pullback Theorem".

``from theorem import attention`` gives the attention API (quadratic and linear-time forms).
"""

import jax

jax.config.update("jax_enable_x64", True)

__all__ = ["attention"]


def __getattr__(name):
    if name == "attention":
        from theorem.attention import attention

        return attention
    raise AttributeError(f"module 'theorem' has no attribute {name!r}")
