"""JAX's persistent compilation cache for the commands (``d2check …``, ``python -m theorem.experiments``).

A command owns its process, so it may turn the cache on; ``import theorem`` never does.  With the cache on,
every program XLA compiles is written to disk and a later run (or a Ray worker of the same run) loads it
instead of compiling it again.  A loaded program is the executable a fresh compilation builds, so the
numbers, the evidence and the verdicts are the same with the cache off, cold or warm; only the seconds
spent compiling change (:mod:`theorem.bench.compiles` counts a load as a compilation, so compile counts
do not change either).

Where the cache lives, in order: ``JAX_COMPILATION_CACHE_DIR`` when set (JAX's own variable, respected as
it is); else ``D2CHECK_COMPILE_CACHE`` when it names a folder; else ``$XDG_CACHE_HOME/d2check/jax`` (by
default ``~/.cache/d2check/jax``).  ``D2CHECK_COMPILE_CACHE=off`` (or ``0``) turns it off.  The cache only
ever holds what this machine compiled; delete the folder to empty it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

__all__ = ["CACHE_ENV", "OFF", "cache_dir", "use_compile_cache"]

#: the variable that moves the cache (a folder) or turns it off (:data:`OFF`)
CACHE_ENV = "D2CHECK_COMPILE_CACHE"
OFF = frozenset({"0", "off", "no", "false"})


def cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder the commands' compilation cache uses under ``environ`` (default: this process's
    environment), or None when it is turned off."""
    env = os.environ if environ is None else environ
    setting = env.get(CACHE_ENV, "").strip()
    if setting.lower() in OFF:
        return None
    if env.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(env["JAX_COMPILATION_CACHE_DIR"])
    if setting:
        return Path(setting).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "d2check" / "jax"


def use_compile_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Turn JAX's persistent compilation cache on for this process, for every program however quick to
    compile (JAX's defaults skip those under a second); return its folder, or None when it is off or its
    folder cannot be created (then every program is compiled, as without a cache)."""
    path = cache_dir(environ)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    compilation_cache.set_cache_dir(str(path))
    compilation_cache.reset_cache()  # re-read at the next compilation, even if one already ran uncached
    return path
