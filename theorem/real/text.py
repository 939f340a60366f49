"""The public-domain texts shipped in ``theorem/data`` and their windows of n tokens.

Shipped texts (both public domain, U.S. government documents):

* ``declaration``: the United States Declaration of Independence (1776), full text,
  about 1,500 word pieces: long enough for windows up to the model's 512 positions;
* ``gettysburg``: the Gettysburg Address (Lincoln 1863, Bliss copy), about 330 word pieces.

A text longer than the model's maximum is **cut into windows**: consecutive, non-overlapping runs
of ``n − 2`` word pieces, each wrapped as ``[CLS] … [SEP]``, so every window has exactly ``n``
tokens (``2 < n ≤ 512``).  Windows never cross the end of the text; a text too short for one
window of ``n`` tokens is an error that names the longest ``n`` it supports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["DATA_DIR", "TEXTS", "text_names", "load_text", "windows", "window"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEXTS: dict[str, str] = {
    "declaration": "declaration_of_independence.txt",
    "gettysburg": "gettysburg_address.txt",
}


def text_names() -> tuple[str, ...]:
    return tuple(TEXTS)


def load_text(name_or_path: str) -> str:
    """A shipped text by name (``declaration``, ``gettysburg``) or a UTF-8 text file by path."""
    if not isinstance(name_or_path, str) or not name_or_path:
        raise ValueError("text: give a shipped text name or a path to a UTF-8 text file")
    if name_or_path in TEXTS:
        return (DATA_DIR / TEXTS[name_or_path]).read_text(encoding="utf-8")
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(
            f"text: {name_or_path!r} is neither a shipped text ({', '.join(TEXTS)}) nor an existing file"
        )
    if path.is_dir():
        raise ValueError(f"text: {path} is a directory, expected a text file")
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"text: {path} is not UTF-8 text") from None
    if not content.strip():
        raise ValueError(f"text: {path} is empty")
    return content


def windows(model, text: str, n: int, limit: int | None = None) -> list[np.ndarray]:
    """Consecutive windows of exactly ``n`` token ids (``[CLS]`` + ``n − 2`` word pieces + ``[SEP]``)."""
    max_len = model.config.max_len
    if not isinstance(n, (int, np.integer)) or not 3 <= n <= max_len:
        raise ValueError(f"n: window length must be an integer in 3..{max_len} (the model's maximum), got {n!r}")
    ids = model.text_ids(text)
    body = n - 2
    count = ids.size // body
    if count == 0:
        raise ValueError(
            f"n: the text has {ids.size} word pieces, too short for a window of n = {n} tokens "
            f"(longest possible: n = {min(ids.size + 2, max_len)})"
        )
    if limit is not None:
        count = min(count, limit)
    return [
        np.concatenate([[model.cls_id], ids[i * body:(i + 1) * body], [model.sep_id]]).astype(np.int64)
        for i in range(count)
    ]


def window(model, text: str, n: int, index: int = 0) -> np.ndarray:
    """The ``index``-th window of ``n`` tokens of ``text``."""
    wins = windows(model, text, n, limit=index + 1)
    if index >= len(wins):
        raise ValueError(f"index: the text has only {len(wins)} windows of n = {n} tokens, got index {index}")
    return wins[index]
