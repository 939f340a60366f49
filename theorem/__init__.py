"""d2check: symbolic and numerical checks of the claims of "The d² Pullback Theorem".

* ``attention(q, k, v, kernel=..., causal=..., algorithm=...)``: the attention API (quadratic and exact
  linear-time forms);
* ``check_head(x, w_q, w_k, b_q=None, b_k=None, w_v=None, kernel="softmax")``: the measured and predicted
  dimensions of your own head's pulled-back spaces;
* ``check_kernel(kernel)``: the battery of named checks for your own kernel (``docs/kernels.md``).

Importing the package changes no global JAX setting: the measurements scope float64 to themselves
(:mod:`theorem.util.precision`).  The layers are described in ``docs/architecture.md``.
"""

from theorem.attention import attention
from theorem.numeric.check_head import check_head
from theorem.numeric.kernel_checks import check_kernel

__all__ = ["attention", "check_head", "check_kernel"]
