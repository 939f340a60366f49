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


def loop_rates(w, q, k, causal, rows):
    n = q.shape[0]
    s = q @ k.T / math.sqrt(q.shape[1])
    d2 = ((q[:, None, :] - k[None, :, :]) ** 2).sum(-1)
    a = b = pairs = 0
    for i in range(n):
        if not rows[i]:
            continue
        seen = range(i + 1) if causal else range(n)
        for j, m in itertools.combinations(seen, 2):
            pairs += 1
            for x, y in ((j, m), (m, j)):  # x is the better key by the reading, y gets more weight
                if w[i, x] < w[i, y] * (1 - REL_TOL):
                    a += s[i, x] > s[i, y]
                    b += d2[i, x] < d2[i, y]
    return a / pairs, b / pairs


@pytest.mark.parametrize("label,causal,masked", [("linear", True, True), ("linear", False, True),
                                                 ("linear", False, False)])
def test_rates_match_a_triple_loop(label, causal, masked):
    rng = np.random.default_rng(7)
    q, k = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    rows = np.array([0, 1, 1, 0, 1, 1, 1], dtype=bool) if masked else np.ones(7, dtype=bool)
    kern = KERNELS[label]
    with x64():
        w = np.asarray(kern.weights(q, k))
        a, b = pair_violation_rates(kern, q, k, causal=causal, rows=rows if masked else None)
    want_a, want_b = loop_rates(w, q, k, causal, rows)
    assert want_a > 0  # the draw has reversals: the test sees them counted
    assert float(a) == pytest.approx(want_a, rel=1e-12) and float(b) == pytest.approx(want_b, rel=1e-12)


def test_softmax_has_no_dot_product_reversals_over_visible_pairs():
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    with x64():
        a, b = pair_violation_rates(KERNELS["softmax"], q, k, causal=True)
    w = np.exp(q @ k.T / 2.0)
    assert float(a) == 0.0 and float(b) == pytest.approx(loop_rates(w, q, k, True, np.ones(6, bool))[1], rel=1e-12)
