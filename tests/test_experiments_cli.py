"""``python -m theorem.experiments``: each profile runs the experiment's own settings and writes them, with the
profile's name, into the record; a profile the experiment lacks is one line and exit 2 before any work."""

from __future__ import annotations

import contextlib
import json
from types import SimpleNamespace

import pytest

from theorem.experiments import command
from theorem.util import worker_options


def fake_experiment(calls: list, with_medium: bool = True) -> SimpleNamespace:
    def run(settings, log):
        calls.append(settings)
        return {"seen": settings["size"]}

    mod = SimpleNamespace(NAME="fake", DESCRIPTION="a stand-in", QUICK={"size": 1}, FULL={"size": 3}, run=run)
    if with_medium:
        mod.MEDIUM = {"size": 2}
    return mod


@pytest.mark.parametrize("profile,size", [("quick", 1), ("medium", 2), ("full", 3)])
def test_each_profile_runs_and_records_its_own_settings(monkeypatch, tmp_path, profile, size):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: fake_experiment(calls))
    assert command.main(["fake", "--profile", profile, "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "fake.json").read_text())
    assert calls == [{"size": size}]
    assert (rec["profile"], rec["settings"], rec["result"]) == (profile, {"size": size}, {"seen": size})
    assert rec["provenance"]["command"] == f"python -m theorem.experiments fake --profile {profile}"


def test_a_profile_the_experiment_lacks_is_refused_before_any_work(monkeypatch, tmp_path, capsys):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: fake_experiment(calls, with_medium=False))
    assert command.main(["fake", "--profile", "medium", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "experiments: fake has no medium profile"
    assert calls == [] and not (tmp_path / "out").exists()


# --- --workers / --address ------------------------------------------------------------------------
def parallel_experiment(calls: list) -> SimpleNamespace:
    def run(settings, log, *, workers=1, address=None):
        calls.append((settings, workers, address))
        return {"seen": settings["size"]}

    return SimpleNamespace(NAME="grid", DESCRIPTION="a grid", QUICK={"size": 1}, FULL={"size": 3}, run=run)


@pytest.mark.parametrize("argv,line", [
    (["--workers", "0"], "experiments: argument --workers: must be ≥ 1, got 0"),
    (["--workers", "two"], "experiments: argument --workers: must be an integer ≥ 1 or 'auto', got 'two'"),
    (["--profile", "huge"], "experiments: argument --profile: invalid choice: 'huge' (choose from 'quick', 'medium', 'full')"),
])
def test_bad_options_are_one_line_and_exit_2_before_any_work(monkeypatch, tmp_path, capsys, argv, line):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: parallel_experiment(calls))
    assert command.main(["grid", *argv, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [line]
    assert calls == [] and not (tmp_path / "out").exists()


def test_workers_for_an_experiment_that_runs_serially_is_refused_before_any_work(monkeypatch, tmp_path, capsys):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module",
                        lambda name: parallel_experiment(calls) if name == "grid" else fake_experiment(calls))
    assert command.main(["grid", "fake", "--workers", "2", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("experiments: fake runs serially (no --workers); --workers applies to: ")
    assert calls == [] and not (tmp_path / "out").exists()


def test_the_real_grids_take_workers_and_a_serial_experiment_does_not():
    from theorem.experiments.registry import experiment_module

    assert command.parallel(experiment_module("stability")) and command.parallel(experiment_module("depth"))
    assert not command.parallel(experiment_module("matching_rates"))


def test_an_unreachable_address_is_one_line_and_exit_2_before_any_work(monkeypatch, tmp_path, capsys):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: parallel_experiment(calls))
    monkeypatch.setattr(worker_options, "ray_available", lambda: True)
    assert command.main(["grid", "--address", "not-an-address", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "experiments: --address 'not-an-address' is not host:port (e.g. 10.0.0.1:6379)"]
    assert calls == [] and not (tmp_path / "out").exists()


def test_workers_reach_the_experiment_and_its_provenance(monkeypatch, tmp_path):
    """The options travel to ``run`` and into the recorded command; the Ray session is opened once, by the
    command, with the driver's own threading (a stand-in here: no Ray starts in this test)."""
    calls: list = []
    opened: list = []

    @contextlib.contextmanager
    def session(workers, address, threads=1):
        opened.append((workers, address, threads))
        yield None

    monkeypatch.setattr(command, "experiment_module", lambda name: parallel_experiment(calls))
    monkeypatch.setattr(worker_options, "ray_available", lambda: True)
    monkeypatch.setattr(command, "ray_session", session)
    assert command.main(["grid", "--profile", "quick", "--workers", "2", "--out", str(tmp_path)]) == 0
    assert opened == [(2, None, None)] and calls == [({"size": 1}, 2, None)]
    rec = json.loads((tmp_path / "grid.json").read_text())
    assert rec["result"] == {"seen": 1}
    assert rec["provenance"]["command"] == "python -m theorem.experiments grid --profile quick --workers 2"
    calls.clear()
    assert command.main(["grid", "--profile", "quick", "--out", str(tmp_path)]) == 0  # serial: no session, no options
    assert opened == [(2, None, None)] and calls == [({"size": 1}, 1, None)]


def test_workers_without_ray_installed_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    calls: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: parallel_experiment(calls))
    monkeypatch.setattr(worker_options, "ray_available", lambda: False)
    assert command.main(["grid", "--workers", "auto", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "experiments: --workers auto runs on Ray, which is not installed (pip install -c constraints.txt -e '.[parallel]')"]
    assert calls == [] and not (tmp_path / "out").exists()


def test_a_failing_task_is_reported_with_its_inputs_and_no_record_is_written(monkeypatch, tmp_path, capsys):
    from theorem.util.executor import map_tasks

    def inverse(x):
        return 1.0 / x

    def run(settings, log, *, workers=1, address=None):  # a grid whose second task raises
        return {"values": map_tasks(inverse, [2, 0, 4], workers=workers, label=lambda x: f"x={x}")}

    mod = SimpleNamespace(NAME="grid", DESCRIPTION="a grid", QUICK={}, FULL={}, run=run)
    monkeypatch.setattr(command, "experiment_module", lambda name: mod)
    assert command.main(["grid", "--profile", "quick", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "experiments: task 1 (x=0) failed: ZeroDivisionError: float division by zero (at " \
        f"{__file__}:{inverse.__code__.co_firstlineno + 1}) (no record written)"
    assert "Traceback (most recent call last):" in err and not (tmp_path / "grid.json").exists()


@pytest.mark.parametrize("recorded,profile,refused", [("full", "quick", True), ("full", "medium", True),
                                                      ("medium", "quick", True), ("medium", "full", False),
                                                      ("quick", "quick", False), (None, "quick", False)])
def test_a_smaller_run_never_replaces_a_shipped_record_unless_sent_elsewhere(monkeypatch, tmp_path, capsys,
                                                                            recorded, profile, refused):
    calls: list = []
    written: list = []
    monkeypatch.setattr(command, "experiment_module", lambda name: fake_experiment(calls))
    monkeypatch.setattr(command, "load_record", lambda name: None if recorded is None else {"profile": recorded})
    monkeypatch.setattr(command, "write_record", lambda name, *a, **k: written.append(name) or tmp_path / "fake.json")
    code = command.main(["fake", "--profile", profile])  # no --out: the package's records
    err = capsys.readouterr().err
    if refused:
        assert code == 2 and calls == [] and written == []
        assert err.strip() == (f"experiments: a {profile} run would replace the committed fake ({recorded}) record; "
                               "give --out DIR to write it elsewhere")
    else:
        assert code == 0 and written == ["fake"]
    # with --out the record goes elsewhere, whatever the shipped one is
    assert command.main(["fake", "--profile", profile, "--out", str(tmp_path / "elsewhere")]) == 0
