"""Counting XLA compilations: a measure of the work that does not move with machine load.

:func:`count_compiles` counts, inside a ``with`` block, the XLA backend compilations (a listener on JAX's
backend-compile event ``/jax/core/compile/backend_compile_duration``, recorded once per executable XLA
builds or loads from JAX's persistent compilation cache, never on an in-memory cache hit), the jaxpr
traces and the seconds spent compiling.  The counts are the same with the persistent cache
(``jax_compilation_cache_dir``, which the test suite turns on) off, cold or warm; the seconds are not.  The per-reading table
of the ledger is printed by ``python -m theorem.cli.compiles`` (the readings live above this layer).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from jax import monitoring

__all__ = ["BACKEND_COMPILE_EVENT", "TRACE_EVENT", "CompileCount", "count_compiles"]

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"


@dataclass
class CompileCount:
    """What JAX did inside a :func:`count_compiles` block: XLA compilations, traces, compile seconds."""

    compiles: int = 0
    traces: int = 0
    compile_seconds: float = 0.0


@contextmanager
def count_compiles() -> Iterator[CompileCount]:
    """Count XLA backend compilations (and jaxpr traces) made inside the ``with`` block."""
    count = CompileCount()

    def listener(event: str, duration: float, **_) -> None:
        if event == BACKEND_COMPILE_EVENT:
            count.compiles += 1
            count.compile_seconds += duration
        elif event == TRACE_EVENT:
            count.traces += 1

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield count
    finally:
        monitoring.unregister_event_duration_listener(listener)
