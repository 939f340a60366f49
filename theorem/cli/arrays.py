"""Arrays a user gives on the command line (``.npy`` files), read and validated with one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theorem.cli.common import InputError

__all__ = ["load_npy", "load_tokens_file"]


def load_npy(command: str, option: str, path: str, ndim: int, what: str) -> np.ndarray:
    """The float64 array in ``path`` (``ndim``-D, non-empty, finite), or :class:`InputError`."""
    p = Path(path)
    where = f"{command}: {option} {p}"
    if not p.exists():
        raise InputError(f"{where}: no such file")
    if p.is_dir():
        raise InputError(f"{where}: is a directory, expected a .npy file")
    try:
        a = np.load(p, allow_pickle=False)
    except Exception:
        raise InputError(f"{where}: not a .npy array file (save it with numpy.save)") from None
    if not isinstance(a, np.ndarray):
        raise InputError(f"{where}: holds several arrays (.npz); save one {what} array with numpy.save")
    if a.dtype.kind not in "fiub":
        raise InputError(f"{where}: dtype {a.dtype} is not numeric; expected a float {what} array")
    if a.ndim != ndim:
        raise InputError(f"{where}: expected a {ndim}-D {what} array, got {a.ndim}-D shape {a.shape}")
    if a.size == 0:
        raise InputError(f"{where}: empty array of shape {a.shape}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{where}: {int(np.sum(~np.isfinite(a)))} NaN or Inf entries; the values must be finite")
    return a


def load_tokens_file(command: str, path: str) -> np.ndarray:
    return load_npy(command, "--x", path, 2, "(n, d)")
