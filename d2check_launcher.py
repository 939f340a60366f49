"""The ``d2check`` console script: an interrupt at any moment, import included, ends the run with one line
and exit code 130.

It lives outside the ``theorem`` package so that it runs before ``theorem`` (and JAX) are imported: the
handler is in place from the first instant.  It ends the process at once (``os._exit``), so no exception can
be swallowed on the way out (JAX's garbage-collection callback can eat a ``KeyboardInterrupt``) and no
report is half-written: reports are written to a temporary name and renamed into place, so an interrupted
write leaves the previous report, or none.
"""

from __future__ import annotations

import os
import signal
import sys


def _stop(signum, frame) -> None:
    os.write(2, b"d2check: interrupted\n")
    os._exit(130)


def cache_dir() -> str:
    """d2check's cache folder: ``$XDG_CACHE_HOME/d2check`` (default ``~/.cache/d2check``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "d2check")


def prepare_environment() -> None:
    """Before ``theorem`` is imported: the fuzz searches' Hypothesis files (example database, caches) go to
    the cache folder, never into the user's working directory (a user's own setting is kept)."""
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(cache_dir(), "hypothesis"))


def main() -> int:
    signal.signal(signal.SIGINT, _stop)
    prepare_environment()
    from theorem.cli.main import main as run  # noqa: PLC0415 - after the handler, by design

    return run()


if __name__ == "__main__":
    sys.exit(main())
