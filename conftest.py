"""Shared pytest set-up: float64 JAX with strict dtype promotion, jaxtyping's runtime shape checks, and
the Hypothesis profiles.

* ``jax_enable_x64`` and ``jax_numpy_dtype_promotion = "strict"`` for the whole run: a silent
  float32 ↔ float64 or int ↔ float promotion in the toolkit is an error here.
* JAX's persistent compilation cache in ``.cache/jax`` (ignored by git), set through the environment so
  the xdist workers, the notebooks' kernels and the CLI subprocesses the tests start share one cache: a
  function compiled by one process is loaded, not recompiled, by the next (the same executable, so the
  same numbers; compile counts are unchanged, see :mod:`theorem.bench.compiles`).
* Every function in :mod:`theorem` with jaxtyping annotations is checked at run time (beartype), so a
  shape in a docstring-like hint that the code does not honour fails the test that calls it.

Profiles (choose with ``HYPOTHESIS_PROFILE=...``):

* ``dev``  (default): few examples, fast feedback;
* ``ci``:  derandomized, no deadline — what ``.ci/run`` uses;
* ``deep``: thousands of examples, for hunting counterexamples (``-m slow`` too).

Tests do not fix ``max_examples`` themselves: the profile sets it (a test may ask for a multiple with
:func:`examples`).
"""

import os
from pathlib import Path

from jaxtyping import install_import_hook

# Hypothesis keeps its example database and caches in the project's cache folder (ignored by git), not in
# the directory pytest was started from
_CACHE = Path(__file__).resolve().parent / ".cache"
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_CACHE / "hypothesis"))
# every compiled function, however small or quick to compile (JAX's defaults skip those under 1 s)
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_CACHE / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

# before anything imports theorem: its annotated functions are checked at run time
install_import_hook("theorem", "beartype.beartype")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])  # if jax came in first

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=15, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile("deep", max_examples=2000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
