r"""Per-layer, per-head measurements on all-MiniLM-L6-v2, each next to the closed form predicting it.

For one window of ``n`` tokens of a shipped text and one head ``(l, h)`` (layer input ``X``, real
``Q = X W_Q + 1 b_Qᵀ``, ``K = X W_K + 1 b_Kᵀ``, scores ``S = Q Kᵀ/√32``, weights ``A``):

* **pullback** (:func:`pullback_record`): the pulled-back gradient rank with biases as parameters,
  measured (:func:`theorem.numeric.pullback_bias.measure`) and predicted
  (:func:`theorem.numeric.pullback_bias.predict`, ``r̃·k₁ + q₁·r̃ − q₁·k₁ − q₁``), for the
  ``scores`` and ``log-weights`` maps, on a sub-head of ``k'`` varied coordinates (the full width
  ``k = 32`` for ``n > d`` takes an hour on two cores: measured once by :mod:`theorem.real.sweep`,
  its closed form reported beside every sub-head);
* **rank** (:func:`rank_record`): the numerical rank of ``A`` (tolerance and gap test), its ε-ranks
  ``#{σ_i > ε σ₁}`` beside the n-independent Taylor bound ``min(n, C(r + p, p))`` of
  :mod:`theorem.numeric.eps_rank` (``r = rank S``, ``p`` the degree with ``e^B R_p(B) ≤ ε``), and the
  score bound ``B = max |S_ij|`` against ``ln n`` (Alman & Song 2023: entries of Q, K bounded by
  ``o(√log n)`` with ``A = exp(QKᵀ/d)``, i.e. scores bounded by ``o(log n)``, for ``d = O(log n)``);
* **matching** (:func:`matching_record`): readings (a) dot-product monotonicity and (b) Euclidean
  matching of :mod:`theorem.numeric.matching`, counted over the key pairs of sampled queries whose
  weights are resolved (differ by more than 10⁻⁹ of the row maximum), measured from the weights
  and predicted from the kernels' formulas: softmax is increasing in ``s``, so (a) never fails and
  (b) fails exactly on the pairs where the key-norm term of identity (c),
  ``−‖q−k‖²/2 = q·k − ‖k‖²/2 − ‖q‖²/2``, reverses the order (none when key norms are equal);
  quadratic kernels ``T = t²`` fail (a) exactly on the pairs with ``t_i + t_j < 0`` (below the vertex);
* **fit** (:func:`fit_record`): the best CSQ and poly2 approximations of ``A`` (:mod:`theorem.real.fit`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

import jax.numpy as jnp

from theorem.kernels import SquaredKernel, get_kernel
from theorem.numeric.eps_rank import eps_rank_from_singular_values, taylor_eps_rank_bound
from theorem.numeric.pullback_bias import BiasedHead, measure
from theorem.numeric.pullback_bias_predicted import predict
from theorem.numeric.rank import numerical_rank
from theorem.real.fit import fit_pattern
from theorem.real.text import window
from theorem.util.precision import float64

__all__ = [
    "EPSILONS",
    "DEFAULT_LENGTHS",
    "PARTS",
    "eps_rank",
    "rank_record",
    "pullback_record",
    "full_width_prediction",
    "matching_record",
    "fit_record",
    "Selection",
    "analyze",
]

#: relative thresholds of the ε-rank
EPSILONS = (1e-1, 1e-2, 1e-3, 1e-6)
#: default window lengths: one below d = 384, one above
DEFAULT_LENGTHS = (40, 400)
PARTS = ("rank", "matching", "pullback", "fit")
#: relative tolerance of a weight reversal and of a premise (as in theorem.numeric.matching)
REL_TOL = 1e-9


def eps_rank(singular_values: np.ndarray, eps: float) -> int:
    """``#{σ_i > ε·σ₁}``: the smallest rank ``r`` with ``‖A − A_r‖₂ ≤ ε‖A‖₂`` (Eckart–Young);
    the shared definition of :mod:`theorem.numeric.eps_rank`."""
    return eps_rank_from_singular_values(singular_values, eps)


def rank_record(weights: np.ndarray, scores: np.ndarray) -> dict:
    """Numerical rank and ε-ranks of ``A``, and where ``B = max|S_ij|`` sits against ``ln n`` (``B_over_log_n``)."""
    a = np.asarray(weights, dtype=np.float64)
    n = a.shape[0]
    rr = numerical_rank(a)
    sv = rr.singular_values
    b = float(np.max(np.abs(scores)))
    r_scores = numerical_rank(np.asarray(scores, dtype=np.float64)).rank
    return {
        "n": n,
        "rank": rr.rank,
        "rank_status": rr.status,
        "rank_gap": None if np.isinf(rr.gap) else float(rr.gap),
        "predicted_rank": n,
        "predicted_formula": "n (distinct tokens, generic weights: softmax has full algebraic rank)",
        "eps_rank": {f"{e:g}": eps_rank(sv, e) for e in EPSILONS},
        # n-independent Taylor bound min(n, C(r + p, p)) of theorem.numeric.eps_rank (r = rank S)
        "eps_rank_bound": {f"{e:g}": taylor_eps_rank_bound(b, e, r_scores, n) for e in EPSILONS},
        "rank_S": r_scores,
        "sigma_ratio": float(sv[-1] / sv[0]),
        "B": b,
        "sqrt_log_n": math.sqrt(math.log(n)),
        "B_over_sqrt_log_n": b / math.sqrt(math.log(n)),  # kept: records written before the relabel read it
        "B_over_log_n": b / math.log(n),  # Alman & Song 2023's threshold in score units is of order ln n
        "min_weight": float(a.min()),
        "max_weight": float(a.max()),
        "mean_entropy": float(np.mean(-np.sum(a * np.log(np.maximum(a, 1e-300)), axis=1))),
        "log_n": math.log(n),
    }


@float64
def pullback_record(x, hp, map: str = "log-weights", columns: int | None = 2, route: str = "auto",
                    progress: Callable[[int], None] | None = None, spectrum: bool = False) -> dict:
    """Measured and predicted pulled-back rank of one real head (biases as parameters); ``spectrum``
    adds the measured singular values (``singular_values``, descending)."""
    head = BiasedHead(x, hp.w_q, hp.b_q, hp.w_k, hp.b_k, map=map, columns=columns)
    meas = measure(head, route=route, progress=progress)
    pred = predict(head)
    agrees = None if pred.rank is None or meas.rank.status != "ok" else pred.rank == meas.rank.rank
    if meas.rank.status != "ok":
        status = "ill-defined"
    elif not pred.valid:
        status = "conditions-violated"
    else:
        status = "ok" if agrees else "mismatch"
    return {
        "map": map, "n": head.n, "d": head.d, "k": head.k, "k_varied": head.kv,
        "measured": meas.rank.rank, "predicted": pred.rank, "formula": pred.formula, "agrees": agrees,
        "status": status, "ambient_dim": head.ambient_dim, "d_squared": head.d ** 2,
        "invariants": pred.invariants, "violations": pred.violations, "measurement": meas.to_dict(),
        **({"singular_values": np.sort(meas.rank.singular_values)[::-1]} if spectrum else {}),
    }


@float64
def full_width_prediction(x, hp, map: str = "log-weights") -> dict:
    """The closed form for the whole head (``k' = k = 32``): predicted only (see the module docstring)."""
    head = BiasedHead(x, hp.w_q, hp.b_q, hp.w_k, hp.b_k, map=map, columns=None)
    pred = predict(head)
    return {"map": map, "n": head.n, "k": head.k, "predicted": pred.rank, "formula": pred.formula,
            "ambient_dim": head.ambient_dim, "d_squared": head.d ** 2, "valid": pred.valid,
            "invariants": pred.invariants}


def _premise(key: np.ndarray) -> np.ndarray:
    """Pairs ``(i, j)`` with ``key_i > key_j`` by more than a relative 1e-9 (i is preferred)."""
    scale = 1.0 + np.abs(key)
    return (key[:, None] - key[None, :]) > 1e-9 * (scale[:, None] + scale[None, :])


def _resolved(w: np.ndarray) -> np.ndarray:
    """Pairs whose weights differ by more than ``REL_TOL·max w``: their order is resolved in float64."""
    return np.abs(w[:, None] - w[None, :]) > REL_TOL * float(np.max(w))


def _predicted_lower(u: np.ndarray, squared: bool) -> np.ndarray:
    """``[w_i < w_j]`` from the kernel's structure: softmax is increasing in the score ``u = s``; a squared
    kernel (:class:`theorem.kernels.SquaredKernel`: poly2, CSQ) has ``T = u²`` with ``u`` its
    :meth:`~theorem.kernels.SquaredKernel.base`, so ``w_i < w_j`` iff ``u_i² < u_j²``."""
    if not squared:
        return u[:, None] < u[None, :]
    return (u[:, None] ** 2) < (u[None, :] ** 2)


@float64
def matching_record(q: np.ndarray, k: np.ndarray, weights: np.ndarray | None = None, queries: int = 32,
                    kernels: Iterable[str] = ("softmax", "csq", "poly2")) -> dict:
    """Readings (a), (b) on real queries/keys: reversed pairs measured from the weights and predicted."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    n, dk = q.shape
    rows = np.unique(np.linspace(0, n - 1, min(queries, n)).round().astype(int))
    knorm2 = np.sum(k * k, axis=1)
    out: dict = {"n": n, "queries": int(rows.size), "key_norm_cv": float(np.std(np.sqrt(knorm2)) / np.mean(np.sqrt(knorm2)))}
    specs = {"softmax": ("softmax", {}), "csq": ("csq", {"shift": 1.0, "center": True}), "poly2": ("poly2", {})}
    for name in kernels:
        if name not in specs:
            raise ValueError(f"kernels: unknown kernel {name!r}; choose from {', '.join(specs)}")
        kern = get_kernel(specs[name][0], **specs[name][1])
        if name == "softmax" and weights is not None:
            w_all = np.asarray(weights, dtype=np.float64)
        else:
            w_all = np.asarray(kern.weights(jnp.asarray(q), jnp.asarray(k)))
        squared = isinstance(kern, SquaredKernel)
        base = np.asarray(kern.base(jnp.asarray(q @ k.T / math.sqrt(dk)))) if squared else None
        rec = {}
        for reading in ("a", "b"):
            pairs = resolved = meas = pred = bad_queries = 0
            for i in rows:
                s = k @ q[i] / math.sqrt(dk)
                key = s if reading == "a" else -np.sum((k - q[i]) ** 2, axis=1)
                prem = _premise(key)
                ok = prem & _resolved(w_all[i])
                measured = ok & (w_all[i][:, None] < w_all[i][None, :])
                predicted = ok & _predicted_lower(base[i] if squared else s, squared)
                pairs += int(prem.sum())
                resolved += int(ok.sum())
                meas += int(measured.sum())
                pred += int(predicted.sum())
                bad_queries += int(measured.any())
            rec[reading] = {"pairs": pairs, "resolved_pairs": resolved, "reversed": meas, "predicted_reversed": pred,
                            "fraction": meas / resolved if resolved else 0.0, "queries_violating": bad_queries}
        if name == "csq":  # keys on the falling side of the parabola: t = s̃ + c < 0
            rec["below_vertex_fraction"] = float(np.mean(base[rows] < 0))
        out[name] = rec
    return out


def fit_record(x, weights, hp, kernel: str, steps: int = 300, keep: bool = False) -> dict:
    """The best ``kernel`` fit of the head ``hp`` at tokens ``x`` to its pattern ``weights`` (:func:`fit_pattern`)."""
    head = hp.at(x)
    res = fit_pattern(head.x, weights, head.w_q, head.b_q, head.w_k, head.b_k, kernel, steps=steps, keep=keep)
    rec = res.to_dict()
    if keep:
        rec["fitted"] = res.fitted
    return rec


@dataclass(frozen=True)
class Selection:
    """What to analyse: layers, heads, window lengths, parts, and the sub-head width of the pullback."""

    layers: tuple[int, ...]
    heads: tuple[int, ...]
    lengths: tuple[int, ...] = DEFAULT_LENGTHS
    parts: tuple[str, ...] = ("rank", "matching")
    columns: int = 2
    fit_steps: int = 300
    window: int = 0
    queries: int = 32

    def tasks(self) -> int:
        return len(self.layers) * len(self.heads) * len(self.lengths)


def check_selection(model, sel: Selection) -> None:
    """ValueError naming the argument (with the valid range) before any work."""
    for layer in sel.layers:
        model.check_layer(layer)
    for head in sel.heads:
        model.check_head(head)
    if not sel.lengths:
        raise ValueError("n: give at least one window length")
    for n in sel.lengths:
        if not isinstance(n, (int, np.integer)) or not 3 <= n <= model.config.max_len:
            raise ValueError(f"n: window length must be an integer in 3..{model.config.max_len} (the model's maximum), got {n!r}")
    for part in sel.parts:
        if part not in PARTS:
            raise ValueError(f"parts: unknown part {part!r}; choose from {', '.join(PARTS)}")
    if not 1 <= sel.columns <= model.config.dk:
        raise ValueError(f"columns: the varied sub-head width must be in 1..{model.config.dk}, got {sel.columns}")
    if sel.fit_steps < 0:
        raise ValueError(f"fit_steps: must be ≥ 0, got {sel.fit_steps}")


def bidirectional_parts(model, trace, layer: int, head: int, sel: Selection) -> dict:
    """The parts of ``sel`` measured on one bidirectional head of ``trace``: rank, matching, pullback, fit."""
    x, hp = trace.inputs[layer], model.head(layer, head)
    a, s = trace.weights[layer, head], trace.scores[layer, head]
    rec: dict = {}
    if "rank" in sel.parts:
        rec["rank"] = rank_record(a, s)
    if "matching" in sel.parts:
        rec["matching"] = matching_record(trace.q[layer, head], trace.k[layer, head], a, sel.queries)
    if "pullback" in sel.parts:
        rec["pullback"] = {m: pullback_record(x, hp, m, sel.columns) for m in ("scores", "log-weights")}
        rec["pullback"]["full_width"] = full_width_prediction(x, hp)
    if "fit" in sel.parts:
        rec["fit"] = {kern: fit_record(x, a, hp, kern, sel.fit_steps) for kern in ("csq", "poly2")}
    return rec


@float64
def analyze(model, text: str, sel: Selection, progress: Callable[[str], None] | None = None,
            parts: Callable[..., dict] = bidirectional_parts) -> list[dict]:
    """One record per (layer, head, n): the parts of ``sel`` measured on window ``sel.window`` of ``text``, each
    head by ``parts(model, trace, layer, head, sel)`` (a causal or rotary model passes its own)."""
    check_selection(model, sel)
    ids_by_n = {n: window(model, text, n, sel.window) for n in sel.lengths}  # errors before any work
    records = []
    last_layer = max(sel.layers) + 1
    for n in sel.lengths:
        trace = model.trace(ids_by_n[n], layers=last_layer)
        for layer in sel.layers:
            for head in sel.heads:
                start = time.perf_counter()
                rec: dict = {"layer": layer, "head": head, "n": n, "d": model.config.d, "dk": model.config.dk}
                rec.update(parts(model, trace, layer, head, sel))
                rec["seconds"] = round(time.perf_counter() - start, 3)
                records.append(rec)
                if progress is not None:
                    progress(f"L{layer}H{head} n={n}")
    return records
