"""Where a command may write, checked before any computation: one line saying why not.

The benchmarks (layer 6) check their ``--out`` folder and ``--json`` file with these, before they
compute anything; they raise :class:`ValueError` with one line, which the CLI turns into exit 2
(:func:`theorem.cli.common.check_out_dir` / ``check_out_file`` wrap these for the commands).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["writable_dir", "writable_file"]


def writable_dir(option: str, path: str | Path) -> Path:
    """``path`` as a folder we can write into (created now if missing), else ``ValueError`` (one line)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".d2check-write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"{option} {out}: cannot write there ({err.strerror or err})") from None
    return out


def writable_file(option: str, path: str | Path) -> Path:
    """``path`` as a file we can create or replace (nothing is written), else ``ValueError`` (one line)."""
    out = Path(path)
    if out.exists() and out.is_dir():
        raise ValueError(f"{option} {out} is a folder; give a file name")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{option} {out}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValueError(f"{option} {out}: cannot write there (permission denied)")
    return out
