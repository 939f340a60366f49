"""The executor (theorem/util/executor.py): the same results, in the same order, on 1 and on 2 workers.

One Ray session serves the whole module (``ray_session`` below, module-scoped): a local Ray costs
10–30 s to start on 2 loaded cores, and each test here then costs about a second.
"""

from __future__ import annotations

import os
import re
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.claims import runner
from theorem.claims.ledger import Evidence, Outcome, Profile, Reading, Verdict
from theorem.claims.registry import load_claim
from theorem.util.executor import TaskError, TaskFailure, map_tasks, ray_available, worker_env
from theorem.util.executor import ray_session as open_ray
from theorem.util.search import SearchOptions

pytestmark = pytest.mark.skipif(not ray_available(), reason="Ray (the parallel extra) is not installed")

#: cheap readings (under a second each on an idle core), none of them timing anything
READINGS = ("T3.a", "R1.c", "R3.a")


@pytest.fixture(scope="module")
def ray_session():
    import ray.cloudpickle

    # this module's tasks travel by value: a worker cannot import the test module by name
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with open_ray(workers=2) as ray:
        yield ray


# --- tasks of the module's own (module-level, so a worker imports them by name) -------------------
def draw(task: tuple[int, float]) -> list[float]:
    """Three normal draws from ``seed``, after a pause that makes later tasks finish first."""
    seed, pause = task
    time.sleep(pause)
    return np.random.default_rng(seed).standard_normal(3).tolist()


def inverse(x: int) -> float:
    return 1.0 / x


def environment(_: int) -> dict:
    """What a worker's process was started with, and how its JAX is set."""
    return {name: os.environ.get(name) for name in ("XLA_FLAGS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")} | {
        "dtype": str(jnp.ones(1).dtype), "promotion": jax.config.jax_numpy_dtype_promotion, "pid": os.getpid()}


def _die(profile: Profile) -> list[Evidence]:
    os._exit(3)  # the worker process dies under the reading


def _never(evidence: list[Evidence]) -> Outcome:
    return Outcome(Verdict.OPEN, "unreachable")


# --- the executor on a pure function ------------------------------------------------------------
def test_results_come_back_in_task_order_whichever_worker_finishes_first(ray_session):
    tasks = [(seed, 0.3 * (3 - i)) for i, seed in enumerate((11, 5, 7, 2))]  # the first sleeps longest
    oracle = [list(np.random.default_rng(seed).standard_normal(3)) for seed, _ in tasks]
    serial = map_tasks(draw, [(s, 0.0) for s, _ in tasks], workers=1)
    parallel = map_tasks(draw, tasks, workers=2)
    assert serial == oracle and parallel == oracle


def test_a_worker_starts_with_one_thread_and_the_drivers_jax_settings(ray_session):
    seen = map_tasks(environment, range(4), workers=2)
    assert all(s["pid"] != os.getpid() for s in seen)  # they ran in the workers
    for s in seen:
        assert "--xla_cpu_multi_thread_eigen=false" in s["XLA_FLAGS"].split()
        assert s["OMP_NUM_THREADS"] == s["OPENBLAS_NUM_THREADS"] == "1"
        # conftest switched float64 and strict promotion on in this process: the worker runs tasks so too
        assert s["dtype"] == str(jnp.ones(1).dtype) == "float64" and s["promotion"] == "strict"


def test_worker_env_keeps_the_users_xla_flags_and_adds_one_thread():
    env = worker_env(1, {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert env["XLA_FLAGS"].split() == ["--xla_force_host_platform_device_count=4", "--xla_cpu_multi_thread_eigen=false"]
    assert worker_env(1, {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"})["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true"
    assert "XLA_FLAGS" not in worker_env(4, {}) and worker_env(4, {})["MKL_NUM_THREADS"] == "4"


def test_worker_env_none_keeps_the_drivers_threading_as_it_is():
    # threads=None (the experiments' workers): no Eigen flag added, no thread variable set, the user's flags kept
    assert worker_env(None, {}) == {}
    assert worker_env(None, {"XLA_FLAGS": "--xla_force_host_platform_device_count=4", "OMP_NUM_THREADS": "3"}) == {
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    assert worker_env(None, {}, cache_dir="/tmp/c")["JAX_COMPILATION_CACHE_DIR"] == "/tmp/c"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_is_reported_with_its_inputs(ray_session, workers):
    out = map_tasks(inverse, [4, 0, 2], workers=workers, failures="return", label=lambda x: f"x={x}")
    assert out[0] == 0.25 and out[2] == 0.5
    failure = out[1]
    assert isinstance(failure, TaskFailure) and failure.index == 1 and failure.label == "x=0"
    assert failure.error.startswith("ZeroDivisionError") and "inverse" in failure.traceback
    with pytest.raises(TaskError, match=r"task 1 \(x=0\) failed: ZeroDivisionError"):
        map_tasks(inverse, [4, 0, 2], workers=workers, label=lambda x: f"x={x}")


def test_progress_is_one_line_per_finished_task_when_not_a_terminal(ray_session, capsys):
    map_tasks(inverse, [1, 2, 0], workers=2, failures="return", progress=lambda i, r: f"#{i} = {r}",
              label=lambda x: f"x={x}")
    lines = capsys.readouterr().err.strip().splitlines()
    texts = sorted(line.split("] ", 1)[1] for line in lines)
    assert texts[:2] == ["#0 = 1.0", "#1 = 0.5"] and texts[2].startswith("x=0: FAILED: ZeroDivisionError: float division by zero (at ")
    assert sorted(line.split("]")[0] for line in lines) == ["[1/3", "[2/3", "[3/3"]


# --- the ledger's readings ----------------------------------------------------------------------
def _selected(ids):
    pairs = []
    for rid in ids:
        claim, _ = load_claim(rid.split(".")[0])
        pairs.append((claim, next(r for r in claim.readings if r.id == rid)))
    return pairs


#: a duration in a summary ("(0.02 s)", "390.9 ns"): the one thing a rerun may change
DURATION = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:s|ms|µs|ns)\b")


def _comparable(result) -> dict:
    """Everything of a result but its timings."""
    o = result.outcome
    return {"reading": result.reading_id, "verdict": result.verdict, "error": result.error,
            "because": o.because if o else None, "corrected": o.corrected if o else None,
            "counterexample": o.counterexample if o else None,
            "evidence": [(e.key, e.kind, e.supports, DURATION.sub("<time>", e.summary), repr(e.measured), repr(e.predicted))
                         for e in result.evidence]}


def test_readings_on_two_workers_equal_the_serial_run(ray_session, monkeypatch):
    monkeypatch.setattr(runner, "ALL_EVIDENCE", {})  # the real-model context: minutes, and attached in the driver
    selected = _selected(READINGS)
    search = SearchOptions(seed=3)
    serial = runner.run_readings(selected, Profile("quick"), search=search)
    parallel = runner.run_readings(selected, Profile("quick"), workers=2, search=search)
    assert [r.reading_id for r in parallel] == list(READINGS)
    assert all(r.error is None for r in serial)
    assert [_comparable(r) for r in parallel] == [_comparable(r) for r in serial]


def test_a_reading_whose_worker_dies_becomes_an_error_result_and_the_rest_complete(ray_session, monkeypatch):
    monkeypatch.setattr(runner, "ALL_EVIDENCE", {})
    claim, _ = load_claim("R3")
    dying = Reading("R3.dies", "a reading whose worker dies", _die, _never)
    cheap = next(r for r in claim.readings if r.id == "R3.a")
    results = runner.run_readings([(claim, dying), (claim, cheap)], Profile("quick"), workers=2)
    assert [r.reading_id for r in results] == ["R3.dies", "R3.a"]
    assert results[0].verdict == "error" and "R3.dies" in results[0].error and "died" in results[0].error.lower()
    assert results[1].error is None and results[1].verdict == "holds"
