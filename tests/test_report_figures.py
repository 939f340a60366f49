"""The report's figures, repeated-line collapsing, compact JSON and the files one report writes.

Results are built by hand (no ledger run): each test knows exactly which evidence is there.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re

import numpy as np
import pytest
from PIL import Image

from theorem import report
from theorem.claims.ledger import Evidence, Outcome, ReadingResult, Verdict
from theorem.report.collapse import compact_json, template
from theorem.report.evidence import Absent, numbers
from theorem.report.plots_rank import spectra

SKIP_LINE = "real heads: not measured — real model not installed (missing: safetensors)"


def _row(name, measured, predicted, sv, tol, valid=True):
    below = [s for s in sv if s <= tol]
    kept = [s for s in sv if s > tol]
    gap = kept[-1] / below[0] if below and below[0] > 0 else math.inf
    return {"input": name, "measured": measured, "predicted": predicted, "prediction_valid": valid,
            "rank_status": "ok", "tolerance": tol, "gap": gap, "d_squared": 4, "singular_values": sv}


def _skip(cid):
    return Evidence("real", f"real heads ({cid}): not measured — real model not installed", None,
                    {"skipped": "real model not installed"}, key="real.skipped")


def _result(cid, rid, verdict, evidence, corrected=None, counterexample=None):
    return ReadingResult(cid, rid, f"statement of {rid}", Outcome(verdict, f"because of {rid}", corrected, counterexample),
                         evidence, 0.1)


def synthetic_results(with_all: bool = True) -> list[ReadingResult]:
    """Results carrying the evidence every figure reads (``with_all=False``: only T1.a's)."""
    rows = [_row("Gaussian, n > d", 4, 4, [3.0, 2.0, 1.0, 0.5], 1e-12),
            _row("Gaussian, n = d", 3, 3, [2.0, 1.0, 0.4, 1e-17], 1e-12),
            _row("no closed form", 2, None, [1.0, 0.5, 0.0, 0.0], 1e-12, valid=False)]
    t1 = [_result("T1", "T1.a", Verdict.FAILS,
                  [Evidence("numeric", "panel (softmax): 2/2", None, {"rows": rows}, key="panel.softmax",
                            measured=[r["measured"] for r in rows], predicted=[r["predicted"] for r in rows]),
                   _skip("T1")],
                  corrected="dim = r·(r − e)", counterexample={"tokens": [[0.1 * i, 1.0] for i in range(40)]}),
          _result("T1", "T1.b", Verdict.HOLDS_WITH_CONDITIONS,
                  [Evidence("numeric", "biases", None, {"rows": []}, key="biases", measured=[20, 12], predicted=[20, 12]),
                   _skip("T1")], corrected="with biases"),
          _result("T1", "T1.c", Verdict.HOLDS, [_skip("T1")])]
    if not with_all:
        return t1
    growth = {"0.5": {"ns": [128, 256, 512], "ranks": [63, 59, 55], "intervals": [[63, 63], [59, 59], [55, 55]],
                      "taylor": [128, 256, 512], "slope": -0.1},
              "8.0": {"ns": [128, 256, 512], "ranks": [127, 253, 503], "intervals": [[127, 127], [250, 253], [503, 503]],
                      "taylor": [128, 256, 512], "slope": 0.99}}
    contrast_rows = [{"kernel": "softmax", "level": lev, "n": n, "measured": math.log(n - 1), "predicted": math.log(n - 1),
                      "formula": "log(n - 1)"} for lev in (0.5, -3.0) for n in (3, 10, 100)]
    bench_rows = [{"n": n, "quadratic": 1e-9 * n * n, "linear": 2e-7 * n} for n in (32, 64, 128, 256, 512, 1024)]
    stab = {"softmax": {"diverged": 0, "runs": 8, "interval": [0.0, 0.32]},
            "poly2": {"diverged": 3, "runs": 8, "interval": [0.14, 0.69]}}
    return t1 + [
        _result("T3", "T3.c", Verdict.OPEN,
                [Evidence("numeric", "sweep", False, {"growth": growth, "records": [{"d": 64, "eps": 0.001}]},
                          key="sweep.eps_rank"), _skip("T3")]),
        _result("T4", "T4.d", Verdict.HOLDS_WITH_CONDITIONS,
                [Evidence("numeric", "contrast", None, {"rows": contrast_rows}, key="contrast.softmax")], corrected="c"),
        _result("T5", "T5.a", Verdict.FAILS,
                [Evidence("numeric", "panel", False, {}, key="panel.Gaussian n=8, d=3",
                          measured={"softmax": 9, "poly2": 8}, predicted={"softmax": 9, "poly2": 7})],
                corrected="below d²", counterexample={"n": 3}),
        _result("T6", "T6.stab.sweep", Verdict.OPEN,
                [Evidence("numeric", "quick sweep", None, {"name": "mqar-quick"}, key="quick.mqar-quick", measured=stab)]),
        _result("R1", "R1.d", Verdict.HOLDS,
                [Evidence("benchmark", "crossover", None,
                          {"dk": 8, "causal": False, "rows": bench_rows, "measured": {"n_star": 200.0},
                           "model_n_star": 190.0, "flop_count_n_star": 49.0, "d_squared": 64}, key="benchmark.crossover.d8",
                          measured=200.0, predicted=190.0)]),
        _result("R3", "R3.a", Verdict.HOLDS,
                [Evidence("numeric", "scores", True, {}, key="panel.scores", measured=[16, 9], predicted=[16, 9])]),
    ]


def _recs(results):
    return report.records(results, {})


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """One report written from results that carry every figure's evidence (drawn once for the module)."""
    return report.write_report(_recs(synthetic_results()), tmp_path_factory.mktemp("full"), "quick", 1.0)


@pytest.fixture(scope="module")
def t1_only(tmp_path_factory):
    """One report from T1's readings only, into a folder holding a stale PNG of a figure it will skip."""
    out = tmp_path_factory.mktemp("t1")
    (out / "figures").mkdir()
    (out / "figures" / "stability.png").write_bytes(b"stale")
    return report.write_report(_recs(synthetic_results(with_all=False)), out, "quick", 1.0)


def test_every_figure_is_drawn_when_its_evidence_is_there(full):
    assert [p.stem for p in full.figures] == [name for name, _, _ in report.FIGURES]
    md = full.markdown.read_text()
    assert "not drawn" not in md
    for path in full.figures:
        img = _decode(path.read_bytes())
        assert img.shape[0] > 250 and img.shape[1] > 400
        # not blank: many distinct colours (lines, markers, text on white)
        packed = (img[..., 0].astype(np.int32) << 16) | (img[..., 1].astype(np.int32) << 8) | img[..., 2]
        assert np.unique(packed).size > 50, path.name


def test_a_figure_without_its_evidence_is_skipped_with_one_line(t1_only):
    md = t1_only.markdown.read_text()
    skipped = [line for line in md.splitlines() if "not drawn" in line]
    assert len(skipped) == 4, skipped  # eps_rank, contrast, csq_time, stability: one line each
    assert any("ε-rank" in line and "T3.c" in line for line in skipped)
    assert {p.name for p in t1_only.figures} == {"closed_form.png", "spectra.png"}
    assert not (t1_only.markdown.parent / "figures" / "stability.png").exists()  # nothing stale left beside


def test_spectra_need_singular_values_in_the_evidence():
    rec = _recs(synthetic_results(with_all=False))
    for row in rec[0]["details"][0]["data"]["rows"]:
        del row["singular_values"]
    with pytest.raises(Absent, match="singular values"):
        spectra(rec)


def test_pairs_are_read_by_key_and_position_never_mixed():
    assert numbers({"a": 1, "b": 2}, {"b": 5, "a": 4}) == [(4.0, 1.0), (5.0, 2.0)]
    assert numbers([1, 2, None], [1, "inf", 3]) == [(1.0, 1.0)]  # ∞ and missing sides are dropped
    assert numbers([1, 2], [1]) == []  # unequal lengths: no pairing
    assert numbers(3, 4) == [(4.0, 3.0)]


def test_repeated_evidence_is_listed_once_with_its_readings():
    md = report.markdown(_recs(synthetic_results()), "quick", 1.0, figs=[])
    lines = [line for line in md.splitlines() if "not measured — real model not installed" in line]
    assert len(lines) == 1, lines
    assert "(4 readings: T1.a, T1.b, T1.c, T3.c)" in lines[0]  # the four written by hand above
    assert "real heads (T…): not measured" in lines[0]
    assert md.count("*shared evidence*: S1") == 4
    # an item met in fewer readings stays in its own reading
    assert md.count("because of T4.d") == 2  # the reading table and its own section


def test_template_marks_where_summaries_differ():
    assert template(["real heads (T1): gone", "real heads (T3): gone"]) == "real heads (T…): gone"
    assert template(["same", "same"]) == "same"


def test_compact_json_round_trips_and_stays_short():
    obj = {"tokens": [[0.125 * i, -1.5, 1e-300] for i in range(30)], "n": 30,
           "weights": [i / 89 for i in range(90)], "deep": {"a": {"b": list(range(80))}}}
    text = compact_json(obj, width=100)
    assert json.loads(text) == json.loads(json.dumps(obj))
    assert all(len(line) <= 100 for line in text.splitlines())
    assert len(text.splitlines()) < len(json.dumps(obj, indent=1).splitlines()) / 4


def test_the_report_links_its_figures_and_the_html_inlines_them(t1_only):
    out = t1_only.markdown.parent
    md = t1_only.markdown.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == ["figures/closed_form.png", "figures/spectra.png"]
    assert all((out / link).is_file() for link in links)
    assert md.index("## The claims") < md.index("## Figures") < md.index("## The readings")
    page = t1_only.html.read_text()
    srcs = re.findall(r'src="([^"]+)"', page)
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == (out / links[0]).read_bytes()
    assert not re.search(r'(href|src)="(https?:|//)', page) and "<link" not in page
    assert page.index("The claims") < page.index("Figures") < page.index("The readings")
    assert json.loads(t1_only.json.read_text())["schema_version"] == report.SCHEMA_VERSION
    assert not list(out.glob(".*.tmp")) and not list((out / "figures").glob(".*.tmp"))


def test_a_file_where_the_figures_folder_goes_costs_the_figures_not_the_report(tmp_path):
    (tmp_path / "figures").write_text("not a folder")
    written = report.write_report(_recs(synthetic_results(with_all=False)), tmp_path, "quick", 1.0)
    assert written.figures == () and (tmp_path / "figures").read_text() == "not a folder"
    md = written.markdown.read_text()
    assert md.count("is a file, not a folder") == len(report.FIGURES) and "![" not in md
