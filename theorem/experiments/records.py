"""Committed experiment records: where they live, how they are written (with provenance), how they are read.

Records ship as package data under ``theorem/data/records/``, so a clone and ``pip install .`` read the
same files and reach the same verdicts.  Each record is one JSON object::

    {"name": ..., "profile": "full", "settings": {...}, "provenance": {...}, "result": {...}}

``provenance`` holds the command, git commit, UTC date, machine and seconds of the run that wrote it.
Large arrays go beside it as ``NAME.npz`` (:func:`write_arrays`, :func:`load_arrays`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from theorem.util.jsonable import jsonable

__all__ = ["RECORDS_DIR", "record_path", "load_record", "write_record", "write_arrays", "load_arrays",
           "provenance", "MissingRecord"]

#: where records are written (the package's own data folder, in a clone or a build tree)
RECORDS_DIR = Path(__file__).resolve().parent.parent / "data" / "records"


class MissingRecord(LookupError):
    """A record that a reading or notebook needs has not been generated (``make data``)."""


def record_path(name: str) -> Path:
    return RECORDS_DIR / f"{name}.json"


def _resource(name: str):
    return resources.files("theorem").joinpath("data", "records", name)


def load_record(name: str) -> dict[str, Any] | None:
    """The record ``name`` as written by :func:`write_record`, or None when it does not exist."""
    res = _resource(f"{name}.json")
    if not res.is_file():
        return None
    return json.loads(res.read_text(encoding="utf-8"))


def require_record(name: str) -> dict[str, Any]:
    """The record ``name``; :class:`MissingRecord` (saying how to make it) when absent."""
    rec = load_record(name)
    if rec is None:
        raise MissingRecord(f"record {name!r} is missing: run `python -m theorem.experiments {name}` or `make data`")
    return rec


def load_arrays(name: str) -> dict[str, np.ndarray] | None:
    res = _resource(f"{name}.npz")
    if not res.is_file():
        return None
    with resources.as_file(res) as path, np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def provenance(seconds: float, command: list[str] | None = None) -> dict[str, Any]:
    """Command, git commit, UTC date, machine and seconds of the run now ending."""
    return {
        "command": " ".join(command if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git_commit": _git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "memory_gib": _memory_gib()},
        "seconds": round(float(seconds), 1),
    }


def write_record(name: str, result: dict[str, Any], *, profile: str, settings: dict[str, Any], seconds: float,
                 command: list[str] | None = None, folder: Path | None = None) -> Path:
    """Write ``NAME.json`` (atomically: a temporary file renamed into place) and return its path."""
    folder = RECORDS_DIR if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rec = {"name": name, "profile": profile, "settings": settings,
           "provenance": provenance(seconds, command), "result": result}
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(jsonable(rec), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def write_arrays(name: str, arrays: dict[str, np.ndarray], folder: Path | None = None) -> Path:
    folder = RECORDS_DIR if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    tmp = folder / f"{name}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path
