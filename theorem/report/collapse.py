"""Evidence lines that repeat across readings, gathered once; counterexamples as compact JSON.

An evidence item is *the same* in several readings when its kind, role and key agree and so does its
data (or, for an item without data, its summary).  Such an item, met in at least :data:`MIN_READINGS`
readings, is listed once with the readings it bears on (``real heads: not measured — …`` in every
reading of a claim becomes one line); summaries that differ only in a label are shown with ``…`` there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["Shared", "MIN_READINGS", "shared_details", "signature", "compact_json", "role_of"]

MIN_READINGS = 3
#: a summary template must keep this share of the summary's characters, or the items are not merged
KEEP = 0.8


@dataclass(frozen=True)
class Shared:
    """An evidence item met in several readings: its label (``S1``), one summary, its readings."""

    label: str
    kind: str
    role: str
    key: str
    summary: str
    readings: tuple[str, ...]


def role_of(e: dict) -> str:
    return {True: "supports", False: "refutes", None: "context"}[e.get("supports")]


def signature(e: dict) -> tuple:
    data = e.get("data")
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str) if data else e.get("summary", "")
    return (e.get("kind"), role_of(e), e.get("key"), body)


def template(texts: list[str]) -> str:
    """The characters every text shares (in order), with ``…`` where they differ."""
    out = texts[0]
    for other in texts[1:]:
        if other == out:
            continue
        blocks = SequenceMatcher(None, out, other, autojunk=False).get_matching_blocks()
        parts, end_a, end_b = [], 0, 0
        for a, b, size in blocks:
            if size == 0:
                continue
            if a > end_a or b > end_b:
                parts.append("…")
            parts.append(out[a:a + size])
            end_a, end_b = a + size, b + size
        if end_a < len(out) or end_b < len(other):
            parts.append("…")
        out = "".join(parts)
    return out


def shared_details(recs: list[dict]) -> tuple[list[Shared], dict[tuple, str]]:
    """The items met in at least :data:`MIN_READINGS` readings, and each one's label by signature."""
    seen: dict[tuple, list[tuple[str, dict]]] = {}
    for r in recs:
        if r.get("verdict") is None:
            continue
        for e in r.get("details", []):
            seen.setdefault(signature(e), []).append((r["reading_id"], e))
    shared, labels = [], {}
    for sig, hits in seen.items():
        readings = tuple(dict.fromkeys(rid for rid, _ in hits))
        if len(readings) < MIN_READINGS:
            continue
        summaries = list(dict.fromkeys(e.get("summary", "") for _, e in hits))
        text = template(summaries)
        if len(text) < KEEP * len(summaries[0]):
            continue
        label = f"S{len(shared) + 1}"
        e = hits[0][1]
        shared.append(Shared(label, e.get("kind", ""), role_of(e), e.get("key", ""), text, readings))
        labels[sig] = label
    return shared, labels


def compact_json(obj, width: int = 100, indent: int = 0) -> str:
    """``obj`` as JSON, one line for whatever fits in ``width``, lists of numbers wrapped, not one per line."""
    flat = json.dumps(obj, ensure_ascii=False)
    if indent + len(flat) + 1 <= width or not isinstance(obj, (dict, list)) or not obj:
        return flat
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        body = []
        for k, v in obj.items():
            head = f"{pad}{json.dumps(k, ensure_ascii=False)}: "
            flat_v = json.dumps(v, ensure_ascii=False)
            body.append(head + (flat_v if len(head) + len(flat_v) + 1 <= width else compact_json(v, width, indent + 1)))
        return "{\n" + ",\n".join(body) + "\n" + " " * indent + "}"
    if all(not isinstance(v, (dict, list)) for v in obj):
        lines, line = [], ""
        for v in (json.dumps(v, ensure_ascii=False) for v in obj):
            if line and indent + 1 + len(line) + len(v) + 3 > width:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {v}" if line else v
        lines.append(line)
        return "[\n" + "\n".join(pad + x for x in lines) + "\n" + " " * indent + "]"
    return "[\n" + ",\n".join(pad + compact_json(v, width, indent + 1).lstrip() for v in obj) + "\n" + " " * indent + "]"
