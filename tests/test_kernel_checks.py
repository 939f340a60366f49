"""theorem.numeric.kernel_checks: the battery on the built-in kernels against the ledger's closed forms
(written out here), and on user kernels — one that supplies only its weight function, one whose code
cannot be traced, and a Hedgehog-style exp-feature kernel with its feature map (docs/kernels.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theorem.kernels import Kernel, get_kernel
from theorem.kernels.base import mask_zero
from theorem.numeric.kernel_checks import CHECKS, check_kernel, run_check
from theorem.numeric.kernel_checks.battery import CONTRAST_LEVEL, EPS_DK, PULLBACK_SHAPE
from theorem.numeric.kernel_checks.testing import parametrize_with_checks

N, D = PULLBACK_SHAPE


@dataclass(frozen=True)
class Softplus(Kernel):
    """A user score kernel that supplies only its weight function: T = softplus(S)."""

    name: str = field(init=False, default="softplus")

    def unnormalized(self, scores, causal=False):
        return mask_zero(jax.nn.softplus(jnp.asarray(scores)), causal)


@dataclass(frozen=True)
class Opaque(Kernel):
    """A weight function JAX cannot differentiate or trace (it leaves JAX through NumPy)."""

    name: str = field(init=False, default="opaque")

    def unnormalized(self, scores, causal=False):
        return jnp.asarray(np.exp(np.asarray(scores)))


@dataclass(frozen=True)
class HedgehogExp(Kernel):
    """Hedgehog-style exp features (Zhang et al. 2024) with a fixed map W = I: φ(x) = [exp(x/s), exp(−x/s)],
    s = d_k^{1/4}; T = φ(q)·φ(k) (the worked example of docs/kernels.md)."""

    name: str = field(init=False, default="hedgehog-exp")
    is_score_kernel: bool = field(init=False, default=False)

    @staticmethod
    def phi(x):
        x = jnp.asarray(x) / x.shape[-1] ** 0.25
        return jnp.concatenate([jnp.exp(x), jnp.exp(-x)], axis=-1)

    def unnormalized_qk(self, q, k, causal=False):
        return mask_zero(self.phi(q) @ jnp.swapaxes(self.phi(k), -1, -2), causal)

    def features(self, q, k):
        return self.phi(q), self.phi(k)

    def feature_dim(self, dk):
        return 2 * dk


# --- built-in kernels: the ledger's closed forms --------------------------------------------------
def softmax_gap(n):  # log(n − 1)
    return math.log(n - 1)


def poly2_gap(n, level=CONTRAST_LEVEL):  # √(n−1)|L| − L
    return math.sqrt(n - 1) * abs(level) - level


def csq_gap(n, c=1.0):  # n c (√(n−1) − 1)/(n − 1 + √(n−1))
    m = math.sqrt(n - 1)
    return n * c * (m - 1) / (n - 1 + m)


def linear_gap(n, level=CONTRAST_LEVEL):  # (n − 2)(1 + L) for L ≥ 0, scalar model
    return (n - 2) * (1 + level)


@pytest.fixture(scope="module")
def softmax_results():
    return check_kernel("softmax")


@pytest.fixture(scope="module")
def poly2_results():
    return check_kernel("poly2")


def test_softmax_battery(softmax_results):
    r = softmax_results
    assert list(r) == list(CHECKS)
    assert r["pullback_dimension"].numbers["measured"] == D * D and r["pullback_dimension"].holds  # 1 ∉ col X
    assert r["monotonicity"].holds is True and r["euclidean_matching"].holds is False
    for row in r["contrast"].numbers["rows"]:
        assert row["gap"] == pytest.approx(softmax_gap(row["n"]), rel=1e-9)
    assert r["contrast"].holds is True and r["eps_rank_growth"].holds is True
    assert r["linear_time"].status == "not-available" and r["linear_equals_quadratic"].status == "not-available"


def test_poly2_battery(poly2_results):
    r = poly2_results
    m_x = 1  # generic rows, n > d: one matroid component
    assert r["pullback_dimension"].numbers["measured"] == D * D - m_x and r["pullback_dimension"].holds is False
    assert r["monotonicity"].holds is False and r["euclidean_matching"].holds is False
    for row in r["contrast"].numbers["rows"]:
        assert row["gap"] == pytest.approx(poly2_gap(row["n"]), rel=1e-9)
    sym2 = EPS_DK * (EPS_DK + 1) // 2
    assert set(r["eps_rank_growth"].numbers["ranks"].values()) == {sym2} and r["eps_rank_growth"].holds is False
    assert r["linear_time"].numbers["feature_dim"] == sym2
    assert r["linear_equals_quadratic"].status == "ok" and r["linear_equals_quadratic"].holds


@pytest.mark.parametrize("name,gap,width", [("csq", csq_gap, EPS_DK * (EPS_DK + 1) // 2 + EPS_DK + 1),
                                            ("linear", linear_gap, EPS_DK)])
def test_feature_kernels(name, gap, width):
    r = check_kernel(name, ("contrast", "eps_rank_growth", "linear_time", "linear_equals_quadratic"))
    for row in r["contrast"].numbers["rows"]:
        assert row["gap"] == pytest.approx(gap(row["n"]), rel=1e-9)
    assert r["contrast"].holds is False
    assert max(r["eps_rank_growth"].numbers["ranks"].values()) == width
    assert r["linear_time"].numbers["feature_dim"] == width and r["linear_equals_quadratic"].holds


# --- user kernels -----------------------------------------------------------------------------
def test_weight_function_only_reports_what_is_unavailable_without_raising():
    r = check_kernel(Softplus())
    assert r["pullback_dimension"].status == "ok"
    assert r["pullback_dimension"].numbers["predicted"] is None  # no null direction: no closed form
    assert "not available" in r["pullback_dimension"].numbers["formula"]
    assert r["pullback_dimension"].numbers["measured"] <= r["pullback_dimension"].numbers["bound"]
    assert r["monotonicity"].holds is True  # softplus increases: no search can find a reversal
    for name in ("linear_time", "linear_equals_quadratic"):
        assert r[name].status == "not-available" and r[name].holds is None
    # oracle for the contrast: softplus(1 + Δ) = (n − 1)·softplus(1), solved in closed form
    for row in r["contrast"].numbers["rows"]:
        target = (row["n"] - 1) * math.log1p(math.e)
        inverse = target + math.log(-math.expm1(-target))  # softplus⁻¹(y) = log(eʸ − 1)
        assert row["gap"] == pytest.approx(inverse - 1.0, rel=1e-9)


def test_untraceable_kernel_code_is_an_error_result_not_a_raise():
    res = run_check(Opaque(), "pullback_dimension")
    assert res.status == "error" and res.holds is None and res.numbers["exception"]


def test_hedgehog_feature_map_is_exact_and_linear_time():
    r = check_kernel(HedgehogExp(), ("pullback_dimension", "eps_rank_growth", "linear_time", "linear_equals_quadratic"))
    dim = r["pullback_dimension"].numbers
    assert r["pullback_dimension"].status == "ok" and dim["predicted"] is None
    assert dim["measured"] <= dim["bound"] == 2 * D * D  # factorized, d_k = d: 2·d·d_k parameters
    assert r["linear_time"].numbers["feature_dim"] == 2 * EPS_DK
    assert r["linear_equals_quadratic"].numbers["lift_rel_error"] <= 1e-12
    assert max(r["eps_rank_growth"].numbers["ranks"].values()) <= 2 * EPS_DK


def test_a_wrong_feature_map_is_inconsistent():
    @dataclass(frozen=True)
    class Wrong(HedgehogExp):
        def features(self, q, k):
            return self.phi(q), self.phi(k) * 1.01

    assert run_check(Wrong(), "linear_equals_quadratic").status == "inconsistent"


def test_unknown_check_is_named():
    with pytest.raises(ValueError, match="nonsense"):
        check_kernel("softmax", ("nonsense",))


# --- the pytest helper, as a kernel author uses it ---------------------------------------------
@parametrize_with_checks([HedgehogExp()], checks=("linear_time", "linear_equals_quadratic", "monotonicity"),
                         expected={"linear_time": True, "linear_equals_quadratic": True})
def test_battery_in_a_kernel_authors_suite(kernel, check):
    check(kernel)


@parametrize_with_checks([get_kernel("softmax")], checks=("linear_time",))
def test_helper_skips_what_is_not_available(kernel, check):
    check(kernel)  # skipped with the reason: softmax supplies no feature map
