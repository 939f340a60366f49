"""The memory budget a measurement may ask for before it allocates anything."""

from __future__ import annotations

import os

#: the share of the physical memory a single measurement may plan to use by default
DEFAULT_SHARE = 0.8


def physical_gib() -> float | None:
    """This machine's physical memory in GiB, or None when the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def default_max_gib() -> float:
    """The default ``--max-gib``: :data:`DEFAULT_SHARE` of the physical memory (8 GiB when it cannot be read)."""
    total = physical_gib()
    return 8.0 if total is None else DEFAULT_SHARE * total
