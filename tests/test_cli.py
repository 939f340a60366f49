"""The CLI contract of design.md: `d2check rank` output and its one-line errors (exit 2)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from theorem.cli import main


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rank_json_has_the_contract_fields(capsys):
    code, out, _ = run(["rank", "--n", "9", "--d", "3", "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    for key in ("measured_rank", "predicted_rank", "ambient_dim", "status"):
        assert key in obj
    assert obj["measured_rank"] == obj["predicted_rank"] == 9 and obj["status"] == "ok"


def test_rank_from_file_factorized_output_map(tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal((10, 4))
    np.save(tmp_path / "x.npy", x)
    code, out, _ = run(["rank", "--x", str(tmp_path / "x.npy"), "--dk", "2", "--map", "output", "--json"], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["ambient_dim"] == 16 and obj["measured_rank"] == obj["predicted_rank"] == 12


def _bad_inputs(tmp_path):
    np.save(tmp_path / "one_d.npy", np.ones(4))
    np.save(tmp_path / "three_d.npy", np.ones((2, 2, 2)))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    np.save(tmp_path / "inf.npy", np.array([[1.0, np.inf], [0.0, 1.0]]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    np.save(tmp_path / "nod.npy", np.zeros((3, 0)))
    (tmp_path / "text.npy").write_text("not an array")
    (tmp_path / "x.csv").write_text("1,2\n3,4\n")
    np.save(tmp_path / "ok.npy", np.ones((4, 3)))
    f = lambda name: str(tmp_path / name)  # noqa: E731
    return [
        (["rank", "--x", f("missing.npy")], "no such file"),
        (["rank", "--x", f("text.npy")], "not a .npy"),
        (["rank", "--x", f("x.csv")], "not a .npy"),
        (["rank", "--x", f("one_d.npy")], "2-D"),
        (["rank", "--x", f("three_d.npy")], "2-D"),
        (["rank", "--x", f("nan.npy")], "NaN or Inf"),
        (["rank", "--x", f("inf.npy")], "NaN or Inf"),
        (["rank", "--x", f("empty.npy")], "empty"),
        (["rank", "--x", f("nod.npy")], "empty"),
        (["rank", "--n", "0", "--d", "3"], "≥ 1"),
        (["rank", "--n", "3", "--d", "0"], "≥ 1"),
        (["rank", "--x", f("ok.npy"), "--dk", "0"], "--dk"),
        (["rank", "--x", f("ok.npy"), "--dk", "4"], "--dk"),
        (["rank", "--n", "4", "--d", "2", "--kernel", "gauss"], "unknown kernel"),
        (["rank", "--n", "4", "--d", "2", "--map", "keys"], "unknown map"),
        (["rank", "--n", "4", "--d", "2", "--dk", "x"], "invalid int"),
        (["rank"], "give the tokens"),
        (["verify", "--claim", "T99"], "unknown claim"),
        (["bench", "nothing"], "unknown benchmark"),
    ]


def test_bad_input_gets_one_line_and_exit_2(tmp_path, capsys):
    for args, fragment in _bad_inputs(tmp_path):
        code, out, err = run(args, capsys)
        assert code == 2, args
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, (args, err)
        assert fragment in lines[0], (args, lines[0])
        assert "Traceback" not in err


def test_console_script_reports_bad_input_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "theorem.cli", "rank", "--x", str(tmp_path / "nope.npy")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
