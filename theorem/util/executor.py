"""The one executor of the parallel sweeps: ``map_tasks(fn, tasks, workers=N)``, in-process or on Ray.

``workers=1`` runs every task here, in order, with no Ray start-up.  ``workers > 1`` runs them on Ray,
``workers`` at a time: an embedded local Ray started for the call (``ray.init(num_cpus=workers)``, no
dashboard), or the cluster at ``address`` (or ``RAY_ADDRESS``).  Either way the answer is the list of
results **in task order**, so a sweep's output does not depend on which worker finished first.

Each Ray worker is configured before anything in it imports JAX (the job's ``runtime_env`` sets its
environment when the process starts, :func:`worker_env`): XLA's Eigen thread pool off
(``--xla_cpu_multi_thread_eigen=false``) and one BLAS/OpenMP thread, so ``N`` workers keep to ``N`` cores;
(``threads=None`` keeps the driver's own threading instead, for tasks whose round-off depends on it);
and each task runs under the driver's JAX settings (``jax_enable_x64``, the dtype-promotion mode), which the
``d2check`` process switched on for itself and a fresh worker would not have.

A task that raises is reported with its inputs (its ``label``): a :class:`TaskFailure` in its place with
``failures="return"``, a :class:`TaskError` naming it with ``failures="raise"``.  An interrupt (SIGINT)
shuts the workers down (``ray.shutdown``) before the previous handler (``d2check``'s launcher: one line,
exit 130) runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TextIO

import jax
from tqdm import tqdm

__all__ = ["JAX_SETTINGS", "RayStartError", "TaskError", "TaskFailure", "map_tasks", "ray_available", "ray_session", "resolve_workers",
           "worker_env"]

#: the JAX settings a worker takes from the driver before each task
JAX_SETTINGS = ("jax_enable_x64", "jax_numpy_dtype_promotion")
#: the environment variables that bound a worker's threads (BLAS and OpenMP; XLA through XLA_FLAGS)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_EIGEN_OFF = "--xla_cpu_multi_thread_eigen=false"
#: the local Ray's object store: results are small (a reading's evidence), so it need not take 30 % of RAM
_OBJECT_STORE_BYTES = 256 * 2**20
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised (or whose worker died): which task, on what inputs, and the error."""

    index: int
    label: str
    error: str  # "TypeError: … (at file:line)"
    traceback: str = ""

    def __str__(self) -> str:
        return f"task {self.index} ({self.label}) failed: {self.error}"


class TaskError(RuntimeError):
    """Raised by :func:`map_tasks` with ``failures="raise"``; ``.failure`` says which task and why."""

    def __init__(self, failure: TaskFailure):
        super().__init__(str(failure))
        self.failure = failure


class RayStartError(RuntimeError):
    """Ray could not be started or reached (a wrong ``address``, a cluster that is down)."""


def ray_available() -> bool:
    """Whether Ray (the ``parallel`` extra) is installed, without importing it."""
    return importlib.util.find_spec("ray") is not None


def resolve_workers(workers: int | str | None) -> int:
    """``workers`` as a count: an integer ≥ 1, or ``"auto"``/None for this machine's cores."""
    if workers is None or workers == "auto":
        return max(1, os.cpu_count() or 1)
    count = int(workers)
    if count < 1:
        raise ValueError(f"workers must be ≥ 1, got {count}")
    return count


def worker_env(threads: int | None = 1, base: dict[str, str] | None = None, cache_dir: str | None = None) -> dict[str, str]:
    """The environment a Ray worker starts with: ``threads`` BLAS/OpenMP threads, and with one thread
    XLA's multi-threaded Eigen off (added to the driver's own ``XLA_FLAGS``, which are kept).  ``threads=None``:
    the driver's own threading (its ``XLA_FLAGS`` as they are, Eigen's pool as large as the machine's
    cores), so that a reduction XLA splits across threads splits as in the serial run (see
    :func:`map_tasks`).  With ``cache_dir``, JAX's persistent compilation cache there, for every compiled
    function: a program that one worker compiled, the others load instead of compiling it again."""
    base = dict(os.environ if base is None else base)
    flags = base.get("XLA_FLAGS", "").split()
    if threads == 1 and not any(f.startswith("--xla_cpu_multi_thread_eigen") for f in flags):
        flags.append(_EIGEN_OFF)
    env = {} if threads is None else {name: str(threads) for name in THREAD_VARS}
    if flags:
        env["XLA_FLAGS"] = " ".join(flags)
    if cache_dir is not None:
        env.update(JAX_COMPILATION_CACHE_DIR=cache_dir, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                   JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    return env


def _jax_settings() -> dict[str, Any]:
    """The driver's current values of :data:`JAX_SETTINGS`."""
    return {name: getattr(jax.config, name) for name in JAX_SETTINGS}


def _failure(index: int, label: str, err: BaseException) -> TaskFailure:
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return TaskFailure(index, label, f"{type(err).__name__}: {err}{where}",
                       "".join(traceback.format_exception(type(err), err, err.__traceback__)))


def _run_one(fn: Callable, task: Any, index: int, label: str, settings: dict[str, Any]) -> tuple[bool, Any]:
    """Run one task in a worker under the driver's JAX settings: (True, result) or (False, failure)."""
    for name, value in settings.items():
        jax.config.update(name, value)
    try:
        return True, fn(task)
    except Exception as err:  # reported with the task's inputs, never lost
        return False, _failure(index, label, err)


class _Progress:
    """A bar over tasks on ``stream`` when it is a terminal, else one line per finished task."""

    def __init__(self, total: int, show: bool | Callable[[int, Any], str | None], stream: TextIO | None):
        self.total, self.done, self.show = total, 0, show
        self.stream = sys.stderr if stream is None else stream
        tty = bool(show) and getattr(self.stream, "isatty", lambda: False)()
        self.bar = tqdm(total=total, file=self.stream, unit="task", leave=False, dynamic_ncols=True) if tty else None

    def running(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)

    def finished(self, index: int, label: str, outcome: Any) -> None:
        self.done += 1
        if not self.show:
            return
        if isinstance(outcome, TaskFailure):
            text = f"{label}: FAILED: {outcome.error}"
        else:
            text = self.show(index, outcome) if callable(self.show) else label
        if text is not None:
            line = f"[{self.done}/{self.total}] {text}"
            if self.bar is not None:
                self.bar.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def map_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    workers: int | str | None = 1,
    address: str | None = None,
    label: Callable[[Any], str] = repr,
    progress: bool | Callable[[int, Any], str | None] = False,
    failures: str = "raise",
    threads: int | None = 1,
    stream: TextIO | None = None,
) -> list[Any]:
    """``[fn(t) for t in tasks]``, on ``workers`` workers, in task order.

    ``label(task)`` names a task's inputs in progress lines and failure reports.  ``progress``: False (quiet),
    True (the label), or ``progress(index, result) -> line``; lines read ``[done/total] line``.  ``failures``:
    ``"raise"`` (a :class:`TaskError` for the first task that raised) or ``"return"`` (a :class:`TaskFailure`
    in that task's place).  ``workers``: a count, or ``"auto"``/None (this machine's cores; a cluster's CPUs).
    ``threads``: BLAS/XLA threads per Ray worker, or None for the driver's own threading (:func:`worker_env`):
    a task whose floating-point result depends on Eigen's thread count (the T8 depth probe's fits, where
    hundreds of optimizer steps amplify a round-off difference) is identical to its serial run only with
    None, at the price of each worker's pool competing for the cores; it applies when this call starts the Ray session
    (a session already open keeps the workers it has).  With ``workers=1`` and no ``address`` everything runs in
    this process; otherwise ``fn`` and the tasks must pickle (module-level functions travel by name).
    """
    if failures not in ("raise", "return"):
        raise ValueError(f"failures must be 'raise' or 'return', got {failures!r}")
    count = resolve_workers(workers)
    tasks = list(tasks)
    labels = [label(t) for t in tasks]
    bar = _Progress(len(tasks), progress, stream)
    try:
        if count == 1 and address is None:
            return _serial(fn, tasks, labels, bar, failures)
        with ray_session(count, address, threads) as ray:
            if workers in (None, "auto") and (address or os.environ.get("RAY_ADDRESS")):
                count = max(1, int(ray.cluster_resources().get("CPU", 1)))  # a cluster: as many as its CPUs
            return _parallel(ray, fn, tasks, labels, bar, failures, count)
    finally:
        bar.close()


def _serial(fn, tasks, labels, bar: _Progress, failures: str) -> list[Any]:
    results = []
    for index, task in enumerate(tasks):
        bar.running(labels[index])
        try:
            result = fn(task)
        except Exception as err:
            result = _failure(index, labels[index], err)
            if failures == "raise":
                bar.finished(index, labels[index], result)
                raise TaskError(result) from err
        results.append(result)
        bar.finished(index, labels[index], result)
    return results


def _parallel(ray, fn, tasks, labels, bar: _Progress, failures: str, count: int) -> list[Any]:
    """At most ``count`` tasks in flight; results collected as they finish, returned in task order."""
    remote = ray.remote(num_cpus=1, max_retries=0)(_run_one)
    settings = _jax_settings()
    fn_ref = ray.put(fn)
    results: list[Any] = [None] * len(tasks)
    pending: dict[Any, int] = {}
    queue = iter(range(len(tasks)))
    for index in queue:
        pending[remote.remote(fn_ref, tasks[index], index, labels[index], settings)] = index
        if len(pending) >= count:
            break
    while pending:
        bar.running(f"{len(pending)} running")
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        for ref in ready:
            index = pending.pop(ref)
            try:
                ok, outcome = ray.get(ref)
            except Exception as err:  # the worker died or the result did not come back
                ok, outcome = False, _failure(index, labels[index], err)
            bar.finished(index, labels[index], outcome)
            if not ok and failures == "raise":
                raise TaskError(outcome)
            results[index] = outcome
            nxt = next(queue, None)
            if nxt is not None:
                pending[remote.remote(fn_ref, tasks[nxt], nxt, labels[nxt], settings)] = nxt
    return results


@contextlib.contextmanager
def ray_session(workers: int | str | None = None, address: str | None = None,
                threads: int | None = 1) -> Iterator[Any]:
    """Ray for the ``with`` block: the session this process already has, else the cluster at ``address``
    (or ``RAY_ADDRESS``), else an embedded local Ray with ``workers`` CPUs; shut down on the way out (only
    what it started).  SIGINT shuts Ray down first, then runs the handler that was in place."""
    import ray  # the optional extra: only a run with more than one worker needs it

    if ray.is_initialized():
        with _interrupt_stops(lambda: None):
            yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    # the local workers share one compilation cache: the driver's persistent one when it has one
    # (theorem.util.compile_cache), else one for this session only
    own = jax.config.jax_compilation_cache_dir if address is None else None
    cache = own or (tempfile.mkdtemp(prefix="d2check-jax-cache-") if address is None else None)

    def close() -> None:
        ray.shutdown()
        if cache is not None and not own:
            shutil.rmtree(cache, ignore_errors=True)

    try:
        _start(ray, address, workers, worker_env(threads, cache_dir=cache))
        with _interrupt_stops(close):
            yield ray
    finally:
        close()


def _start(ray, address: str | None, workers: int | str | None, env: dict[str, str]) -> None:
    """``ray.init``: quiet (no dashboard, no worker logs, no notices), the workers started with ``env``."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is not None:
        _reachable(address)
    options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                                   runtime_env={"env_vars": env})
    if address is None:
        options.update(num_cpus=resolve_workers(workers), object_store_memory=_OBJECT_STORE_BYTES)
    notice = logging.getLogger(_AUTH_LOGGER)  # its one-line notice that token auth is on (it stays on)
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # Ray starts its processes by fork + exec, which JAX's warning is not about
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RayStartError(f"cannot start {where}: {first}") from None
    finally:
        notice.setLevel(level)


def _reachable(address: str, seconds: float = 5.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) address that accepts a connection, or :class:`RayStartError`
    at once (Ray itself would retry for minutes, logging each try).  ``auto`` and ``local`` pass as they are."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        if address in ("auto", "local"):
            return
        raise RayStartError(f"--address {address!r} is not host:port (e.g. 10.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as err:
        raise RayStartError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


@contextlib.contextmanager
def _interrupt_stops(close: Callable[[], None]) -> Iterator[None]:
    """While Ray runs: SIGINT becomes KeyboardInterrupt here, ``close()`` shuts Ray down, then the previous
    handler (``d2check``'s: one line, exit 130) runs, or the KeyboardInterrupt goes on to the caller."""
    try:
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: no handler of ours
        yield
        return
    try:
        yield
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, previous if callable(previous) else signal.default_int_handler)
        close()
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signal.SIGINT, None)
        raise
    finally:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, previous)
