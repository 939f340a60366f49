"""T8 (hypothesis 6.2): stacked quadratic attention vs degree-2^L polynomial attention.

Lemmas checked:

* degree-2 polynomial attention *is* one poly2 layer: the explicit construction (``W_in = [I, 0]``,
  value path into fresh channels, readout of those channels) reproduces the ``p = 2`` teacher to
  round-off, for any teacher and width ``w ≥ 2d`` — so the probe's control is realizable and a
  non-zero control residual is an optimizer failure, not a limit of the model;
* degree-``p`` attention is *not* a re-scaling of degree 2: for ``p ≥ 4`` the weights differ
  (the pattern sharpens), so the targets are genuinely different functions;
* the ledger's probe returns ``open`` with one of the rule's named patterns, every realizable control
  (p = 2, every depth, every width ≥ 2d) is reported, the function-space dimensions sit beside, and the numbers in
  its table are finite residuals in [0, ∞).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from theorem.claims.ledger import Profile, Verdict, find
from theorem.claims.t8_depth import PATTERN_WORDS, READINGS
from theorem.training.depth import _student, exact_one_layer, polynomial_attention


@given(st.integers(0, 10_000), st.integers(2, 4), st.integers(0, 3))
def test_one_quadratic_layer_realises_degree_two_attention_exactly(seed, d, extra):
    rng = np.random.default_rng(seed)
    n, width = 5, 2 * d + extra
    x = jnp.asarray(rng.standard_normal((n, d)))
    wq, wk, wv = (rng.standard_normal((d, d)) for _ in range(3))
    target = polynomial_attention(x, jnp.asarray(wq), jnp.asarray(wk), jnp.asarray(wv), 2)
    out = _student(exact_one_layer(wq, wk, wv, width), x)
    err = float(jnp.max(jnp.abs(out - target)) / jnp.max(jnp.abs(target)))
    note(f"relative error {err:.1e}")
    assert err < 1e-10


def test_the_construction_needs_width_2d():
    with pytest.raises(ValueError, match="width"):
        exact_one_layer(np.eye(3), np.eye(3), np.eye(3), 5)


@given(st.integers(0, 10_000), st.sampled_from([4, 8]))
def test_higher_degree_attention_is_a_different_function(seed, p):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((6, 3)))
    wq, wk, wv = (jnp.asarray(rng.standard_normal((3, 3))) for _ in range(3))
    o2 = polynomial_attention(x, wq, wk, wv, 2)
    op = polynomial_attention(x, wq, wk, wv, p)
    s = (x @ wq) @ (x @ wk).T / math.sqrt(3)
    # the weights ∝ s^p are the weights ∝ s² only when each row's |s| takes one nonzero value
    distinct = all(len(np.unique(np.round(np.abs(np.asarray(r)), 12))) > 1 for r in s)
    assert distinct
    assert float(jnp.max(jnp.abs(op - o2))) > 1e-6


@pytest.fixture(scope="module")
def probe_result():
    (reading,) = READINGS
    return reading.check("T8", Profile("quick"))


def test_the_ledger_probe_is_open_with_a_named_pattern(probe_result):
    assert probe_result.error is None, probe_result.error
    assert probe_result.outcome.verdict is Verdict.OPEN
    data = find(probe_result.evidence, "probe").data
    pattern = data["pattern"]["pattern"]
    assert pattern in PATTERN_WORDS and pattern in probe_result.outcome.because
    table = np.asarray(data["residual"], dtype=float)
    assert table.shape == (len(data["degrees"]), len(data["depths"]), len(data["widths"]))
    assert np.all(table >= 0)


def test_every_control_and_the_dimension_counts_are_reported(probe_result):
    data = find(probe_result.evidence, "probe").data
    controls = data["pattern"]["controls"]
    assert {(c["depth"], c["width"]) for c in controls} == {
        (L, w) for L in data["depths"] for w in data["widths"] if w >= 2 * data["d"]}
    assert (data["pattern"]["pattern"] == "optimizer-unreliable") == any(not c["fitted"] for c in controls)
    algebra = find(probe_result.evidence, "algebra.dimension")
    d = algebra.data["settings"]["d"]
    for row in algebra.data["rows"]:
        assert row["ok"] and row["saturated"] and row["rank"] <= row["parameters"]
        if "p" in row:
            assert row["rank"] == 2 * d * d - 1
    assert "exact-algebra probe" in probe_result.outcome.because
