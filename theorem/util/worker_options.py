"""The ``--workers N`` / ``--address ADDR`` options every parallel command takes (``d2check verify``, ``fuzz``,
``sweep``, ``bench workers``, ``python -m theorem.experiments``), parsed and checked in one place before any
work; the commands wrap the :class:`ValueError` into their own one-line error."""

from __future__ import annotations

import argparse

from theorem.util.executor import ray_available

__all__ = ["INSTALL_HINT", "requested_workers", "worker_count"]

#: how to install the ``parallel`` extra, named in the error when Ray is missing
INSTALL_HINT = "pip install -c constraints.txt -e '.[parallel]'"


def worker_count(text: str) -> int | str:
    """An argparse type: a worker count ≥ 1, or ``auto`` (this machine's cores, or the cluster's CPUs)."""
    if text == "auto":
        return text
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 1 or 'auto', got {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {count}")
    return count


def requested_workers(workers: int | str | None, address: str | None) -> int | str:
    """The worker count a run asked for: ``workers`` when given, else ``auto`` with an ``address`` (a cluster)
    and 1 without one.  More than one worker, or any address, needs Ray: :class:`ValueError` when it is not
    installed."""
    count = workers if workers is not None else ("auto" if address else 1)
    if (count != 1 or address) and not ray_available():
        raise ValueError(f"--workers {count} runs on Ray, which is not installed ({INSTALL_HINT})")
    return count
