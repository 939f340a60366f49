"""T2 — the n² illusion: "O(n²) is not intrinsic; it is an artefact of softmax normalization".

Lemmas checked:

* (a) every finite-feature kernel (linear, poly2, all CSQ variants) has exact rank ≤ D at every
  n, equal to its closed form on the inputs Hypothesis draws, and the O(n·D·d_v) factorized
  algorithm reproduces the quadratic output;
* (b) the verdict follows the ε-rank evidence: holds-with-conditions when small B saturates and
  large B grows, open when the measurements do not show that split;
* (c) row normalization never changes the rank (A = D⁻¹T), on every kernel: the ledger's
  counterexample (normalized poly2 of rank ≤ D, unnormalized exp of rank n) replays;
* each reading returns a verdict without error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from theorem.claims import t2_illusion as t2
from theorem.claims.ledger import Evidence, Profile, Verdict, find
from theorem.numeric import attention_rank as ar
from theorem.numeric.rank import numerical_rank

QUICK = Profile("quick")
KERNELS = t2.FINITE_KERNELS


@pytest.fixture(scope="module")
def results():
    return {r.id: r.check("T2", QUICK) for r in t2.READINGS}


def test_every_reading_returns_a_verdict(results):
    for rid, res in results.items():
        assert res.error is None, (rid, res.error)
    assert results["T2.a"].verdict == "holds-with-conditions"
    assert results["T2.c"].verdict == "fails"


@given(st.integers(1, 120), st.integers(2, 8), st.integers(1, 6), st.sampled_from(range(len(KERNELS))),
       st.integers(0, 1000))
def test_finite_kernels_have_rank_at_most_D_at_every_n(n, d, dk, kidx, seed):
    kernel = KERNELS[kidx]
    dk = min(dk, d)
    head = ar.Head.draw(ar.degenerate_tokens("gaussian", n, d, seed), dk, seed=seed)
    assume(ar.undefined_rows(kernel, head).size == 0)  # A defined (no row of T sums to 0)
    meas = ar.measured_rank(kernel, head)
    note(f"{ar.kernel_label(kernel)} n={n} d={d} dk={dk}: {meas.summary()}")
    assert meas.rank <= ar.upper_bound(kernel, n, dk) <= ar.lift_width(kernel, dk)
    assert meas.rank == ar.generic_rank(kernel, n, d, dk)
    v = np.random.default_rng(seed).standard_normal((n, 2))
    exact = ar.attention_matrix(kernel, head) @ v
    np.testing.assert_allclose(ar.factorized_output(kernel, head, None, v), exact, rtol=1e-9,
                               atol=1e-12 * np.abs(exact).max())


def test_rule_b_follows_the_measurements():
    def ev(sat, grow):
        return [Evidence("numeric", "", None, {"saturating": sat, "growing": grow}, key="sweep.growth"),
                Evidence("numeric", "", key="scope")]

    assert t2.rule_b(ev([0.5], [8.0])).verdict is Verdict.HOLDS_WITH_CONDITIONS
    assert t2.rule_b(ev([], [0.5, 8.0])).verdict is Verdict.OPEN  # no saturation seen: rests on literature alone
    assert t2.rule_b(ev([8.0], [0.5])).verdict is Verdict.OPEN  # an inverted split contradicts the literature


def test_reading_b_verdict_and_scope(results):
    res = results["T2.b"]
    assert res.verdict == "holds-with-conditions"
    kinds = [e.kind for e in res.evidence]
    assert kinds.count("literature") == 3  # Keles et al. 2022, Alman & Song 2023, Gupta et al. 2025
    assert find(res.evidence, "literature.keles2022").supports is None
    assert find(res.evidence, "record.eps_rank_sweep").supports is None  # the committed sweep is context


@pytest.mark.parametrize("kernel", ar.RANK_KERNELS, ids=[ar.kernel_label(k) for k in ar.RANK_KERNELS])
def test_normalization_preserves_rank(kernel):
    head = ar.Head.draw(ar.degenerate_tokens("gaussian", 24, 5, 1), 3, seed=2)
    t = ar.unnormalized_matrix(kernel, head)
    a = ar.attention_matrix(kernel, head)
    d = t.sum(axis=1)
    np.testing.assert_allclose(a * d[:, None], t, rtol=1e-10)  # A = D⁻¹T exactly
    if kernel.name != "softmax":
        assert numerical_rank(t).rank == numerical_rank(a).rank


def test_reading_c_counterexample(results):
    cex = results["T2.c"].outcome.counterexample
    row = cex["normalized poly2"]
    assert row["rank_T"] == row["rank_A"] <= ar.lift_width("poly2", 3)


def test_rule_c_is_open_when_normalization_changes_a_rank():
    ev = [Evidence("numeric", "", True, {"rows": []}, key="panel.normalization"),
          Evidence("symbolic", "", False, key="certificates.unnormalized_exp"),
          Evidence("symbolic", "", False, key="cost.normalization")]
    assert t2.rule_c(ev).verdict is Verdict.OPEN


def test_every_evidence_item_has_a_unique_key(results):
    for rid, res in results.items():
        keys = [e.key for e in res.evidence]
        assert all(keys) and len(set(keys)) == len(keys), (rid, keys)
