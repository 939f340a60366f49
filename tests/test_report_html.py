"""report.html in a real headless browser: Chromium (Debian's package, ``make browser``) renders a report
built from hand-made results, and the screenshot must show the page — the claim table's verdict colours
included — at the window's size.  Skipped, with its reason, where no Chromium is on PATH."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from theorem import report
from theorem.claims.ledger import Evidence, Outcome, ReadingResult, Verdict

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1200, 1600
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium or chromium-browser on PATH (`make browser` installs it)")

#: the verdicts the claim table below shows, one claim each
SHOWN = {"T1": Verdict.FAILS, "T2": Verdict.HOLDS_WITH_CONDITIONS, "T3": Verdict.OPEN, "R3": Verdict.HOLDS}


def _results() -> list[ReadingResult]:
    out = []
    for cid, verdict in SHOWN.items():
        ev = [Evidence("real", f"real heads ({cid}): not measured — real model not installed", None,
                       {"skipped": "real model not installed"}, key="real.skipped")]
        if cid == "R3":  # one figure, to see an inlined image render
            ev.append(Evidence("numeric", "scores map on the panel", True, {}, key="panel.scores",
                               measured=[16, 16, 9, 12], predicted=[16, 16, 9, 12]))
        out.append(ReadingResult(cid, f"{cid}.a", f"the statement of {cid}.a",
                                 Outcome(verdict, f"the evidence of {cid}.a", "a corrected statement"), ev, 0.1))
    return out


def _hex(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


def test_report_html_renders_in_chromium(tmp_path):
    written = report.write_report(report.records(_results(), {}), tmp_path / "out", "quick", 1.0)
    shot = tmp_path / "shot.png"
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           f"--window-size={WIDTH},{HEIGHT}", written.html.resolve().as_uri()]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("chromium did not finish the screenshot within 120 s")
    assert shot.is_file(), f"no screenshot (exit {run.returncode}): {run.stderr[-800:]}"
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape == (HEIGHT, WIDTH, 3)
    # not blank: text, tables and the figure put many colours on the page and cover a good share of it
    packed = (img[..., 0] << 16) | (img[..., 1] << 8) | img[..., 2]
    assert np.unique(packed).size > 200
    background = np.bincount(packed.ravel()).argmax()
    assert (packed != background).mean() > 0.05
    assert img.std() > 20
    # every verdict of the claim table shows in its own colour (its chips and its row's left border)
    for verdict in SHOWN.values():
        near = np.all(np.abs(img - _hex(report.VERDICT_COLORS[verdict.value])) <= 8, axis=-1)
        assert near.sum() > 300, f"{verdict.value}: {near.sum()} pixels in its colour"
