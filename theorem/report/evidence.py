"""Evidence looked up in the report's records (the ledger results as JSON), by reading and key.

The figures draw only what these return: the ``measured``, ``predicted`` and ``data`` fields of the
evidence items the readings gathered.  An item that is not there raises :class:`Absent`, whose message
says which reading and key were looked for; the figure is then skipped with that line.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Absent", "items", "item", "number", "numbers"]


class Absent(LookupError):
    """The evidence a figure (or a panel of one) needs is not in this run."""


def _matches(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".")


def items(recs: list[dict], reading: str, prefix: str) -> list[tuple[str, dict]]:
    """(reading ID, evidence item) for every item whose key is ``prefix`` or starts with ``prefix + '.'``,
    in readings whose ID is ``reading`` or whose claim is ``reading`` (``"T1"`` matches T1.a, T1.b, …)."""
    out = []
    for r in recs:
        if r.get("verdict") is None or not (r["reading_id"] == reading or r["id"] == reading):
            continue
        out.extend((r["reading_id"], e) for e in r.get("details", []) if _matches(e.get("key", ""), prefix))
    return out


def item(recs: list[dict], reading: str, key: str) -> dict:
    """The evidence item ``key`` of reading ``reading``; :class:`Absent` when the run does not have it."""
    for r in recs:
        if r["reading_id"] == reading and r.get("verdict") is not None:
            for e in r.get("details", []):
                if e.get("key") == key:
                    return e
            raise Absent(f"{reading} has no evidence {key!r}")
    raise Absent(f"{reading} was not run")


def number(x: Any) -> float | None:
    """``x`` as a finite or infinite float (JSON writes ∞ as ``"inf"``); None for anything else."""
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    return None


def numbers(measured: Any, predicted: Any) -> list[tuple[float, float]]:
    """The (predicted, measured) pairs of an item whose two fields are numbers, equal-length lists of
    numbers, or dicts of numbers (paired by key); pairs with a missing or non-finite side are dropped."""
    if isinstance(measured, dict) and isinstance(predicted, dict):
        pairs = [(number(predicted[k]), number(measured[k])) for k in measured if k in predicted]
    elif isinstance(measured, list) and isinstance(predicted, list) and len(measured) == len(predicted):
        pairs = [(number(p), number(m)) for m, p in zip(measured, predicted)]
    else:
        pairs = [(number(predicted), number(measured))]
    return [(p, m) for p, m in pairs if p is not None and m is not None and math.isfinite(p) and math.isfinite(m)]
