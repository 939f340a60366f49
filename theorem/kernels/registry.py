"""One registry of the kernels: names for construction, labels for the variants the readings test.

* :func:`get_kernel` ``(name, **params)`` builds a kernel by name (:data:`KERNEL_NAMES`: the kernels
  of :func:`theorem.attention.attention` and the command line); unknown names or parameters raise
  :class:`~theorem.kernels.UnknownKernelError`.
  (``hedgehog``, the learnable exp-feature kernel, is constructed by name only: its weights depend on its
  feature parameters, so it is not one of the labelled variants below that the matching readings test);
* :data:`KERNELS` maps each label to its kernel: ``softmax``, ``rbf``, ``linear``, ``poly2``, ``csq``,
  ``csq-uncentered`` (``center=False``), ``csq-noshift`` (``shift=0``).
* :func:`kernel_label` is the inverse: the label of a registered variant, else :meth:`Kernel.describe`.
"""

from __future__ import annotations

from theorem.kernels.base import Kernel, UnknownKernelError
from theorem.kernels.hedgehog import HedgehogExp
from theorem.kernels.linear import LinearElu
from theorem.kernels.polynomial import CSQ, Poly2
from theorem.kernels.rbf import ScaledRBFSoftmax
from theorem.kernels.softmax import Softmax

__all__ = ["KERNEL_NAMES", "get_kernel", "KERNELS", "kernel_label"]

KERNEL_NAMES = ("softmax", "poly2", "csq", "linear", "hedgehog")

_FACTORIES = {"softmax": Softmax, "poly2": Poly2, "csq": CSQ, "linear": LinearElu, "hedgehog": HedgehogExp}


def get_kernel(name: str, **params) -> Kernel:
    """Look a kernel up by name; ``params`` go to its constructor (``csq``: shift, center; ``hedgehog``: w)."""
    if name not in _FACTORIES:
        raise UnknownKernelError(f"unknown kernel {name!r}; choose one of {', '.join(KERNEL_NAMES)}")
    try:
        return _FACTORIES[name](**params)
    except TypeError as err:
        raise UnknownKernelError(f"{name}: bad parameters {params}: {err}") from None


#: every labelled kernel variant (the matching readings test all of them)
KERNELS: dict[str, Kernel] = {
    "softmax": Softmax(),
    "rbf": ScaledRBFSoftmax(),
    "linear": LinearElu(),
    "poly2": Poly2(),
    "csq": CSQ(shift=1.0, center=True),
    "csq-uncentered": CSQ(shift=1.0, center=False),
    "csq-noshift": CSQ(shift=0.0, center=True),
}


def kernel_label(kernel: Kernel) -> str:
    """The label of ``kernel`` in :data:`KERNELS` (equal parameters), else ``kernel.describe()``."""
    for label, known in KERNELS.items():
        if type(known) is type(kernel) and known == kernel:
            return label
    return kernel.describe()
