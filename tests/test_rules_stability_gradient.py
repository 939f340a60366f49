"""T6.stab.grad's rule driven, on synthetic evidence found by key, to each verdict it can return.

The synthetic gradients follow the laws the reading measures: poly2's query–key gradient grows as 1/α when
the scores shrink by α² (a homogeneous, singular kernel), CSQ's shrinks as α·C (its shift c > 0 keeps it
analytic at 0).  The normalizer floor is centered CSQ's Σ_j (S̃_ij + c)² ≥ n c².
"""

from __future__ import annotations

from theorem.claims import t6_stability as t6
from theorem.claims.ledger import Evidence, Verdict

ALPHAS = [1.0, 1e-1, 1e-2, 1e-3]
N = 6


def gradient(kernel: str, law, singular: bool, errors=None) -> Evidence:
    measured = [law(a) for a in ALPHAS]
    data = {"kernel": kernel, "singular": singular, "alphas": ALPHAS, "measured": measured, "predicted": measured,
            "relative_error": errors if errors is not None else [1e-13] * len(ALPHAS), "kind": "gradient"}
    return Evidence("numeric", f"{kernel}: synthetic", None, data, key=f"gradient.{kernel}", measured=measured,
                    predicted=measured)


def normalizer(minimum: float) -> Evidence:
    return Evidence("numeric", "synthetic normalizer", None, {"kind": "normalizer", "n": N}, key="normalizer",
                    measured=minimum, predicted=float(N))


def poly2(errors=None):
    return gradient("poly2", lambda a: 2.0 / a, True, errors)


def csq(law=lambda a: 3.0 * a, singular=False):
    # an expansion αC + O(α³) is off by O(α²) relatively; a homogeneous (singular) law is exact to round-off
    return gradient(t6.CENTERED, law, singular, [1e-13] * 4 if singular else [1e-3, 1e-5, 1e-7, 1e-9])


def test_csq_bounded_and_the_floor_met_holds():
    out = t6.rule_gradient([poly2(), csq(), normalizer(float(N))])
    assert out.verdict is Verdict.HOLDS
    assert "1e+03×" in out.because  # poly2 grows by 1/α = 1000 at α = 1e-3 (rendered from the numbers)


def test_csq_bounded_but_the_floor_missed_holds_with_conditions():
    out = t6.rule_gradient([poly2(), csq(), normalizer(N * 0.5)])
    assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and "<" in out.because


def test_csq_growing_as_the_scores_shrink_fails():
    out = t6.rule_gradient([poly2(), csq(law=lambda a: 3.0 / a ** 0.5), normalizer(float(N))])
    assert out.verdict is Verdict.FAILS and "does not stay bounded" in out.because


def test_a_singular_csq_fails_however_small_its_ratio():
    out = t6.rule_gradient([poly2(), csq(singular=True), normalizer(float(N))])
    assert out.verdict is Verdict.FAILS


def test_a_gradient_off_its_closed_form_leaves_it_open():
    off = poly2(errors=[1e-13, 1e-13, 1e-13, 1e-6])  # a homogeneous law must hold to round-off: 1e-6 is not
    out = t6.rule_gradient([off, csq(), normalizer(float(N))])
    assert out.verdict is Verdict.OPEN and "poly2" in out.because


def test_an_expansion_error_above_its_tolerance_leaves_it_open():
    far = gradient(t6.CENTERED, lambda a: 3.0 * a, False, [1e-3, 1e-4, 1e-4, 2 * t6.EXPANSION_TOL])
    out = t6.rule_gradient([poly2(), far, normalizer(float(N))])
    assert out.verdict is Verdict.OPEN


def test_a_missing_kernel_leaves_it_open():
    out = t6.rule_gradient([csq(), normalizer(float(N))])
    assert out.verdict is Verdict.OPEN and "not measured" in out.because
