"""``d2check real``: help, option errors, and the missing-extra message (no model needed)."""

import pytest

from theorem import real_cli
from theorem.real.text import TEXTS, load_text


def test_help_says_how_long_texts_are_handled(capsys):
    assert real_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "cut into windows" in out and "--layer" in out and "--head" in out and "--text" in out


def test_unknown_part_is_an_error():
    with pytest.raises(ValueError, match="unknown part 'speed'"):
        real_cli.main(["--parts", "rank,speed"])


def test_non_integer_layer_is_an_error():
    with pytest.raises(ValueError, match="--layer"):
        real_cli.main(["--layer", "one"])


def test_missing_extra_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(real_cli, "unavailable_reason", lambda: "real model not installed (missing: x); make real")
    with pytest.raises(ValueError, match="make real"):
        real_cli.main(["--layer", "0"])


def test_summary_table_has_one_row_per_record():
    recs = [{"layer": 0, "head": h, "n": 40, "rank": {"rank": 40, "rank_status": "ok", "eps_rank": {"0.01": 20, "0.001": 30},
             "B": 5.0, "B_over_sqrt_log_n": 2.6}} for h in range(3)]
    lines = real_cli.summary_table(recs).splitlines()
    assert len(lines) == 4 and "ε=1e-2" in lines[0]


def test_shipped_texts_load_and_bad_paths_are_errors(tmp_path):
    for name in TEXTS:
        assert len(load_text(name)) > 1000
    with pytest.raises(ValueError, match="neither a shipped text"):
        load_text("no-such-text")
    with pytest.raises(ValueError, match="directory"):
        load_text(str(tmp_path))
    empty = tmp_path / "e.txt"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="empty"):
        load_text(str(empty))
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ValueError, match="UTF-8"):
        load_text(str(binary))


def test_help_names_the_checkpoint_option_and_its_families(capsys):
    assert real_cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--model DIR" in out and "GPT-2" in out and "Llama/Qwen2" in out and "no single M" in out


def test_model_dir_is_checked_before_the_shipped_model(monkeypatch, tmp_path):
    monkeypatch.setattr(real_cli, "unavailable_reason", lambda: "real model not installed (missing: x); make real")
    with pytest.raises(ValueError, match=r"^real: --model: .*no such directory$"):
        real_cli.main(["--model", str(tmp_path / "nowhere")])
