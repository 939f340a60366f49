"""Shared pytest set-up: float64 JAX and the Hypothesis profiles.

Profiles (choose with ``HYPOTHESIS_PROFILE=...``):

* ``dev``  (default): few examples, fast feedback;
* ``ci``:  derandomized, no deadline — what ``.ci/run`` uses;
* ``deep``: thousands of examples, for hunting counterexamples (``-m slow`` too).
"""

import os

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=15, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile("deep", max_examples=2000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
