"""``python -m theorem.experiments``: each profile runs the experiment's own settings and writes them, with the
profile's name, into the record; a profile the experiment lacks is one line and exit 2 before any work."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from theorem.experiments import command


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
