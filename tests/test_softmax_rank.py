"""Unit tests of ``theorem.symbolic.softmax_rank``: exact rank of softmax attention.

* generic points give rank n (d = 1 included), repeated tokens give the number of distinct tokens,
  special weights give rank 1 with distinct tokens;
* with M = I the rank is the number of distinct tokens (Hypothesis over small integer tokens);
* the polynomial-rank routine agrees with SymPy's rank over ℚ(z);
* bad input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import random

import pytest
import sympy as sp
from hypothesis import example, given, note
from hypothesis import strategies as st
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from theorem.symbolic import softmax_rank as srk


# --------------------------------------------------------------------------------
# exact softmax certificates
# --------------------------------------------------------------------------------


def test_generic_certificates_hold():
    certs = srk.generic_full_rank_certificates()
    assert all(c.holds and c.rank == c.n for c in certs)
    assert any(c.d == 1 for c in certs)  # rank-one scores, full-rank attention


def test_repeated_and_special_certificates():
    for c in srk.repeated_token_certificates():
        assert c.rank == c.distinct_tokens < c.n
    spec = srk.special_weights_certificate(5)
    assert spec.rank == 1 and spec.distinct_tokens == 5
    assert srk.gaussian_kernel_identity().holds


@given(st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2)), min_size=1, max_size=5))
@example([(0, 0), (0, 0)])
def test_identity_weights_give_rank_equal_to_distinct_tokens(tokens):
    """With M = I (positive definite) the rank is exactly the number of distinct tokens."""
    cert = srk.certify_softmax_rank([list(t) for t in tokens], m=[[1, 0], [0, 1]])
    note(cert.detail)
    assert cert.certified and cert.rank == len(set(tokens))


def field_rank(e, z) -> int:
    """Rank over the rational function field ℚ(z), by SymPy's exact domain arithmetic."""
    dm = DomainMatrix.from_list_sympy(len(e), len(e[0]), [[z**v for v in row] for row in e])
    return dm.convert_to(QQ.frac_field(z)).rank()


def test_polynomial_rank_matches_sympy_on_monomial_matrices():
    z = sp.Symbol("z")
    rnd = random.Random(0)
    seen_exhaustive = 0
    for _ in range(300):
        e = [[rnd.randint(0, 2) for _ in range(4)] for _ in range(4)]
        e = [[v - min(r) for v in r] for r in e]
        lo, hi, points, exact = srk.polynomial_rank(e)
        assert exact
        truth = field_rank(e, z)
        assert lo == hi == truth, (e, lo, hi, truth)
        seen_exhaustive += len(points) > len(srk._POINTS)
    assert seen_exhaustive > 0  # the degree argument was exercised, not only the structural bound


def test_certificate_bad_input():
    with pytest.raises(ValueError, match="rational"):
        srk.certify_softmax_rank([[sp.sqrt(2)]], m=[[1]])
    with pytest.raises(ValueError, match="m"):
        srk.certify_softmax_rank([[1, 2]], m=[[1]])
    with pytest.raises(ValueError, match="either"):
        srk.certify_softmax_rank([[1]], m=[[1]], w_q=[[1]], w_k=[[1]])
