"""What one named check of :func:`theorem.numeric.kernel_checks.check_kernel` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["KernelCheck", "STATUSES"]

#: ``ok``: the check ran and the kernel is consistent with what it supplies (``holds`` answers the
#: property); ``inconsistent``: a measurement contradicts a bound or the kernel's own feature map;
#: ``not-available``: the kernel does not supply what the check needs (the reason says what);
#: ``error``: the kernel's code raised (the message is kept, nothing is raised to the caller).
STATUSES = ("ok", "inconsistent", "not-available", "error")


@dataclass(frozen=True)
class KernelCheck:
    """One check of one kernel: its status, the property's answer (``holds``), the numbers behind it."""

    name: str
    status: str
    holds: bool | None
    numbers: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: one of {', '.join(STATUSES)}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line: name, status, answer and detail."""
        answer = {True: "yes", False: "no", None: "—"}[self.holds]
        return f"{self.name:<26} {self.status:<14} {answer:<4} {self.detail}"
