r"""Operation counts of the attention algorithms as SymPy expressions, and the crossover n*.

Symbols: :math:`n` tokens, :math:`d_k` (query/key width), :math:`d_v` (value width),
:math:`C` chunk (causal linear form), :math:`B` block (non-causal linear form).
:math:`D_2 = d_k(d_k+1)/2` symmetric second-order features, :math:`D = D_2 + d_k + 1` (CSQ),
:math:`V = d_v + 1` (values plus the ones column that yields the denominator).

Each count is *exact for the implementation* (:mod:`theorem.attention`,
:mod:`theorem.numeric.csq_linear`) when :math:`n` is a multiple of :math:`C` or :math:`B`:
the tests read the jaxpr of the traced program with
:func:`theorem.numeric.linear_jaxpr.count_flops` (same counting rules: ``dot_general`` =
``2·|out|·|contracted|``, other arithmetic one per output element, reductions one per input
element, data movement free) and compare term by term.  Two parts are kept apart:

* ``matmul`` FLOPs, e.g. :math:`2n^2(d_k+d_v)` (quadratic) and :math:`4nDV` (linear);
* ``elementwise`` operations (scaling, centering, squaring, masking, features, divisions).

**The cost model** behind ``algorithm="auto"`` weighs them differently, since on a CPU an
elementwise operation streams memory while a matmul FLOP runs from cache:

.. math::

    \mathrm{cost}_q = F_{\mathrm{mm}} + (\rho_q + [n^2 > \mathrm{LLC}]\,\rho_{mem})\,F_{\mathrm{ew}},\qquad
    \mathrm{cost}_l = F_{\mathrm{mm}} + \rho_l\,F_{\mathrm{ew}} + \omega\,L + \kappa,

:math:`L` the loop trips of the linear form, :math:`\kappa` its extra fixed overhead per call, and
:math:`\rho_q, \rho_l, \rho_{mem}, \omega, \kappa` the machine balance
(:class:`~theorem.util.machine.MachineBalance`; this machine's is read from the calibration record by
:func:`~theorem.util.machine.this_machine`, fitted by ``d2check bench attention`` with
:func:`theorem.bench.fits.fit_balance`).  The *pure FLOP count* is :math:`\rho = 1`, everything else 0.
The crossover :math:`n^*` solves quadratic cost = linear cost.  The formulas take the balance as an
argument; only where none is given do they fall back on :func:`~theorem.util.machine.this_machine`.
The tiles (chunk, block) are the implementation's own, from :mod:`theorem.util.tiling`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from theorem.util.machine import PURE_FLOPS, MachineBalance, this_machine
from theorem.util.tiling import default_block, optimal_chunk

__all__ = [
    "N", "DK", "DV", "C", "B", "RHO", "RHO_Q", "RHO_L", "OMEGA", "KAPPA",
    "Cost", "MachineBalance", "PURE_FLOPS", "this_machine", "model_costs",
    "feature_dim", "cost", "crossover", "crossover_value", "predicted_faster",
    "optimal_chunk", "cubic_leading_term", "commenter_arithmetic", "state_emit_flops",
]

N, DK, DV = sp.symbols("n d_k d_v", positive=True, integer=True)
C, B = sp.symbols("C B", positive=True, integer=True)
RHO, OMEGA = sp.symbols("rho omega", nonnegative=True)
RHO_Q, RHO_L = sp.symbols("rho_q rho_l", nonnegative=True)
KAPPA = sp.Symbol("kappa", real=True)
D_SYM = sp.Symbol("d", positive=True, integer=True)

KERNELS = ("softmax", "poly2", "csq", "csq-uncentered", "linear", "based")
#: kernels whose counts are exact for :mod:`theorem.attention` (checked against its jaxpr); ``based`` (Arora
#: et al. 2024's 2nd-order Taylor map, unsymmetrized) has no implementation here: its counts are by hand
IMPLEMENTED = ("softmax", "poly2", "csq", "csq-uncentered", "linear")


def feature_dim(kernel: str, dk=DK) -> sp.Expr:
    r"""Feature dimension :math:`D` of the linear form: csq :math:`(d_k+1)(d_k+2)/2`, poly2 :math:`d_k(d_k+1)/2`,
    linear :math:`d_k`, based :math:`1 + d_k + d_k^2` (Based's Taylor map :math:`[1, x, \mathrm{vec}(x\otimes x)/\sqrt2]`,
    the full tensor square, not its symmetric half)."""
    if isinstance(dk, (int,)):
        dk = sp.Integer(dk)
    if kernel == "based":
        return sp.expand(1 + dk + dk**2)
    d2 = dk * (dk + 1) / 2
    if kernel in ("csq", "csq-uncentered"):
        return sp.expand(d2 + dk + 1)
    if kernel == "poly2":
        return sp.expand(d2)
    if kernel == "linear":
        return dk
    raise ValueError(f"kernel: {kernel!r} has no finite feature map")


@dataclass(frozen=True)
class Cost:
    """Operation count of one algorithm (one head): matmul FLOPs, elementwise ops, loop trips."""

    kernel: str
    algorithm: str
    causal: bool
    matmul: sp.Expr
    elementwise: sp.Expr
    loops: sp.Expr = sp.S.Zero
    calls: int = 0  # fixed overheads beyond the quadratic form's (1 for the linear form)

    @property
    def flops(self) -> sp.Expr:
        """Pure FLOP count: every operation counts 1."""
        return sp.expand(self.matmul + self.elementwise)

    def model(self, rho=RHO, omega=OMEGA, kappa=KAPPA) -> sp.Expr:
        r""":math:`F_{mm} + \rho F_{ew} + \omega L` (plus :math:`\kappa` for the linear form)."""
        return sp.expand(self.matmul + rho * self.elementwise + omega * self.loops + kappa * self.calls)

    def at(self, **values) -> dict[str, float]:
        subs = {_SYMS[k]: v for k, v in values.items() if k in _SYMS}
        return {
            "matmul": float(self.matmul.subs(subs)),
            "elementwise": float(self.elementwise.subs(subs)),
            "flops": float(self.flops.subs(subs)),
        }


_SYMS = {"n": N, "dk": DK, "dv": DV, "chunk": C, "block": B, "rho": RHO, "omega": OMEGA, "kappa": KAPPA}


def _quadratic(kernel: str, causal: bool) -> Cost:
    n, dk, dv = N, DK, DV
    matmul = 2 * n**2 * (dk + dv)
    # per n×n entry, the elementwise passes of attention._unnormalized and the normalization
    per_entry = {
        # (non-causal, causal)
        "softmax": (4, 6),  # max, subtract, exp, row sum (+ mask before max and after exp)
        "poly2": (2, 3),  # square, row sum (+ mask)
        "csq": (5, 7),  # row mean (sum), subtract, + c, square, row sum (+ 2 masks)
        "csq-uncentered": (3, 4),  # + c, square, row sum (+ mask)
        "linear": (1, 2),  # row sum (+ mask)
        "based": (5, 6),  # square, halve, + s, + 1, row sum (+ mask): 1 + s + s²/2, by hand
    }[kernel][int(causal)]
    lower = dk * n + dv * n  # scale q (or features), divide by the row sums
    if kernel in ("csq",):
        lower += n  # the mean's division
    if kernel == "linear":
        lower = 8 * n * dk + dv * n  # elu+1 on q and k (theorem.kernels.features.elu_plus_one): add, min, exp, select
    return Cost(kernel, "quadratic", causal, sp.expand(matmul), sp.expand(per_entry * n**2 + lower))


def _offsets(kernel: str, causal: bool) -> sp.Expr:
    """Operations of ``squared_offsets`` (the per-query offsets e_i and the reference point)."""
    n, dk = N, DK
    if kernel == "csq":
        return 7 * n * dk + dk + n if causal else 6 * n * dk + 2 * dk + n
    if kernel == "csq-uncentered":
        return 5 * n * dk + dk + n
    if kernel == "poly2":
        return n * dk  # scale q
    return sp.S.Zero


def _linear(kernel: str, causal: bool) -> Cost:
    n, dk, dv = N, DK, DV
    v = dv + 1
    d = feature_dim(kernel)
    lower_order = kernel in ("csq", "csq-uncentered", "based")
    if kernel == "based":
        # by hand: x ⊗ x (d_k² products) and the 1/√2 on them, on keys and (scaled) queries
        key_feats, query_feats = 2 * n * dk**2, 2 * n * dk**2 + n * dk
    elif kernel == "linear":
        key_feats, query_feats = 4 * n * dk, 4 * n * dk  # elu + 1 (stable form): add, min, exp, select
    else:
        key_feats = n * d  # sym2([k, 1]) (or sym2(k))
        query_feats = 2 * n * d  # sym2([q, e]) and its weights w_ab
    ew = _offsets(kernel, causal) + key_feats + query_feats + n * dv  # … and the division by the row sums
    mm = 4 * n * d * v  # state: Σ ψ(k)[v, 1]ᵀ, output: φ(q)ᵀ S
    if causal:
        # intra-chunk weights: (+e), square, mask for the squared kernels; mask only for elu+1
        intra_ew = (3 if lower_order else 2) * n * C if kernel != "linear" else n * C
        if kernel == "based":
            intra_ew = 5 * n * C  # square, halve, + s, + 1, mask (by hand)
        ew += intra_ew + n * v + (n / C) * d * v  # intra + inter, state updates
        mm += 2 * n * C * dk + 2 * n * C * v  # C×C scores and weights @ [v, 1] per chunk
        loops = n / C
    else:
        ew += (n / B) * d * v  # state updates, one per block
        loops = 2 * n / B
    return Cost(kernel, "linear", causal, sp.expand(mm), sp.expand(ew), sp.expand(loops), calls=1)


@lru_cache(maxsize=None)
def cost(kernel: str, algorithm: str, causal: bool) -> Cost:
    """The operation count of ``attention(kernel=..., algorithm=..., causal=...)`` for one head.

    ``kernel``: ``softmax | poly2 | csq | csq-uncentered | linear | based``; ``algorithm``: ``quadratic | linear``.
    ``based`` (Arora et al. 2024: :math:`1 + s + s^2/2` with the unsymmetrized Taylor features,
    :math:`D = 1 + d_k + d_k^2`) is counted by hand for the same two algorithms; nothing here implements it.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel: unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if algorithm == "quadratic":
        return _quadratic(kernel, causal)
    if algorithm == "linear":
        if kernel == "softmax":
            raise ValueError("algorithm: softmax has no linear form")
        return _linear(kernel, causal)
    raise ValueError(f"algorithm: expected 'quadratic' or 'linear', got {algorithm!r}")


# ---------------------------------------------------------------------------------------
# the machine balance and the crossover
# ---------------------------------------------------------------------------------------


RHO_MEM = sp.Symbol("rho_mem", nonnegative=True)


def crossover(kernel: str = "csq", causal: bool = False, rho_q=RHO_Q, rho_l=RHO_L, omega=OMEGA, kappa=KAPPA,
              rho_mem=0, **values) -> sp.Expr:
    r"""The positive root :math:`n^*` of quadratic cost = linear cost (symbolic in what is not given).

    The quadratic form's elementwise operations cost :math:`\rho_q + \rho_{mem}` (pass ``rho_mem`` for the
    branch where its :math:`n\times n` arrays leave the cache), the linear form's :math:`\rho_l`.  ``values`` may fix ``dk, dv, chunk, block``.
    The gap is :math:`a n^2 - b n - c` with :math:`a, b > 0`, so :math:`n^* = (b + \sqrt{b^2 + 4ac})/(2a)`
    — SymPy collects :math:`a, b, c` and checks the form.
    """
    q = cost(kernel, "quadratic", causal).model(rho_q + rho_mem, omega, kappa)
    lin = cost(kernel, "linear", causal).model(rho_l, omega, kappa)
    subs = {_SYMS[k]: v for k, v in values.items() if k in _SYMS}
    gap = sp.expand((q - lin).subs(subs))
    a, b, c = (gap.coeff(N, 2), -gap.coeff(N, 1), -gap.coeff(N, 0))
    if sp.expand(gap - (a * N**2 - b * N - c)) != 0:
        raise ValueError(f"the cost gap is not quadratic in n: {gap}")
    return (b + sp.sqrt(b**2 + 4 * a * c)) / (2 * a)


@lru_cache(maxsize=None)
def _crossover_fn(kernel: str, causal: bool):
    expr = crossover(kernel, causal, rho_mem=RHO_MEM)
    return sp.lambdify((DK, DV, C, B, RHO_Q, RHO_L, OMEGA, KAPPA, RHO_MEM), expr, "math")


def _default_block(kernel: str, dk: int, n: int) -> int:
    """The block the implementation uses at ``n`` for this kernel's feature dimension."""
    return default_block(n, int(feature_dim(kernel, dk)))


def crossover_value(
    kernel: str, dk: int, dv: int, causal: bool = False, balance: MachineBalance = PURE_FLOPS,
    chunk: int | None = None, block: int | None = None,
) -> float:
    """:math:`n^*` evaluated, with the chunk and block the implementation uses at :math:`n = n^*` (found by
    iterating, since the block of a short sequence is the sequence) and the cache branch consistent with
    the root it gives."""
    f = _crossover_fn(kernel, causal)
    c = chunk or optimal_chunk(dk, dv, balance)

    def root_for(b: int) -> float:
        args = (dk, dv, c, b, balance.rho_q, balance.rho_l, balance.omega, balance.kappa)
        r = float(f(*args, 0.0))
        if balance.rho_mem and r > balance.n_llc:
            r = max(balance.n_llc, float(f(*args, balance.rho_mem)))
        return r

    b = block or _default_block(kernel, dk, 10**9)
    root = root_for(b)
    for _ in range(8):
        if block is not None:
            break
        b_next = _default_block(kernel, dk, max(1, math.ceil(root)))
        if b_next == b:
            break
        b, root = b_next, root_for(b_next)
    return root


@lru_cache(maxsize=None)
def _model_fns(kernel: str, causal: bool):
    args = (N, DK, DV, C, B, RHO, OMEGA, KAPPA)
    q = sp.lambdify(args, cost(kernel, "quadratic", causal).model(), "math")
    lin = sp.lambdify(args, cost(kernel, "linear", causal).model(), "math")
    return q, lin


def model_costs(kernel: str, n: int, dk: int, dv: int, causal: bool, balance: MachineBalance | None = None,
                chunk: int | None = None, block: int | None = None) -> tuple[float, float]:
    """(quadratic, linear) model costs at one size, in matmul-FLOP units (``balance``: this machine's
    calibrated one when not given)."""
    balance = balance or this_machine()
    fq, fl = _model_fns(kernel, causal)
    c = min(chunk or optimal_chunk(dk, dv, balance), n)
    b = min(block or _default_block(kernel, dk, n), n)
    rho_q = balance.rho_q + (balance.rho_mem if n > balance.n_llc else 0.0)
    q = fq(n, dk, dv, c, b, rho_q, balance.omega, balance.kappa)
    lin = fl(n, dk, dv, c, b, balance.rho_l, balance.omega, balance.kappa)
    return q, lin


def predicted_faster(kernel: str, n: int, dk: int, dv: int, causal: bool,
                     balance: MachineBalance | None = None) -> str:
    """``"linear"`` when the cost model puts the linear form below the quadratic one at this size."""
    q, lin = model_costs(kernel, n, dk, dv, causal, balance)
    return "linear" if lin < q else "quadratic"


# ---------------------------------------------------------------------------------------
# the claims' arithmetic
# ---------------------------------------------------------------------------------------


def state_emit_flops(kernel: str = "csq", dk=DK, dv=DV, n=N):
    r"""FLOPs of the linear form's two products, state :math:`\sum_j \psi(k_j)[v_j, 1]^\top` and emit
    :math:`\varphi(q_i)^\top S`, at 2 per multiply-add: :math:`4 n D (d_v + 1)`, D the symmetric feature
    dimension (:func:`feature_dim`) — the count issue 15 rates the linear form by, causal or not."""
    return 4 * n * feature_dim(kernel, dk) * (dv + 1)


def cubic_leading_term(kernel: str = "csq", causal: bool = False) -> dict[str, sp.Expr]:
    r"""The linear form's count with :math:`d_k = d_v = d`: its leading term in :math:`d` and :math:`n`.

    Returns the count, :math:`\lim_{d\to\infty} F/(n d^3)` (finite and nonzero: :math:`\Theta(n d^3)`),
    and :math:`\partial F/\partial n` (independent of :math:`n`: exactly linear in :math:`n`).
    """
    c = cost(kernel, "linear", causal)
    f = c.flops.subs({DK: D_SYM, DV: D_SYM})
    if causal:
        f = f.subs(C, 64)
    else:
        f = f.subs(B, 256)
    f = sp.expand(f)
    return {
        "flops": f,
        "per_nd3": sp.limit(f / (N * D_SYM**3), D_SYM, sp.oo),
        "dF_dn": sp.simplify(sp.diff(f, N)),
        "d2F_dn2": sp.simplify(sp.diff(f, N, 2)),
    }


def commenter_arithmetic(d: int = 128, n: int = 2048) -> dict[str, int | bool]:
    r"""R1's numbers, recomputed: :math:`d^3`, :math:`n^2`, and the comparison that decides the cost
    (:math:`n d^3` vs :math:`n^2 d`, i.e. :math:`d^2` vs :math:`n`)."""
    return {
        "d": d,
        "n": n,
        "d_cubed": d**3,
        "n_squared": n**2,
        "d_cubed_lt_n_squared": d**3 < n**2,
        "n_d_cubed": n * d**3,
        "n_squared_d": n**2 * d,
        "linear_cheaper_by_order": n * d**3 < n**2 * d,
        "d_squared": d**2,
    }


def __getattr__(name: str) -> MachineBalance:
    """``THIS_MACHINE``: the calibrated balance (:func:`~theorem.util.machine.this_machine`), read from its
    record on first use — kept for callers of the old constant; new code passes a balance explicitly."""
    if name == "THIS_MACHINE":
        return this_machine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
