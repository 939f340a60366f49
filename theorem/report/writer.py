"""``verdicts.json`` (a versioned object) and the writing of a report folder, all rendered before anything
is written: ``report.md``, ``report.html``, ``figures/*.png`` and ``verdicts.json``."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from theorem.claims.registry import CLAIM_IDS
from theorem.experiments.records import provenance
from theorem.report.figures import FIGURES, FOLDER, Figure, figures as draw_figures
from theorem.report.html import render
from theorem.report.markdown import markdown
from theorem.util.jsonable import jsonable

__all__ = ["SCHEMA_VERSION", "Written", "document", "package_version", "write", "write_report"]

SCHEMA_VERSION = 2


class Written(NamedTuple):
    """The paths one report wrote."""

    markdown: Path
    html: Path
    json: Path
    figures: tuple[Path, ...]


def document(recs: list[dict], profile: str, seconds: float, requested: list[str] | None = None,
             seed: int | None = None) -> dict:
    """The versioned ``verdicts.json`` object: schema and package version, git commit, profile, the claims
    and readings run, seeds, timestamps, and the reading results under ``verdicts``."""
    prov = provenance(seconds)
    return {
        "schema_version": SCHEMA_VERSION,
        "package_version": package_version(),
        "git_commit": prov["git_commit"],
        "profile": profile,
        "claims": requested if requested is not None else list(CLAIM_IDS),
        "readings": [r["reading_id"] for r in recs],
        "seed": seed,  # of the Hypothesis searches; None: their fixed derandomized exploration
        "input_seeds": "fixed per reading (each reading draws its inputs from seeds written in its module)",
        "finished": prov["date"],
        "seconds": prov["seconds"],
        "machine": prov["machine"],
        "verdicts": recs,
    }


def package_version() -> str:
    try:
        return metadata.version("d2check")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _put(path: Path, data: bytes) -> None:
    """``data`` into ``path`` through a temporary file beside it (removed if the write is interrupted)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:  # an interrupt or a full disk: no half-written file is left behind
        tmp.unlink(missing_ok=True)
        raise


def write_report(recs: list[dict], out: Path, profile: str, seconds: float,
                 requested: list[str] | None = None, seed: int | None = None) -> Written:
    """Write ``report.md``, ``report.html``, ``figures/NAME.png`` and ``verdicts.json`` into ``out``.

    Everything is rendered first; each file is then written beside its final name and moved into place,
    so an interrupted write leaves no half-written file.  A figure skipped this time has its old PNG
    removed, so that nothing stale sits beside the report."""
    out = Path(out)
    folder = out / FOLDER
    if folder.exists() and not folder.is_dir():  # the run is not lost for it: the report says why there are none
        figs = [Figure(name, title, "", missing=f"{folder} is a file, not a folder") for name, title, _ in FIGURES]
    else:
        figs = draw_figures(recs)
    md_text = markdown(recs, profile, seconds, figs)
    html_text = render(recs, profile, seconds, figs)
    js_text = json.dumps(jsonable(document(recs, profile, seconds, requested, seed)), indent=1, ensure_ascii=False)
    out.mkdir(parents=True, exist_ok=True)
    if any(f.png is not None for f in figs):
        folder.mkdir(exist_ok=True)
    pngs = []
    drawn = {f.name for f in figs if f.png is not None}
    for f in figs:
        if f.png is not None:
            _put(out / f.path, f.png)
            pngs.append(out / f.path)
    for name, _, _ in FIGURES:
        stale = folder / f"{name}.png"
        if name not in drawn and folder.is_dir() and stale.is_file():
            stale.unlink()
    written = Written(out / "report.md", out / "report.html", out / "verdicts.json", tuple(pngs))
    _put(written.markdown, md_text.encode("utf-8"))
    _put(written.html, html_text.encode("utf-8"))
    _put(written.json, js_text.encode("utf-8"))
    return written


def write(recs: list[dict], out: Path, profile: str, seconds: float,
          requested: list[str] | None = None, seed: int | None = None) -> tuple[Path, Path]:
    """:func:`write_report`, returning ``(report.md, verdicts.json)`` as before ``report.html`` existed."""
    w = write_report(recs, out, profile, seconds, requested, seed)
    return w.markdown, w.json
