"""``d2check bench rank`` says whether the sketch met its time target, and says so when it misses."""

from __future__ import annotations

from theorem.bench import rank as br


def test_target_line_says_met_and_missed():
    assert "met: 30.0 s" in br.target_line(30.0, 60.0)
    missed = br.target_line(90.0, 60.0, load=(5.0, 4.0, 3.0))
    assert "MISSED: 90.0 s" in missed and "1.50×" in missed and "load average 5.0" in missed


def test_bench_prints_a_miss(monkeypatch, capsys):
    monkeypatch.setattr(br, "TARGET_SECONDS", 1e-6)  # any real run misses a microsecond target
    assert br.main(["--n", "6", "--d", "2", "--small-n", "4"]) == 1  # a miss fails the command
    out, err = capsys.readouterr()
    assert "target: sketch under 0 s — MISSED" in out
    assert "missed its 0 s target" in err


def test_bench_that_meets_its_target_exits_0(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(br, "TARGET_SECONDS", 1e6)
    assert br.main(["--n", "6", "--d", "2", "--small-n", "4", "--json", str(tmp_path / "r.json")]) == 0
    assert "— met:" in capsys.readouterr().out and (tmp_path / "r.json").exists()
