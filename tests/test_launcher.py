"""The ``d2check`` launcher prepares the process before ``theorem`` is imported."""

import os
import subprocess
import sys
from pathlib import Path

import d2check_launcher

ROOT = Path(__file__).resolve().parents[1]


def test_hypothesis_files_go_to_the_cache_folder_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d2check_launcher.prepare_environment()
    assert os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] == str(tmp_path / "cache" / "d2check" / "hypothesis")


def test_a_users_own_hypothesis_directory_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "mine"))
    d2check_launcher.prepare_environment()
    assert os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] == str(tmp_path / "mine")


def test_a_search_writes_nothing_into_the_working_directory(tmp_path):
    # a fresh process, as `d2check fuzz` is: the launcher's environment, then one Hypothesis search
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    script = (
        "import d2check_launcher; d2check_launcher.prepare_environment()\n"
        "from hypothesis import strategies as st\n"
        "from theorem.util.search import search\n"
        "r = search(st.integers(0, 10), lambda x: (x > 5, float(x), {}), max_examples=20)\n"
        "assert r.found, r\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(ROOT))
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, check=True, timeout=120)
    assert list(work.iterdir()) == []
