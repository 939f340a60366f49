"""Peak resident memory of one call, read from ``/proc/self`` (Linux; None elsewhere)."""

from __future__ import annotations

from typing import Callable

import jax

__all__ = ["proc_status", "peak_rss_of_call"]


def proc_status(key: str) -> int | None:
    """The value of ``key`` (e.g. ``VmRSS``, ``VmHWM``) in ``/proc/self/status``, in bytes; None if unreadable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss_of_call(f: Callable, args) -> int | None:
    """Peak resident memory of one call ``f(*args)`` above the resident memory before it: the high-water
    mark is reset through ``/proc/self/clear_refs``; None where that is not available."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return None
    base = proc_status("VmRSS")
    jax.block_until_ready(f(*args))
    peak = proc_status("VmHWM")
    if base is None or peak is None:
        return None
    return max(0, peak - base)
