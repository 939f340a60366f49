"""The output map's predicted dimension ``min(w, n'·p)`` (and its certificate) against an independent oracle.

The oracle is written here, from the definition only: ``O(θ) = A(S(θ)) X W_V`` evaluated in dual numbers
``a + b·ε`` (``ε² = 0``), one direction ``e_k`` of θ at a time, so column ``k`` of the Jacobian is the ``ε``
part — exact in ``Fraction`` for poly2 (its weights are rational), 100 digits in ``mpmath`` for softmax (exp).
The rank is then the exact rank by elimination over Fraction (poly2) or the count of singular values above ``10⁻⁴⁰·σ₁`` at 100
digits (softmax: the zero ones are below ``10⁻⁹⁰``).  Heads are small rationals (quarters), d = 4, n = 6,
d_v = 1, 2: the case ``rank(X W_V) < rank X`` that used to have no closed form.
"""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theorem.cli import main
from theorem.kernels import get_kernel
from theorem.numeric.check_head import check_head
from theorem.numeric.head import Head
from theorem.numeric.output_certificate import certify_output
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.symbolic.output_rank import evaluate_output_bound

mpmath.mp.dps = 60


class Dual:
    """``a + b·ε`` with ``ε² = 0`` over Fraction or mpf."""

    def __init__(self, a, b=0):
        self.a, self.b = a, b

    def __add__(self, o):
        o = o if isinstance(o, Dual) else Dual(o)
        return Dual(self.a + o.a, self.b + o.b)

    __radd__ = __add__

    def __sub__(self, o):
        o = o if isinstance(o, Dual) else Dual(o)
        return Dual(self.a - o.a, self.b - o.b)

    def __mul__(self, o):
        o = o if isinstance(o, Dual) else Dual(o)
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = o if isinstance(o, Dual) else Dual(o)
        return Dual(self.a / o.a, (self.b * o.a - self.a * o.b) / (o.a * o.a))

    def exp(self):
        e = mpmath.exp(self.a)
        return Dual(e, self.b * e)


def _oracle_rank(kernel: str, x, m=None, wq=None, wk=None, wv=None) -> int:
    """Rank of ∂ vec(A(S) X W_V)/∂θ at the head, by dual numbers (see the module docstring)."""
    exact = kernel == "poly2"
    conv = (lambda v: Fraction(v)) if exact else (lambda v: mpmath.mpf(float(v)))  # noqa: E731
    x = [[conv(v) for v in row] for row in x]
    n, d = len(x), len(x[0])
    theta0 = [conv(v) for v in (np.ravel(m) if m is not None else np.concatenate([np.ravel(wq), np.ravel(wk)]))]
    dk = d if m is not None else np.shape(wq)[1]
    wv = [[conv(v) for v in row] for row in wv]
    scale = mpmath.sqrt(dk)
    cols = []
    for k in range(len(theta0)):
        th = [Dual(v, 1 if i == k else 0) for i, v in enumerate(theta0)]
        if m is not None:
            mm = [th[a * d:(a + 1) * d] for a in range(d)]
            s = [[sum((x[i][a] * mm[a][c] * x[j][c] for a in range(d) for c in range(d)), Dual(0)) for j in range(n)]
                 for i in range(n)]
        else:
            q = [[sum((x[i][a] * th[a * dk + c] for a in range(d)), Dual(0)) for c in range(dk)] for i in range(n)]
            kk = [[sum((x[i][a] * th[d * dk + a * dk + c] for a in range(d)), Dual(0)) for c in range(dk)]
                  for i in range(n)]
            s = [[sum((q[i][c] * kk[j][c] for c in range(dk)), Dual(0)) for j in range(n)] for i in range(n)]
        if exact:  # poly2 is scale invariant: the 1/√d_k does not change A
            t = [[v * v for v in row] for row in s]
        else:
            t = [[(v / scale).exp() for v in row] for row in s]
        a = [[v / sum(row[1:], row[0]) for v in row] for row in t]
        xv = [[sum((x[j][c] * wv[c][b] for c in range(d)), 0) for b in range(len(wv[0]))] for j in range(n)]
        out = [sum((a[i][j] * xv[j][b] for j in range(n)), Dual(0)).b for i in range(n) for b in range(len(xv[0]))]
        cols.append(out)
    if exact:
        return _fraction_rank(cols)
    sv = mpmath.svd_r(mpmath.matrix(cols).T, compute_uv=False)
    top = max(sv)
    return sum(1 for v in sv if v > top * mpmath.mpf(10) ** -25)


def _fraction_rank(rows) -> int:
    """Exact rank by Gaussian elimination over Fraction."""
    rows = [list(r) for r in rows]
    rank, width = 0, len(rows[0]) if rows else 0
    for c in range(width):
        piv = next((i for i in range(rank, len(rows)) if rows[i][c] != 0), None)
        if piv is None:
            continue
        rows[rank], rows[piv] = rows[piv], rows[rank]
        for i in range(rank + 1, len(rows)):
            f = rows[i][c] / rows[rank][c]
            if f:
                rows[i] = [u - f * v for u, v in zip(rows[i], rows[rank])]
        rank += 1
    return rank


CASES = [  # (kernel, d_k (None: the M form), d_v, tokens)
    ("softmax", None, 1, "generic"), ("softmax", None, 2, "generic"), ("softmax", None, 1, "repeated"),
    ("softmax", None, 2, "ones_in_col"), ("softmax", 1, 1, "generic"), ("softmax", 2, 2, "generic"),
    ("softmax", 2, 1, "repeated"),
    ("poly2", None, 1, "generic"), ("poly2", None, 2, "repeated"), ("poly2", 1, 2, "generic"),
    ("poly2", 2, 1, "generic"), ("poly2", 2, 2, "generic"),
]


def _quarters(rng, shape, lo=-4, hi=4):
    return rng.integers(lo, hi + 1, size=shape) / 4.0


def _head(dk, dv, tokens, seed=3):
    """A head of quarters, n = 6, d = 4; the first seed from ``seed`` at which no score is 0 (poly2 would have
    a zero weight there, outside the closed form's conditions)."""
    n, d = 6, 4
    for s in range(seed, seed + 100):
        rng = np.random.default_rng(s)
        x = _quarters(rng, (n, d))
        if tokens == "repeated":
            x[3] = x[0]
            x[5] = x[1]
        elif tokens == "ones_in_col":
            x[:, 0] = 1.0
        wv = _quarters(rng, (d, dv))
        if dk is None:
            head = Head(x, _quarters(rng, (d, d)), np.eye(d), w_v=wv, form="M")
        else:
            head = Head(x, _quarters(rng, (d, dk)), _quarters(rng, (d, dk)), w_v=wv)
        if np.all((x @ head.w_q) @ (x @ head.w_k).T != 0):
            return head
    raise AssertionError("no head without a zero score")


@pytest.mark.parametrize("kernel,dk,dv,tokens", CASES)
def test_output_prediction_equals_the_oracle_rank(kernel, dk, dv, tokens):
    head = _head(dk, dv, tokens)
    problem = PullbackProblem.from_head(head, get_kernel(kernel), "output")
    pred = predict_rank(problem)
    if dk is None:
        want = _oracle_rank(kernel, head.x, m=head.w_q, wv=head.w_v)
    else:
        want = _oracle_rank(kernel, head.x, wq=head.w_q, wk=head.w_k, wv=head.w_v)
    assert pred.rank is not None
    assert not pred.violations, pred.violations
    assert pred.rank == want, (pred.formula, pred.invariants)
    assert any("certified exactly" in c for c in pred.conditions), pred.invariants.get("certificate")


@pytest.mark.parametrize("kernel,dk,dv,tokens", [("softmax", None, 1, "generic"), ("poly2", 1, 2, "generic")])
def test_the_float64_measurement_agrees(kernel, dk, dv, tokens):
    head = _head(dk, dv, tokens)
    problem = PullbackProblem.from_head(head, get_kernel(kernel), "output")
    meas = measure_rank(problem).rank
    assert meas.status == "ok" and meas.rank == predict_rank(problem).rank


def test_factorized_poly2_with_dk_1_falls_below_the_bound_and_the_certificate_says_so():
    # every row of A is k²/‖k‖² when d_k = 1: the output has min(w, p) dimensions, not min(w, n'·p)
    head = _head(1, 2, "generic")
    cert = certify_output(head.x, get_kernel("poly2"), head.w_v, w_q=head.w_q, w_k=head.w_k)
    assert cert.rank == _oracle_rank("poly2", head.x, wq=head.w_q, wk=head.w_k, wv=head.w_v) == 2
    assert cert.bound == min(3, 6 * 2) == 3


def test_softmax_certificate_meets_the_bound_with_repeated_tokens():
    head = _head(None, 1, "repeated")  # 4 distinct tokens of 6: the bound is n'·p = 4, not n·p = 6
    cert = certify_output(head.x, get_kernel("softmax"), head.w_v, m=head.w_q)
    assert cert.n_distinct == 4 and cert.p == 1
    assert cert.rank == cert.bound == 4


def test_too_large_an_input_is_reported_not_certified():
    head = _head(None, 1, "generic")
    cert = certify_output(head.x, get_kernel("softmax"), head.w_v, m=head.w_q, max_entries=10)
    assert cert.rank is None and "not certified" in cert.method


def test_csq_at_a_non_square_dk_is_reported_not_certified_and_still_predicted():
    # d = 3: √d_k is irrational, so CSQ's output Jacobian has no rational form (it used to crash here)
    x = np.random.default_rng(0).standard_normal((6, 3))
    problem = PullbackProblem(x, get_kernel("csq"), "output", None, None, 0)
    cert = certify_output(x, get_kernel("csq"), problem.fixed_parameters()["W_V"], m=problem.fixed_parameters()["M"])
    assert cert.rank is None and "not certified" in cert.method and cert.bound == 9
    assert predict_rank(problem).rank == measure_rank(problem).rank.rank == 9


@pytest.mark.parametrize("w,nd,p,want", [(16, 6, 1, 6), (16, 6, 2, 12), (16, 6, 3, 16), (12, 4, 4, 12), (0, 3, 1, 0)])
def test_output_bound_is_the_minimum(w, nd, p, want):
    assert evaluate_output_bound(w, nd, p) == want


@pytest.mark.parametrize("bad", [-1, True])
def test_output_bound_rejects_non_integers(bad):
    with pytest.raises(ValueError):
        evaluate_output_bound(bad, 3, 1)


@pytest.mark.parametrize("dv,want", [(1, 6), (2, 12)])
def test_cli_gives_the_output_rank_for_narrow_values(dv, want, capsys):
    # d2check rank: generic tokens n = 6 > d = 4, d_v < rank X: min(w, n'·p) = min(16, 6·d_v)
    code = main(["rank", "--n", "6", "--d", "4", "--map", "output", "--dv", str(dv), "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert code == 0 and obj["status"] == "ok"
    assert obj["measured_rank"] == obj["predicted_rank"] == want
    assert obj["invariants"]["certificate"]["rank"] == want


def test_check_head_predicts_a_one_column_output():
    rng = np.random.default_rng(0)
    x, wq, wk = rng.standard_normal((6, 4)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    out = check_head(x, wq, wk, w_v=rng.standard_normal((4, 1)))["output"]
    assert (out.measured, out.predicted, out.status) == (6, 6, "ok")
