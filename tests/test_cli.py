"""The CLI contract of design.md: `d2check rank` output and its one-line errors (exit 2)."""

import json
import subprocess
import sys

from pathlib import Path

import numpy as np
import pytest

from theorem.claims import runner
from theorem.cli import main
from theorem.util import worker_options


@pytest.fixture(autouse=True)
def _no_real_model_context(monkeypatch):
    """These tests check the CLI's mechanics: the real-model context (minutes of MiniLM analysis when the
    extra is installed) is attached by the runner and tested in tests/test_ledger.py and checks/."""
    monkeypatch.setattr(runner, "ALL_EVIDENCE", {})


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


# --- biased heads and a user's own head -------------------------------------------------------
def test_query_key_biases_raise_the_dimension_above_d_squared(capsys):
    # d = d_k = 4, Gaussian tokens, 1 ∉ col X: r̃ = 5, q₁ = k₁ = 4, 1 ∉ col K, so
    # r̃k₁ + q₁r̃ − q₁k₁ − q₁ = 20 + 20 − 16 − 4 = 20 > d² = 16
    code, out, _ = run(["rank", "--n", "12", "--d", "4", "--dk", "4", "--bias", "--json"], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["status"] == "ok" and obj["bias"]
    assert obj["measured_rank"] == obj["predicted_rank"] == 20 > obj["claimed_dim"] == 16
    assert obj["ambient_dim"] == 2 * (4 + 1) * 4


@pytest.mark.parametrize("kernel,expected", [("softmax", 20), ("csq", 20), ("poly2", 24)])
def test_biased_m_form_is_the_m_form_on_augmented_tokens(capsys, kernel, expected):
    # X̃ = [X, 1] has rank r̃ = d + 1 = 5 and 1 ∈ col X̃: softmax and CSQ r̃(r̃ − 1) = 20, poly2 r̃² − m = 24
    code, out, _ = run(["rank", "--n", "12", "--d", "4", "--bias", "--kernel", kernel, "--json"], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["status"] == "ok" and obj["param"] == "biased-M" and obj["ambient_dim"] == 25
    assert obj["measured_rank"] == obj["predicted_rank"] == expected > 16


def test_a_users_head_is_measured_as_given(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x, wq, wk, wv = rng.standard_normal((10, 4)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), \
        rng.standard_normal((4, 3))
    for name, a in (("x", x), ("wq", wq), ("wk", wk), ("wv", wv)):
        np.save(tmp_path / f"{name}.npy", a)
    args = ["rank", "--x", str(tmp_path / "x.npy"), "--wq", str(tmp_path / "wq.npy"), "--wk", str(tmp_path / "wk.npy"),
            "--json"]
    code, out, _ = run(args, capsys)
    obj = json.loads(out)
    # generic factorized head, d_k = 2 < d = 4, n > d, 1 ∉ col X (δ = 0): r k₁ + r q₁ − q₁ k₁ = 8 + 8 − 4 = 12
    assert code == 0 and obj["param"] == "factorized" and obj["dk"] == 2
    assert obj["measured_rank"] == obj["predicted_rank"] == 12
    code, out, _ = run(args + ["--wv", str(tmp_path / "wv.npy"), "--map", "output"], capsys)
    assert code == 0 and json.loads(out)["ambient_dim"] == 16


@pytest.mark.parametrize("files,message", [
    ({"wq": (4, 2)}, "needs both --wq and --wk"),
    ({"wq": (3, 2), "wk": (3, 2)}, "rows but the tokens have d = 4"),
    ({"wq": (4, 2), "wk": (4, 3)}, "must match"),
    ({"wq": (4, 2), "wk": (4, 2), "bq": (2,)}, "both biases"),
    ({"wq": (4, 2), "wk": (4, 2), "bq": (3,), "bk": (3,)}, "expected (2,)"),
    ({"wq": (4, 2), "wk": (4, 2), "wv": (5, 2)}, "--wv has 5 rows"),
])
def test_a_users_head_with_the_wrong_shapes_gets_one_line(tmp_path, capsys, files, message):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((10, 4)))
    args = ["rank", "--x", str(tmp_path / "x.npy")]
    for name, shape in files.items():
        np.save(tmp_path / f"{name}.npy", np.ones(shape))
        args += [f"--{name}", str(tmp_path / f"{name}.npy")]
    code, out, err = run(args, capsys)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


# --- verify: everything is checked before any work --------------------------------------------
def test_an_unwritable_out_is_refused_before_any_reading_runs(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run(["verify", "--claim", "R3.a", "--out", str(blocker / "sub")], capsys)
    assert code == 2 and "cannot write there" in err and "[1/" not in err


def test_a_reading_id_selects_one_reading_and_a_repeated_claim_runs_once(tmp_path, capsys):
    code, out, err = run(["verify", "--claim", "R3.a", "--claim", "r3.a", "--json", "--out", str(tmp_path)], capsys)
    doc = json.loads(out)
    assert code == 0 and [r["reading_id"] for r in doc["verdicts"]] == ["R3.a"]
    assert err.count("R3.a:") == 1  # one progress line, on stderr though it is not a terminal


def test_an_unknown_reading_gets_one_line(tmp_path, capsys):
    code, _, err = run(["verify", "--claim", "T1.z", "--out", str(tmp_path)], capsys)
    assert code == 2 and "unknown reading T1.z;" in err  # as the user spelled it


def test_a_negative_seed_is_refused(capsys):
    code, _, err = run(["rank", "--n", "5", "--d", "2", "--seed", "-1"], capsys)
    assert code == 2 and "seed" in err and len(err.strip().splitlines()) == 1


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("d2check ")


@pytest.mark.parametrize("args,message", [
    (["--n", "100000", "--d", "1000"], "GiB"),
    (["--n", "4096", "--d", "64", "--route", "dense"], "--route sketch"),
    (["--n", "6", "--d", "3", "--max-gib", "1e-9"], "over --max-gib"),
])
def test_memory_is_estimated_and_refused_before_allocation(capsys, args, message):
    code, out, err = run(["rank", *args], capsys)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("scale,message", [(1e-300, "too small"), (1e150, "too large"), (0.0, "every token is 0")])
def test_scores_that_float64_cannot_hold_get_a_message_that_says_so(tmp_path, capsys, scale, message):
    np.save(tmp_path / "x.npy", scale * np.random.default_rng(0).standard_normal((8, 3)))
    code, _, err = run(["rank", "--x", str(tmp_path / "x.npy")], capsys)
    assert code == 2 and message in err


# --- fuzz -------------------------------------------------------------------------------------
def test_fuzz_prints_the_minimal_counterexample_and_how_to_reproduce_it(capsys):
    code, out, err = run(["fuzz", "R3.c", "--max-examples", "10", "--seed", "4"], capsys)
    assert code == 0 and out.startswith("R3.c: fails")
    assert "minimal counterexample:" in out and "reproduce: d2check fuzz R3.c --max-examples 10 --seed 4" in out
    assert "examples" in err  # progress on stderr


def test_fuzz_with_the_same_seed_finds_the_same_counterexample(capsys):
    outs = [json.loads(run(["fuzz", "R3.b", "--max-examples", "8", "--seed", "2", "--json"], capsys)[1]) for _ in (1, 2)]
    assert outs[0]["counterexample"] == outs[1]["counterexample"]
    assert outs[0]["examples_tried"] == outs[1]["examples_tried"] > 0  # the search and its shrinking, replayed


@pytest.mark.parametrize("args,message", [(["T1"], "not a claim"), (["T9.a"], "unknown claim"),
                                          (["T1.z"], "unknown reading"), (["T1.a", "--max-examples", "0"], "≥ 1"),
                                          (["T1.a", "--seed", "-3"], "seed")])
def test_fuzz_bad_input_gets_one_line(capsys, args, message):
    code, out, err = run(["fuzz", *args], capsys)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("after", [0.3, 6.0])  # during the import of JAX, and during the work
def test_an_interrupt_at_any_moment_exits_130_with_one_line_and_no_report(tmp_path, after):
    import signal
    import time

    script = Path(sys.executable).parent / "d2check"
    out = tmp_path / "out"
    proc = subprocess.Popen([str(script), "verify", "--claim", "T1.a", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "d2check: interrupted" and "Traceback" not in err
    assert not (out / "report.md").exists() and not (out / "verdicts.json").exists()


def test_check_head_reports_every_map_of_a_users_head():
    import theorem

    rng = np.random.default_rng(0)
    x, wq, wk = rng.standard_normal((12, 4)), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    plain = theorem.check_head(x, wq, wk, w_v=rng.standard_normal((4, 4)))
    assert {m: (c.measured, c.predicted, c.status) for m, c in plain.items() if m != "output"} == \
        {"scores": (16, 16, "ok"), "weights": (16, 16, "ok")}  # 2·d·d_k − d_k² = 16; 1 ∉ col X: softmax loses none
    biased = theorem.check_head(x, wq, wk, b_q=rng.standard_normal(4), b_k=rng.standard_normal(4))
    assert (biased["weights"].measured, biased["weights"].predicted) == (20, 20) and biased["output"].status == "not-measured"
    # a shape that does not fit is named (a ValueError; under the test suite's runtime shape checks,
    # jaxtyping's TypeCheckError reaches it first)
    with pytest.raises((ValueError, TypeError), match="w_k"):
        theorem.check_head(x, wq, wk[:3])


# --- --workers / --address (the executor; its Ray runs are tested in tests/test_executor.py) ------
@pytest.mark.parametrize("command", [["verify", "--claim", "R3.a"], ["fuzz", "R3.a"]])
@pytest.mark.parametrize("workers,message", [("0", "≥ 1"), ("two", "must be an integer")])
def test_a_bad_worker_count_gets_one_line(tmp_path, capsys, command, workers, message):
    code, out, err = run([*command, "--workers", workers, *(["--out", str(tmp_path)] if command[0] == "verify" else [])],
                         capsys)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "verdicts.json").exists()


def test_workers_without_ray_installed_get_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(worker_options, "ray_available", lambda: False)
    code, out, err = run(["verify", "--claim", "R3.a", "--workers", "2", "--out", str(tmp_path)], capsys)
    assert code == 2 and "not installed" in err and "[1/" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "verdicts.json").exists()


def test_bench_workers_needs_two_workers(capsys):
    code, out, err = run(["bench", "workers", "--workers", "1"], capsys)
    assert code == 2 and "≥ 2" in err and len(err.strip().splitlines()) == 1


def test_fuzz_runs_several_readings_each_with_the_seed_of_the_single_run(capsys):
    alone = json.loads(run(["fuzz", "R1.c", "--max-examples", "6", "--seed", "2", "--json"], capsys)[1])
    code, out, err = run(["fuzz", "T3.a", "R1.c", "--max-examples", "6", "--seed", "2", "--json"], capsys)
    both = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and [b["reading_id"] for b in both] == ["T3.a", "R1.c"]  # ledger order
    assert both[1]["counterexample"] == alone["counterexample"] and both[1]["examples_tried"] == alone["examples_tried"] > 0
    assert both[1]["details"] == alone["details"]
    assert err.count("[1/2]") == 1 and err.count("[2/2]") == 1  # one line per finished reading


@pytest.mark.parametrize("address,message", [("127.0.0.1:9", "cannot reach the Ray cluster"), ("nonsense", "not host:port")])
def test_a_cluster_that_cannot_be_reached_gets_one_line_before_any_reading(tmp_path, capsys, address, message):
    pytest.importorskip("ray")
    code, out, err = run(["verify", "--claim", "R3.a", "--address", address, "--out", str(tmp_path)], capsys)
    assert code == 2 and message in err and "[1/" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "verdicts.json").exists()


def test_experiment_runs_the_experiments_command_line(capsys, tmp_path):
    from theorem.experiments.registry import EXPERIMENTS

    code, out, err = run(["experiment", "--list"], capsys)
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list(EXPERIMENTS)
    code, out, err = run(["experiment", "attention_rank_sweep", "--profile", "quick", "--out", str(tmp_path)], capsys)
    rec = json.loads((tmp_path / "attention_rank_sweep.json").read_text())
    assert code == 0 and rec["profile"] == "quick" and rec["result"]["rows"]
    code, out, err = run(["experiment", "no_such_experiment"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "unknown experiment" in err
