"""The report's figures, drawn from the ledger results' evidence only, as PNG bytes (matplotlib, Agg).

:data:`FIGURES` lists them in the report's order; :func:`figures` draws each one whose evidence is in the
run and, for each one whose evidence is absent, keeps the one line saying what was missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from theorem.report.evidence import Absent
from theorem.report.plots_cost import contrast, csq_time, stability
from theorem.report.plots_rank import closed_form, eps_rank, spectra

__all__ = ["Figure", "FIGURES", "figures", "FOLDER"]

#: the figures' folder, beside report.md (links in report.md are relative to it)
FOLDER = "figures"
DPI = 100
STYLE = {"font.size": 9.5, "axes.titlesize": 10.5, "axes.labelsize": 9.5, "legend.fontsize": 8.5,
         "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white"}


@dataclass(frozen=True)
class Figure:
    """One figure of the report: its file name, title and caption, and its PNG (None when skipped, with
    ``missing`` saying why)."""

    name: str
    title: str
    caption: str
    png: bytes | None = None
    missing: str | None = None

    @property
    def path(self) -> str:
        """The figure's path relative to the report."""
        return f"{FOLDER}/{self.name}.png"


Draw = Callable[[list[dict]], tuple[MplFigure, str]]
FIGURES: tuple[tuple[str, str, Draw], ...] = (
    ("closed_form", "Measured against closed form (T1, T5, R3)", closed_form),
    ("spectra", "Spectra with the tolerance and the gap (T1.a)", spectra),
    ("eps_rank", "ε-rank growth in n (T3)", eps_rank),
    ("contrast", "Contrast curves (T4.d, T6.c)", contrast),
    ("csq_time", "CSQ time against n, with the crossover (R1.d, T7.a; context)", csq_time),
    ("stability", "Divergence rates with 95 % Wilson intervals (T6.stab.sweep)", stability),
)


def png(fig: MplFigure) -> bytes:
    """``fig`` rendered to PNG bytes by the Agg canvas (no global pyplot state)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.15)
    return buf.getvalue()


def figures(recs: list[dict]) -> list[Figure]:
    """Every figure of :data:`FIGURES`, drawn from ``recs`` (the report's records), or skipped with its reason."""
    out = []
    with matplotlib.rc_context(STYLE):
        for name, title, draw in FIGURES:
            try:
                fig, caption = draw(recs)
            except Absent as why:
                out.append(Figure(name, title, "", missing=f"evidence absent: {why}"))
                continue
            except (KeyError, TypeError, ValueError, IndexError) as err:  # malformed evidence: say so, keep the report
                out.append(Figure(name, title, "", missing=f"could not be drawn from its evidence "
                                                           f"({type(err).__name__}: {err})"))
                continue
            out.append(Figure(name, title, caption, png(fig)))
    return out
