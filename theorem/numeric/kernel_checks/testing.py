"""The battery as pytest cases, in the style of scikit-learn's ``parametrize_with_checks``::

    from theorem.numeric.kernel_checks.testing import parametrize_with_checks

    @parametrize_with_checks([MyKernel()], expected={"monotonicity": True})
    def test_my_kernel(kernel, check):
        check(kernel)

Each (kernel, check) pair is one test: it fails when the check is ``inconsistent`` or ``error`` (or its
answer differs from ``expected[name]``), and is skipped, with the reason, when ``not-available``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from theorem.kernels import Kernel
from theorem.numeric.kernel_checks.battery import CHECKS, run_check
from theorem.numeric.kernel_checks.result import KernelCheck

__all__ = ["parametrize_with_checks", "assert_check"]


def assert_check(kernel: Kernel, name: str, expected: bool | None = None) -> KernelCheck:
    """Run one check; skip when not available, fail when inconsistent, an error, or not ``expected``."""
    result = run_check(kernel, name)
    if result.status == "not-available":
        pytest.skip(f"{name}: {result.detail}")
    assert result.status == "ok", f"{kernel.describe()}: {name} {result.status}: {result.detail}"
    if expected is not None:
        assert result.holds is expected, f"{kernel.describe()}: {name} gave {result.holds}, expected {expected}: {result.detail}"
    return result


class _Check:
    """A named, callable check (its ``repr`` is its name, so pytest ids read well)."""

    def __init__(self, name: str, expected: bool | None) -> None:
        self.name, self.expected = name, expected

    def __call__(self, kernel: Kernel) -> KernelCheck:
        return assert_check(kernel, self.name, self.expected)

    def __repr__(self) -> str:
        return self.name


def parametrize_with_checks(
    kernels: Iterable[Kernel],
    *,
    checks: Iterable[str] | None = None,
    expected: dict[str, bool] | None = None,
) -> Callable:
    """``pytest.mark.parametrize("kernel, check", ...)`` over every kernel × check of the battery."""
    names = tuple(CHECKS) if checks is None else tuple(checks)
    for name in names:
        if name not in CHECKS:
            raise ValueError(f"checks: unknown check {name!r}; choose from {', '.join(CHECKS)}")
    expected = expected or {}
    params = [pytest.param(k, _Check(name, expected.get(name)), id=f"{k.describe()}-{name}")
              for k in kernels for name in names]
    return pytest.mark.parametrize("kernel, check", params)
