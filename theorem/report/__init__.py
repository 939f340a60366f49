"""Verdict tables, ``report.md``, ``report.html``, the figures and ``verdicts.json``, generated from ledger
results only.

``report.md`` opens with one row per claim (the roll-up of its readings' verdicts, the strongest correct
statement, the headline counterexample), then the figures (PNG files in ``figures/`` beside it, drawn
from the evidence), then the reading-level table and each reading's evidence, lines repeated across
readings listed once.  ``report.html`` is the same report as one self-contained page.  ``verdicts.json``
is one versioned object (:data:`SCHEMA_VERSION`) holding the provenance of the run and the reading results.

Modules: :mod:`~theorem.report.rows` (records, tables), :mod:`~theorem.report.evidence` (look-ups),
:mod:`~theorem.report.plots_rank` and :mod:`~theorem.report.plots_cost` (the figures),
:mod:`~theorem.report.figures` (their list and rendering), :mod:`~theorem.report.collapse` (repeated
evidence), :mod:`~theorem.report.markdown`, :mod:`~theorem.report.html`, :mod:`~theorem.report.writer`.
(The name ``markdown`` here is the function, as before the split; its module is imported by full path.)
"""

from theorem.report.figures import FIGURES, Figure, figures as draw_figures
from theorem.report.html import VERDICT_COLORS, render as render_html
from theorem.report.markdown import VERDICTS_EXPLAINED, claims_page, markdown
from theorem.report.rows import NOT_CHECKED, VERDICT_ORDER, claim_rows, claim_table, records, table
from theorem.report.writer import SCHEMA_VERSION, Written, document, package_version, write, write_report

__all__ = [
    "FIGURES", "Figure", "draw_figures", "VERDICT_COLORS", "render_html", "VERDICTS_EXPLAINED", "claims_page", "markdown",
    "NOT_CHECKED", "VERDICT_ORDER", "claim_rows", "claim_table", "records", "table", "SCHEMA_VERSION", "Written",
    "document", "package_version", "write", "write_report",
]
