"""Unit tests of ``theorem.symbolic``: the derivations hold, their checks can fail, the
closed forms evaluate as computed by hand and agree with exact Jacobian ranks."""

from __future__ import annotations

import dataclasses
import random

import pytest
import sympy as sp
from sympy.matrices import kronecker_product

from theorem.symbolic import (
    Derivation,
    all_derivations,
    ambient_dimension,
    available_formulas,
    backward_pullback,
    check_factorized_components,
    check_forward_jacobian,
    check_pullback_components,
    check_row_jacobian,
    evaluate,
    exact_invariants,
    factorized_gradients,
    formula,
    forward_jacobian_kronecker,
    kronecker_rank_examples,
    general_identity,
    latex_table,
    paper_claimed_dimension,
    poly2_row,
    poly2_row_jacobian,
    prove_kronecker_rank_formula,
    softmax_jacobian,
    softmax_row,
)
from theorem.symbolic import rank_formulas as rf
from theorem.symbolic._matrices import matrices_equal, symbol_matrix

DERIVATIONS = [
    backward_pullback,
    forward_jacobian_kronecker,
    softmax_jacobian,
    poly2_row_jacobian,
    factorized_gradients,
]


# --------------------------------------------------------------------------------
# every derivation holds
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("derive", DERIVATIONS, ids=lambda f: f.__name__)
def test_derivation_holds(derive):
    result = derive()
    assert isinstance(result, Derivation)
    assert result.name == derive.__name__
    assert result.holds, result.detail
    assert result.checked_sizes, "a derivation must record the sizes it checked"
    assert "≠" not in result.detail


@pytest.mark.parametrize("derive", [backward_pullback, factorized_gradients], ids=lambda f: f.__name__)
def test_matrix_calculus_derivations_are_general(derive):
    """The two gradient identities are confirmed for symbolic n, d (not only explicit sizes)."""
    assert derive().general.startswith("general")


def test_all_derivations_runs_each_once():
    results = all_derivations()
    assert [r.name for r in results] == [f.__name__ for f in DERIVATIONS]
    assert all(r.holds for r in results)


def test_derivation_record_is_frozen():
    record = backward_pullback()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.holds = False  # type: ignore[misc]


# --------------------------------------------------------------------------------
# meta-tests: the same comparisons reject wrong candidates
# --------------------------------------------------------------------------------


def test_general_identity_rejects_wrong_pullbacks():
    n, d = sp.symbols("n d", integer=True, positive=True)
    x, m, g = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("M", d, d), sp.MatrixSymbol("G", n, n)
    grad = sp.Trace(g.T * x * m * x.T).diff(m)
    assert general_identity(grad, x.T * g * x)
    assert not general_identity(grad, x.T * g.T * x)  # transposed upstream gradient
    assert not general_identity(grad, x * g * x.T)  # wrong sandwich (shape n×n)


def test_pullback_components_reject_wrong_sandwich():
    ok, notes = check_pullback_components(lambda X, G, M: X * G * X.T)
    assert not ok
    assert "(n,d)=(3,3): ≠" in notes  # same shape there, so the entries themselves differ


def test_pullback_components_reject_transposed_gradient():
    ok, notes = check_pullback_components(lambda X, G, M: X.T * G.T * X)
    assert not ok
    # at n = 1 the transpose is invisible: the explicit sizes must include n ≥ 2
    assert "(n,d)=(1,1): =" in notes
    assert "(n,d)=(2,3): ≠" in notes


def test_forward_jacobian_rejects_vec_of_transpose():
    """(X⊗X)·K (K the commutation matrix) is the Jacobian w.r.t. vec(Mᵀ), not vec(M)."""

    def commuted(x: sp.Matrix) -> sp.Matrix:
        d = x.cols
        k = sp.zeros(d * d, d * d)
        for i in range(d):
            for j in range(d):
                k[i + j * d, j + i * d] = 1
        return kronecker_product(x, x) * k

    ok, notes = check_forward_jacobian(commuted)
    assert not ok
    assert "(n,d)=(1,1): =" in notes  # d = 1: K = I, so only larger sizes can tell


def test_forward_jacobian_accepts_equivalent_form():
    """(Xᵀ⊗Xᵀ)ᵀ = X⊗X: an equal candidate written differently is accepted."""
    ok, _ = check_forward_jacobian(lambda x: kronecker_product(x.T, x.T).T)
    assert ok


@pytest.mark.parametrize(
    "wrong",
    [
        lambda s, a: sp.diag(*a) + a * a.T,
        lambda s, a: a * a.T - sp.diag(*a),
        lambda s, a: sp.diag(*a),
    ],
    ids=["plus-outer", "negated", "no-outer"],
)
def test_softmax_jacobian_check_rejects(wrong):
    ok, _ = check_row_jacobian(softmax_row, wrong)
    assert not ok


def test_poly2_jacobian_check_rejects_missing_factor_two():
    def half(t: sp.Matrix, a: sp.Matrix) -> sp.Matrix:
        z = sum((v**2 for v in t), sp.S.Zero)
        return (1 / z) * (sp.diag(*t) - a * t.T)

    ok, notes = check_row_jacobian(poly2_row, half)
    assert not ok
    assert "n=1: =" in notes  # n = 1: the Jacobian is 0 either way


def test_factorized_check_rejects_swapped_gradients():
    right_q = lambda X, G, Q, K: X.T * G * X * K  # noqa: E731
    right_k = lambda X, G, Q, K: X.T * G.T * X * Q  # noqa: E731
    assert check_factorized_components(right_q, right_k)[0]
    assert not check_factorized_components(right_k, right_q)[0]
    assert not check_factorized_components(lambda X, G, Q, K: X.T * G * X * Q, right_k)[0]
    assert not check_factorized_components(right_q, lambda X, G, Q, K: X.T * G * X * Q)[0]


def test_matrices_equal_is_exact():
    x = sp.Symbol("x")
    assert matrices_equal(sp.Matrix([[(x + 1) ** 2]]), sp.Matrix([[x**2 + 2 * x + 1]]))
    assert not matrices_equal(sp.Matrix([[(x + 1) ** 2]]), sp.Matrix([[x**2 + 1]]))
    assert not matrices_equal(sp.zeros(2, 3), sp.zeros(3, 2))


# --------------------------------------------------------------------------------
# independent spot checks of the derivations (no symbolic differentiation)
# --------------------------------------------------------------------------------


def test_pullback_by_linearity_on_integer_matrices():
    """L(M) = Σ G∘(XMXᵀ) is linear, so ∂L/∂M_ab = L(E_ab) exactly; it must equal (XᵀGX)_ab."""
    rng = random.Random(7)
    for n, d in [(2, 3), (4, 2), (3, 3)]:
        x = sp.Matrix(n, d, lambda *_: rng.randint(-3, 3))
        g = sp.Matrix(n, n, lambda *_: rng.randint(-3, 3))
        expected = x.T * g * x
        for a in range(d):
            for b in range(d):
                e_ab = sp.zeros(d, d)
                e_ab[a, b] = 1
                assert sum(g.multiply_elementwise(x * e_ab * x.T)) == expected[a, b]


def test_softmax_row_sums_to_one():
    s = sp.Matrix(sp.symbols("s0:3", real=True))
    assert sp.cancel(sum(softmax_row(s)) - 1) == 0


# --------------------------------------------------------------------------------
# closed forms: hand-computed values
# --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "invariants", "expected"),
    [
        (("softmax", "scores", "M"), {"r": 3}, 9),
        (("softmax", "weights", "M"), {"r": 3, "e": 1}, 6),  # 3·(3 − 1)
        (("softmax", "weights", "M"), {"r": 3, "e": 0}, 9),
        (("softmax", "weights", "M"), {"r": 3, "rho": 2}, 6),  # ρ in place of e
        (("csq", "weights", "M"), {"r": 3, "e": 1}, 6),
        (("poly2", "weights", "M"), {"r": 4, "m": 1}, 15),  # 16 − 1
        (("poly2", "weights", "M"), {"r": 4, "m": 4}, 12),
        (("softmax", "scores", "factorized"), {"r": 4, "q1": 2, "k1": 3}, 14),  # 12 + 8 − 6
        (("softmax", "weights", "factorized"), {"r": 4, "q1": 2, "k1": 3, "e": 0, "e_K": 0}, 14),
        (("softmax", "weights", "factorized"), {"r": 4, "q1": 2, "k1": 3, "e": 1, "e_K": 1}, 10),
        (("softmax", "weights", "factorized"), {"r": 4, "q1": 2, "k1": 3, "e": 1, "e_K": 0}, 12),
    ],
)
def test_formula_hand_values(key, invariants, expected):
    assert evaluate(formula(*key), **invariants) == expected


def test_factorized_reduces_to_m_form_when_factors_have_full_rank():
    """q₁ = k₁ = r (and e_K = e): the factorized closed forms collapse to r² and r(r − e)."""
    full = {rf.q1: rf.r, rf.k1: rf.r, rf.e_K: rf.e}
    assert sp.expand(formula("softmax", "scores", "factorized").subs(full) - rf.r**2) == 0
    assert sp.expand(
        formula("softmax", "weights", "factorized").subs(full) - formula("softmax", "weights", "M")
    ) == 0


def test_scores_formula_is_the_kronecker_rank():
    """θ ↦ S has Jacobian X⊗X (derivation above), so its rank r² must match rank(X⊗X)."""
    for x in [sp.Matrix([[1, 2], [2, 4], [0, 0]]), sp.Matrix([[1, 0, 2], [0, 1, 1], [1, 1, 3], [2, 1, 0]])]:
        inv = exact_invariants(x)
        assert evaluate(formula("softmax", "scores", "M"), r=inv["r"]) == kronecker_product(x, x).rank()


def test_ambient_and_claimed_dimensions():
    assert evaluate(ambient_dimension("M"), d=64) == 4096
    assert evaluate(ambient_dimension("factorized"), d=64, d_k=16) == 2048
    assert evaluate(paper_claimed_dimension(), d=64) == 4096
    with pytest.raises(KeyError):
        ambient_dimension("W_V")


@pytest.mark.parametrize(
    "key",
    [("linear", "weights", "M"), ("poly2", "weights", "factorized"), ("softmax", "output", "M"), ("exp", "scores", "M")],
)
def test_formula_without_closed_form_raises_keyerror(key):
    with pytest.raises(KeyError, match="no closed form"):
        formula(*key)


@pytest.mark.parametrize(
    ("key", "invariants"),
    [
        (("softmax", "weights", "M"), {"r": 3}),  # e missing
        (("softmax", "weights", "M"), {"r": 3, "e": 2}),  # not an indicator
        (("softmax", "weights", "M"), {"r": 3, "e": 1, "rho": 1}),  # ρ ≠ r − e
        (("softmax", "weights", "factorized"), {"r": 3, "q1": 1, "k1": 1, "e": 0, "e_K": 1}),
        (("softmax", "scores", "factorized"), {"r": 2, "q1": 3, "k1": 1}),  # q₁ > r
        (("poly2", "weights", "M"), {"r": 2, "m": -1}),
        (("poly2", "weights", "M"), {"r": 2, "m": 1, "n": 5}),  # unknown name
    ],
)
def test_evaluate_rejects_missing_or_impossible_invariants(key, invariants):
    with pytest.raises(ValueError):
        evaluate(formula(*key), **invariants)


def test_latex_table_lists_every_formula():
    table = latex_table()
    body = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(body) == 1 + len(available_formulas()) + 1  # header, formulas, the paper's row
    for kernel, map_, param in available_formulas():
        assert any(line.startswith(f"| {kernel} | {map_} | {param} |") for line in body)
    assert r"r \left(r - e\right)" in table and r"r^{2} - m" in table


# --------------------------------------------------------------------------------
# exact invariants and the rank(X⊗X) law
# --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], {"r": 3, "e": 1, "m": 3}),  # independent rows: m = n
        ([[1, 0], [0, 1], [1, 1], [1, 2]], {"r": 2, "e": 0, "m": 1}),  # general position, n > r
        ([[1, 0], [2, 0], [0, 1], [0, 3]], {"r": 2, "e": 0, "m": 2}),  # two parallel classes
        ([[1, 0], [0, 0], [0, 1], [1, 0]], {"r": 2, "e": 0, "m": 2}),  # the zero row is ignored
        ([[1, 2], [1, 5], [1, -1]], {"r": 2, "e": 1, "m": 1}),  # 1 is a column
        ([[0, 0], [0, 0]], {"r": 0, "e": 0, "m": 0}),
    ],
)
def test_exact_invariants_hand_cases(rows, expected):
    assert exact_invariants(sp.Matrix(rows)) == expected


def test_exact_invariants_factorized():
    x = sp.Matrix([[1, 2], [1, 5], [1, -1]])
    w_q = sp.Matrix([[0], [1]])
    w_k = sp.Matrix([[1], [0]])  # X W_K = 1
    assert exact_invariants(x, w_q, w_k) == {"r": 2, "e": 1, "m": 1, "q1": 1, "k1": 1, "e_K": 1}


def test_kronecker_rank_examples_include_rank_deficient_ones():
    mats = kronecker_rank_examples()
    assert any(a.rank() == 0 for a in mats)
    assert any(0 < a.rank() < min(a.shape) for a in mats)
    assert kronecker_rank_examples() == mats  # fixed seed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kronecker_rank_formula(seed):
    result = prove_kronecker_rank_formula(seed=seed)
    assert result.holds, result.detail
    assert result.checked_sizes == tuple(a.shape for a in kronecker_rank_examples(seed))


# --------------------------------------------------------------------------------
# closed forms against exact Jacobian ranks (rational arithmetic)
# --------------------------------------------------------------------------------


def _poly2_row_jac(t: sp.Matrix) -> sp.Matrix:
    """(2/Z)(diag t − a tᵀ), the derivation's closed form (checked above)."""
    z = sum((v**2 for v in t), sp.S.Zero)
    a = t.applyfunc(lambda v: v**2) / z
    return (2 / z) * (sp.diag(*t) - a * t.T)


def _weights_jacobian(x: sp.Matrix, m: sp.Matrix, row_jac) -> sp.Matrix:
    """Matrix of dM ↦ (J_i (X dM Xᵀ)_i)_i, with J_i = row_jac(i, S_i) (columns: the E_ab)."""
    n, d = x.shape
    s = x * m * x.T
    jacs = [row_jac(i, s.row(i).T) for i in range(n)]
    cols = []
    for a in range(d):
        for b in range(d):
            ds = x[:, a] * x[:, b].T
            cols.append(sp.Matrix.vstack(*[jacs[i] * ds.row(i).T for i in range(n)]))
    return sp.Matrix.hstack(*cols)


TOKENS = [
    sp.Matrix([[1, 2, 0], [0, 1, 1], [2, -1, 1]]),  # r = 3, 1 ∈ U (U = R³)
    sp.Matrix([[1, 2, 0], [0, 1, 1], [2, -1, 1], [1, 1, 1]]),  # r = 3, n = 4
    sp.Matrix([[1, 2], [1, -1], [1, 3], [1, 0]]),  # r = 2, 1 ∈ U
    sp.Matrix([[1, 2], [2, 4], [0, 1], [0, 3]]),  # r = 2, 1 ∉ U, m = 2
    sp.Matrix([[1, 0, 0], [0, 1, 0]]),  # n < d, independent rows
]


def _generic_m(x: sp.Matrix, admissible=lambda s: True) -> sp.Matrix:
    """A nonsingular integer M (fixed seed) whose scores S = XMXᵀ pass ``admissible``.

    The closed forms are statements about a generic point; a singular M or a zero score
    is a special point where the rank may drop, so such draws are skipped.
    """
    rng = random.Random(11)
    for _ in range(200):
        m = sp.Matrix(x.cols, x.cols, lambda *_: rng.randint(-3, 3))
        if m.det() != 0 and admissible(x * m * x.T):
            return m
    raise AssertionError("no admissible M found")


@pytest.mark.parametrize("x", TOKENS, ids=lambda x: f"{x.rows}x{x.cols}")
def test_softmax_weights_rank_exact(x):
    """Only ker J_i = span(1) matters, so any positive rational rows a_i give the rank of dM ↦ dA."""
    m = _generic_m(x)

    def row_jac(i, _s):
        a = sp.Matrix([sp.Rational(j + i + 1) for j in range(x.rows)])
        a = a / sum(a)
        return sp.diag(*a) - a * a.T

    inv = exact_invariants(x)
    assert _weights_jacobian(x, m, row_jac).rank() == evaluate(formula("softmax", "weights", "M"), **inv)


@pytest.mark.parametrize("x", TOKENS, ids=lambda x: f"{x.rows}x{x.cols}")
def test_poly2_weights_rank_exact(x):
    m = _generic_m(x, lambda s: all(v != 0 for v in s))
    inv = exact_invariants(x)
    got = _weights_jacobian(x, m, lambda i, s: _poly2_row_jac(s)).rank()
    assert got == evaluate(formula("poly2", "weights", "M"), **inv)


@pytest.mark.parametrize("x", TOKENS, ids=lambda x: f"{x.rows}x{x.cols}")
def test_csq_weights_rank_exact(x):
    """CSQ row map: t = P s + c (P centers, c = 1), a = t²/Σt²; Jacobian J_poly2(t)·P."""
    n = x.rows
    center = sp.eye(n) - sp.ones(n, n) / n
    m = _generic_m(x, lambda s: all(v != 0 for v in center * s.T + sp.ones(n, n)))

    def row_jac(_i, s):
        t = center * s + sp.ones(n, 1)
        assert all(v != 0 for v in t)
        return _poly2_row_jac(t) * center

    inv = exact_invariants(x)
    assert _weights_jacobian(x, m, row_jac).rank() == evaluate(formula("csq", "weights", "M"), **inv)


def test_symbol_matrix_entries_are_independent():
    a = symbol_matrix("a", 2, 3)
    assert a.shape == (2, 3)
    assert len(a.free_symbols) == 6
