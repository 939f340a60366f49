"""pair_violation_rates (theorem.numeric.matching): the (a)/(b) reversal rates over the key pairs each query sees,
against a triple loop written here, causal and with a row mask; the non-causal rate is the one the realistic
rates always used (every (query, unordered key pair))."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from theorem.kernels import KERNELS
from theorem.numeric.matching import REL_TOL, pair_violation_rates
from theorem.util.precision import x64


def loop_rates(kern, q, k, causal, rows):
    """The rates by a triple loop; query i's weights computed on the keys it sees alone (``k[: i + 1]`` when
    causal), so a kernel whose weights depend on the visible set (CSQ's centering) is weighed as it attends.
    ``kern`` may also be an (n, n) array of weights written in the test (rows compared as they are)."""
    n = q.shape[0]
    s = q @ k.T / math.sqrt(q.shape[1])
    d2 = ((q[:, None, :] - k[None, :, :]) ** 2).sum(-1)
    a = b = pairs = 0
    for i in range(n):
        if not rows[i]:
            continue
        seen = range(i + 1) if causal else range(n)
        w = kern[i] if isinstance(kern, np.ndarray) else np.asarray(kern.weights(q[i : i + 1], k[: len(seen)]))[0]
        for j, m in itertools.combinations(seen, 2):
            pairs += 1
            for x, y in ((j, m), (m, j)):  # x is the better key by the reading, y gets more weight
                if w[x] < w[y] * (1 - REL_TOL):
                    a += s[i, x] > s[i, y]
                    b += d2[i, x] < d2[i, y]
    return a / pairs, b / pairs


@pytest.mark.parametrize("label", list(KERNELS))
@pytest.mark.parametrize("causal,masked", [(True, True), (True, False), (False, True), (False, False)])
def test_rates_match_a_triple_loop(label, causal, masked):
    rng = np.random.default_rng(7)
    q, k = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    rows = np.array([0, 1, 1, 0, 1, 1, 1], dtype=bool) if masked else np.ones(7, dtype=bool)
    kern = KERNELS[label]
    with x64():
        a, b = pair_violation_rates(kern, q, k, causal=causal, rows=rows if masked else None)
        want_a, want_b = loop_rates(kern, q, k, causal, rows)
    assert float(a) == pytest.approx(want_a, rel=1e-12, abs=1e-15)
    assert float(b) == pytest.approx(want_b, rel=1e-12, abs=1e-15)


def test_causal_csq_rates_use_the_centering_of_the_visible_keys():
    """The draw where attending causally and ranking with the all-keys centering disagree (csq-noshift): the
    rate counts the weights the causal head uses, not a rescaling of the non-causal ones."""
    rng = np.random.default_rng(7)
    q, k = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    rows = np.array([0, 1, 1, 0, 1, 1, 1], dtype=bool)
    kern = KERNELS["csq-noshift"]
    with x64():
        causal = pair_violation_rates(kern, q, k, causal=True, rows=rows)
        want = loop_rates(kern, q, k, True, rows)
        # the former computation: every key's centering, the causal pairs counted
        w_all = np.asarray(kern.weights(q, k))
    s = q @ k.T / math.sqrt(3)
    vis = np.tril(np.ones((7, 7), dtype=bool)) & rows[:, None]
    rev = (w_all[:, :, None] < w_all[:, None, :] * (1 - REL_TOL)) & vis[:, :, None] & vis[:, None, :]
    seen = vis.sum(axis=1)
    former = float(np.sum((s[:, :, None] > s[:, None, :]) & rev) / np.sum(seen * (seen - 1) / 2))
    assert float(causal[0]) == pytest.approx(want[0], rel=1e-12)
    assert former != pytest.approx(want[0], rel=1e-3)  # so the test would have caught it


def test_softmax_has_no_dot_product_reversals_over_visible_pairs():
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    with x64():
        a, b = pair_violation_rates(KERNELS["softmax"], q, k, causal=True)
    w = np.exp(q @ k.T / 2.0)
    assert float(a) == 0.0 and float(b) == pytest.approx(loop_rates(w, q, k, True, np.ones(6, bool))[1], rel=1e-12)
