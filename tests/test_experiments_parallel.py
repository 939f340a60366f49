"""``python -m theorem.experiments NAME --workers 2``: the record the serial run writes, and Ctrl-C stops the workers.

Both tests run the command in a subprocess, as a user does, on the depth probe's QUICK profile (two (depth,
width) cells: two tasks).  Each starts a local Ray (10–30 s on 2 loaded cores) and compiles the probe's fits
in its workers, so both are slow (59 s and 30 s measured at load 6 on 2 cores); CI skips them (``-m slow`` runs them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from theorem.util.executor import ray_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ray_available(), reason="Ray (the parallel extra) is not installed")]

ROOT = Path(__file__).resolve().parents[1]
MARK = "D2CHECK_TEST_MARK"


def experiments(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "theorem.experiments", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def marked_processes(mark: str) -> dict[int, str]:
    """pid → command line of every process whose environment carries ``MARK=mark`` (the command and every
    Ray process it started: they inherit its environment)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if f"{MARK}={mark}".encode() not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                found[int(pid)] = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def test_a_quick_depth_probe_on_two_workers_writes_the_serial_record(tmp_path):
    serial = experiments("depth", "--profile", "quick", "--out", str(tmp_path / "serial"))
    parallel = experiments("depth", "--profile", "quick", "--workers", "2", "--out", str(tmp_path / "parallel"))
    (_, err_s), (_, err_p) = serial.communicate(timeout=900), parallel.communicate(timeout=900)
    assert serial.returncode == 0, err_s
    assert parallel.returncode == 0, err_p
    one, two = (json.loads((tmp_path / side / "depth.json").read_text()) for side in ("serial", "parallel"))
    assert two["settings"] == one["settings"] and two["profile"] == one["profile"] == "quick"
    assert two["result"] == one["result"]  # every restart's residual, bit for bit (JSON floats round-trip)
    assert len(one["result"]["residual_restarts"][0][0][0]) == one["settings"]["restarts"] == 8
    assert two["provenance"]["command"] == "python -m theorem.experiments depth --profile quick --workers 2"
    # a progress line per finished task (stderr is not a terminal here: one line each, no bar)
    cells = sorted(line.split("] ", 1)[1].split(":")[0] for line in err_p.splitlines() if line.startswith("[") and "/2]" in line)
    assert cells == ["depth 1, width 6", "depth 2, width 6"]


def test_sigint_stops_the_workers_exit_130_one_line_and_no_record(tmp_path):
    mark = uuid.uuid4().hex
    out = tmp_path / "out"
    proc = experiments("depth", "--profile", "quick", "--workers", "2", "--out", str(out), env=dict(os.environ, **{MARK: mark}))
    try:
        deadline = time.monotonic() + 300
        while not any(cmd.startswith("ray::_run_one") for cmd in marked_processes(mark).values()):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no task started in 300 s"
            time.sleep(0.2)
        started = marked_processes(mark)
        assert len(started) > 2  # the command, Ray's own processes and the workers running the cells
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    lines = err.splitlines()
    assert lines[-1] == "experiments: interrupted" and "Traceback" not in err
    header = lines[:-1]  # the line printed before the work; nothing else
    assert len(header) == 1 and header[0].startswith("[depth] ") and header[0].endswith("(quick, --workers 2)")
    assert not out.exists() or not any(out.iterdir())  # no record, whole or half-written
    deadline = time.monotonic() + 30  # ray.shutdown has returned; give the kernel a moment to reap
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marked_processes(mark) == {}, f"left behind: {marked_processes(mark)}"
