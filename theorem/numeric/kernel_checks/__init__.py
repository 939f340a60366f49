"""Your own kernel: ``check_kernel(kernel)`` runs a battery of named checks (issue 14 §3, ``docs/kernels.md``).

* :mod:`.battery` — the checks and :func:`check_kernel`;
* :mod:`.result` — :class:`KernelCheck`, what each returns;
* :mod:`.testing` — :func:`~theorem.numeric.kernel_checks.testing.parametrize_with_checks`, the battery as
  pytest cases for a kernel author's own test suite (imports pytest; not imported here).
"""

from theorem.numeric.kernel_checks.battery import CHECKS, check_kernel, run_check
from theorem.numeric.kernel_checks.result import STATUSES, KernelCheck

__all__ = ["CHECKS", "KernelCheck", "STATUSES", "check_kernel", "run_check"]
