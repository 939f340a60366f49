r"""The ``d2check real`` measurements on a checkpoint of any family, each where it applies.

:func:`analyze_checkpoint` runs the parts of :mod:`theorem.real.analysis` on one window of a text,
per (layer, head, n), with the family's own attention input ``X`` and head maps.  What each part
means per family:

* **BERT** (bidirectional, no rotary positions): everything exactly as for all-MiniLM-L6-v2
  (:func:`theorem.real.analysis.analyze`).
* **GPT-2** (causal): ``rank`` and ``matching`` read the model's own causal weights ``A`` (row ``i``
  over keys ``j ≤ i``): the numerical rank of ``A`` (a lower-triangular matrix with a positive
  diagonal, so its closed form is ``n``), ``B = max_{j≤i} |S_ij|``, and the matching readings
  counted over each query's visible keys only.  The Taylor ε-rank bound is not reported: it bounds
  the ε-rank of ``exp(S)``, and the causal mask ``A = D⁻¹(exp S ∘ L)`` destroys that low rank.
  ``pullback`` measures the head's score form ``θ = (W_Q, b_Q, W_K, b_K) ↦ S`` (and its row
  softmax) at the layer's tokens *without the mask*, against the closed form of
  :mod:`theorem.numeric.pullback_bias`: GPT-2's head is one bilinear form
  ``S = X̃ W̃_Q W̃_Kᵀ X̃ᵀ·c``, which is what the d² statement is about; the mask then hides the
  entries ``j > i``, and the masked map's dimension is not that closed form (it is not claimed).
  ``fit`` is not applicable: the CSQ/poly2 fits are fits of bidirectional patterns.
* **Llama/Qwen2** (causal, rotary positions): ``rank`` and ``matching`` as for GPT-2, on the rotated
  queries and keys (the real scores ``S_ij = q_i·k_j/√d_k``).  ``pullback`` is not applicable:
  ``S_ij = x̃_iᵀ W̃_Q R_{j−i} W̃_Kᵀ x̃_j`` is a different bilinear form for each offset ``j − i``, so the
  head has no single ``M`` and the closed form (and ``d²``) does not describe its parametrization;
  ``fit`` is not applicable (causal).
"""

from __future__ import annotations

import math
from typing import Callable

import jax.numpy as jnp
import numpy as np

from theorem.kernels import SquaredKernel, get_kernel
from theorem.real.analysis import (Selection, _predicted_lower, _premise, _resolved, analyze,
                                   full_width_prediction, pullback_record, rank_record)
from theorem.util.precision import float64

__all__ = ["ROPE_REASON", "CAUSAL_FIT_REASON", "applicability", "causal_rank_record", "causal_matching_record",
           "analyze_checkpoint"]

ROPE_REASON = ("rotary positions: S_ij = x_i^T W_Q R_(j-i) W_K^T x_j is a different bilinear form for each "
               "offset j-i, so the head has no single M and the pullback closed form (and d^2) does not apply")
CAUSAL_FIT_REASON = "causal head: the CSQ/poly2 fits are fits of bidirectional patterns"
MASK_NOTE = ("measured on the head's score form at these tokens without the causal mask (one bilinear form "
             "per head); the masked map's dimension is not this closed form")


#: the kernels of :func:`theorem.real.analysis.matching_record`, in its order and with its parameters
MATCHING_KERNELS = {"softmax": ("softmax", {}), "csq": ("csq", {"shift": 1.0, "center": True}), "poly2": ("poly2", {})}


def applicability(model) -> dict[str, str]:
    """For each part, ``"yes"`` or what is measured instead / why it does not apply, for ``model``'s family."""
    causal, rope = bool(getattr(model, "causal", False)), bool(getattr(model, "rope", False))
    return {
        "rank": "yes" if not causal else "yes (causal weights; the Taylor ε-rank bound is not reported)",
        "matching": "yes" if not causal else "yes (each query's visible keys j ≤ i)",
        "pullback": ("not applicable: " + ROPE_REASON) if rope else ("yes" if not causal else "unmasked: " + MASK_NOTE),
        "fit": "yes" if not causal else "not applicable: " + CAUSAL_FIT_REASON,
    }


def causal_rank_record(weights: np.ndarray, scores: np.ndarray) -> dict:
    """:func:`~theorem.real.analysis.rank_record` of a causal pattern: ``B`` over the visible entries only."""
    n = weights.shape[0]
    visible = np.tril(np.ones((n, n), dtype=bool))
    rec = rank_record(weights, np.where(visible, scores, 0.0))
    rec["predicted_formula"] = "n (lower-triangular with a positive diagonal: always invertible)"
    rec["eps_rank_bound"] = {key: None for key in rec["eps_rank_bound"]}
    rec["rank_S"] = None
    rec["note"] = "causal: the Taylor ε-rank bound bounds exp(S), not the masked pattern; not reported"
    return rec


@float64
def causal_matching_record(q: np.ndarray, k: np.ndarray, weights: np.ndarray, queries: int = 32) -> dict:
    """:func:`~theorem.real.analysis.matching_record` with each query ``i`` against its visible keys ``j ≤ i``.

    The same readings, kernels, premises and resolution rule (the helpers of
    :mod:`theorem.real.analysis`); the CSQ and poly2 weights are the kernels' causal weights (CSQ
    centred over the visible keys, :meth:`theorem.kernels.SquaredKernel.base` with ``causal=True``).
    One n×n evaluation per kernel, so every query shares one compiled shape.
    """
    q, k, w_soft = (np.asarray(a, dtype=np.float64) for a in (q, k, weights))
    n, dk = q.shape
    rows = np.unique(np.linspace(0, n - 1, min(queries, n)).round().astype(int))
    norms = np.sqrt(np.sum(k * k, axis=1))
    out: dict = {"n": n, "queries": int(rows.size), "key_norm_cv": float(np.std(norms) / np.mean(norms)),
                 "visible_keys": "j <= i"}
    qj, kj = jnp.asarray(q), jnp.asarray(k)
    scores = jnp.asarray(q @ k.T / math.sqrt(dk))
    for name, (kname, params) in MATCHING_KERNELS.items():
        kern = get_kernel(kname, **params)
        w_all = w_soft if name == "softmax" else np.asarray(kern.weights(qj, kj, causal=True))
        squared = isinstance(kern, SquaredKernel)
        base = np.asarray(kern.base(scores, causal=True)) if squared else None
        rec = {}
        for reading in ("a", "b"):
            pairs = resolved = meas = pred = bad_queries = 0
            for i in rows:
                vis = i + 1
                s = k[:vis] @ q[i] / math.sqrt(dk)
                key = s if reading == "a" else -np.sum((k[:vis] - q[i]) ** 2, axis=1)
                prem = _premise(key)
                ok = prem & _resolved(w_all[i, :vis])
                measured = ok & (w_all[i, :vis][:, None] < w_all[i, :vis][None, :])
                predicted = ok & _predicted_lower(base[i, :vis] if squared else s, squared)
                pairs += int(prem.sum())
                resolved += int(ok.sum())
                meas += int(measured.sum())
                pred += int(predicted.sum())
                bad_queries += int(measured.any())
            rec[reading] = {"pairs": pairs, "resolved_pairs": resolved, "reversed": meas, "predicted_reversed": pred,
                            "fraction": meas / resolved if resolved else 0.0, "queries_violating": bad_queries}
        if name == "csq":  # visible keys on the falling side of the parabola
            rec["below_vertex_fraction"] = float(np.mean(np.concatenate([base[i, :i + 1] for i in rows]) < 0))
        out[name] = rec
    return out


def _not_applicable(reason: str) -> dict:
    return {"measured": None, "predicted": None, "status": "not-applicable", "reason": reason}


def causal_parts(model, trace, layer: int, head: int, sel: Selection) -> dict:
    """The parts of ``sel`` on one causal or rotary head, measured where they apply (module docstring)."""
    x, hp = trace.inputs[layer], model.head(layer, head)
    a, s = trace.weights[layer, head], trace.scores[layer, head]
    rec: dict = {}
    if "rank" in sel.parts:
        rec["rank"] = causal_rank_record(a, s)
    if "matching" in sel.parts:
        rec["matching"] = causal_matching_record(trace.q[layer, head], trace.k[layer, head], a, sel.queries)
    if "pullback" in sel.parts:
        if model.rope:
            na = _not_applicable(ROPE_REASON)
            rec["pullback"] = {"scores": na, "log-weights": na, "full_width": na}
        else:
            rec["pullback"] = {m: {**pullback_record(x, hp, m, sel.columns), "mask": MASK_NOTE}
                               for m in ("scores", "log-weights")}
            rec["pullback"]["full_width"] = full_width_prediction(x, hp)
    if "fit" in sel.parts:
        na = {"tv": None, "tv_uniform": None, "status": "not-applicable", "reason": CAUSAL_FIT_REASON}
        rec["fit"] = {"csq": na, "poly2": na}
    return rec


@float64
def analyze_checkpoint(model, text: str, sel: Selection, progress: Callable[[str], None] | None = None) -> list[dict]:
    """One record per (layer, head, n), the parts of ``sel`` measured where they apply (module docstring)."""
    bidirectional = not getattr(model, "causal", False) and not getattr(model, "rope", False)
    return analyze(model, text, sel, progress) if bidirectional else analyze(model, text, sel, progress, causal_parts)
