"""Meta-tests of the Hypothesis helpers: the strategies draw what they promise, and every token
family has the defining property its name claims (checked here from first principles, with NumPy).

A strategy that silently drew less than it says (only n ≤ d, never a LayerNorm, a kind that is
Gaussian in disguise) would make every property test that uses it weaker without failing.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theorem.strategies import KINDS, SCALES, TokenSpec, pullback_configs, token_specs
from theorem.util.tokens import FAMILIES, make_tokens


def _rank(x: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(x))


def _ones_in_column_space(x: np.ndarray) -> bool:
    ones = np.ones(x.shape[0])
    coef, *_ = np.linalg.lstsq(x, ones, rcond=None)
    return bool(np.linalg.norm(x @ coef - ones) < 1e-8 * np.sqrt(x.shape[0]))


@given(token_specs(max_n=7, max_d=4))
def test_token_specs_respect_their_bounds(spec):
    assert 1 <= spec.n <= 7 and 1 <= spec.d <= 4
    assert spec.kind in KINDS and spec.scale in SCALES


@given(token_specs())
def test_a_spec_rebuilds_the_same_finite_float64_matrix(spec):
    x, y = spec.build(), spec.build()
    assert x.shape == (spec.n, spec.d) and x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert np.array_equal(x, y)


@given(token_specs(kinds=("gaussian",), scales=(1.0,)), st.sampled_from([1e-3, 30.0]))
def test_scale_multiplies_the_matrix(spec, scale):
    scaled = TokenSpec(spec.n, spec.d, spec.kind, spec.seed, scale).build()
    np.testing.assert_allclose(scaled, scale * spec.build(), rtol=1e-15, atol=0)


def test_token_specs_reach_every_kind_and_both_sides_of_n_equals_d():
    seen: dict = {"kinds": set(), "sides": set()}

    # a coverage statement needs a sample of known size: at least 300 draws, more under the deep profile
    @settings(max_examples=max(300, settings.default.max_examples), derandomize=True, database=None)
    @given(token_specs())
    def collect(spec):
        seen["kinds"].add(spec.kind)
        seen["sides"].add("n<d" if spec.n < spec.d else "n>d" if spec.n > spec.d else "n=d")

    collect()
    assert seen["kinds"] == set(KINDS)
    assert seen["sides"] == {"n<d", "n=d", "n>d"}


@given(pullback_configs())
def test_pullback_configs_draw_valid_heads(cfg):
    spec, kernel, params, mp, dk = cfg
    assert kernel in ("softmax", "poly2", "csq")
    assert mp in ("scores", "weights", "output")
    assert dk is None or 1 <= dk <= spec.d
    assert kernel == "csq" or params == {}


# --- every family is what its name says --------------------------------------------------------
SHAPES = [(9, 4), (12, 3), (6, 5)]


@pytest.mark.parametrize("n,d", SHAPES)
def test_low_rank_tokens_lose_one_dimension(n, d):
    assert _rank(make_tokens("low_rank", n, d, seed=1)) == min(n, d) - 1


@pytest.mark.parametrize("n,d", SHAPES)
def test_layernorm_rows_are_centred_with_unit_rms_up_to_epsilon(n, d):
    x = make_tokens("layernorm", n, d, seed=2)
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-14)
    rms = np.sqrt((x**2).mean(axis=1))
    assert np.all(rms < 1.0) and np.all(rms > 0.99)  # divided by √(mean z² + 1e-5), not √(mean z²)
    assert _rank(x) <= d - 1  # the rows lie in the hyperplane ⟂ 1_d


@pytest.mark.parametrize("n,d", [(9, 4), (12, 3)])
def test_layernorm_with_affine_puts_the_ones_vector_in_col_x(n, d):
    # X = Z diag(γ) + 1 βᵀ with Z 1 = 0, so X diag(γ)⁻¹ 1 = (βᵀ diag(γ)⁻¹ 1)·1
    x = make_tokens("layernorm_affine", n, d, seed=3)
    assert _ones_in_column_space(x)
    assert _rank(x) == d


@pytest.mark.parametrize("n,d", SHAPES)
def test_offset_tokens_share_one_offset(n, d):
    x = make_tokens("offset", n, d, seed=4)
    assert _ones_in_column_space(x)


@pytest.mark.parametrize("n,d", SHAPES)
def test_gaussian_tokens_are_generic(n, d):
    x = make_tokens("gaussian", n, d, seed=5)
    assert _rank(x) == min(n, d)
    assert n <= d or not _ones_in_column_space(x)


def test_integer_tokens_are_small_integers():
    x = make_tokens("integer", 20, 4, seed=6)
    assert np.array_equal(x, np.round(x)) and x.min() >= -2 and x.max() <= 2


def test_repeated_tokens_repeat_some_rows():
    # over seeds, most draws repeat at least one token (each row is replaced with probability 0.4)
    repeats = [len(np.unique(make_tokens("repeated", 8, 3, seed=s), axis=0)) < 8 for s in range(20)]
    assert sum(repeats) >= 15


def test_every_family_builds_its_shape():
    for family in FAMILIES:
        x = make_tokens(family, 8, 3, seed=0)
        assert x.shape == (8, 3) and np.all(np.isfinite(x)), family
