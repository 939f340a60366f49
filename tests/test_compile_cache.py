"""The commands' persistent compilation cache (:mod:`theorem.util.compile_cache`): where it lives, that it
is off when asked, and that a program loaded from it gives the numbers a fresh compilation gives."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from theorem.util.compile_cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("off", ["0", "off", "OFF", "no", "false"])
def test_the_cache_is_off_when_asked(off):
    assert cache_dir({"D2CHECK_COMPILE_CACHE": off, "JAX_COMPILATION_CACHE_DIR": "/x"}) is None


def test_jax_own_variable_wins_then_d2check_then_xdg(tmp_path):
    assert cache_dir({"JAX_COMPILATION_CACHE_DIR": "/a", "D2CHECK_COMPILE_CACHE": "/b"}) == Path("/a")
    assert cache_dir({"D2CHECK_COMPILE_CACHE": "/b", "XDG_CACHE_HOME": "/c"}) == Path("/b")
    assert cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/d2check/jax")
    assert cache_dir({}) == Path.home() / ".cache" / "d2check" / "jax"


# a program compiled in one process and loaded from the cache in the next: same bits, and the second
# process compiled nothing (JAX records a cache hit instead of a miss)
_PROGRAM = """
import json, sys
import jax, jax.numpy as jnp
from jax import monitoring
from theorem.util.compile_cache import use_compile_cache
jax.config.update("jax_enable_x64", True)
events = []
monitoring.register_event_listener(lambda name, **_: events.append(name))
path = use_compile_cache()
x = jnp.linspace(-3.0, 3.0, 64).reshape(8, 8)
y = jax.jit(lambda a: jnp.tanh(a @ a.T) / (1.0 + jnp.exp(-a)))(x)
print(json.dumps({"path": str(path), "bits": y.tobytes().hex(),
                  "hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses")}))
"""


def _run(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    return {**env, **extra}


def test_a_program_loaded_from_the_cache_gives_the_same_bits(tmp_path):
    cache = tmp_path / "jax"
    cold = _run(_env(D2CHECK_COMPILE_CACHE=str(cache)))
    warm = _run(_env(D2CHECK_COMPILE_CACHE=str(cache)))
    off = _run(_env(D2CHECK_COMPILE_CACHE="off"))
    assert cold["path"] == warm["path"] == str(cache) and off["path"] == "None"
    assert cold["misses"] >= 1 and cold["hits"] == 0  # compiled, and written
    assert any(cache.iterdir())
    assert warm["hits"] >= 1 and warm["misses"] == 0  # everything loaded, nothing compiled
    assert cold["bits"] == warm["bits"] == off["bits"]


def test_verify_reaches_the_same_evidence_with_a_cold_and_a_warm_cache(tmp_path):
    """``d2check verify`` of one reading, twice on one fresh cache: the second run loads its programs, and
    its verdicts.json equals the first's except for the timings (seconds, and the seconds a summary quotes)
    and the finish time."""
    env = _env(D2CHECK_COMPILE_CACHE=str(tmp_path / "jax"))
    results = []
    for run in ("cold", "warm"):
        subprocess.run([sys.executable, "-m", "theorem.cli", "verify", "--claim", "R3.a", "--out",
                        str(tmp_path / run)], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        results.append(json.loads((tmp_path / run / "verdicts.json").read_text()))

    def timeless(doc):
        if isinstance(doc, dict):
            return {k: timeless(v) for k, v in doc.items() if k not in {"seconds", "finished"}}
        if isinstance(doc, list):
            return [timeless(v) for v in doc]
        return re.sub(r"\(\d+\.\d+ s\)", "(… s)", doc) if isinstance(doc, str) else doc  # "(0.01 s)" in a summary

    assert any((tmp_path / "jax").iterdir())
    assert timeless(results[0]) == timeless(results[1])
