"""The sweeps behind ``notebooks/06_real_model``, run as experiments with provenance
(``python -m theorem.experiments real_heads real_pullback real_fits``; ``real_pullback_full`` on its own),
whose records live under ``theorem/data/records/``:

* ``real_heads``: every head (6 × 12) at every length of :data:`HEAD_LENGTHS`: rank, ε-ranks, B,
  matching (fast parts);
* ``real_pullback``: the pulled-back rank with biases (scores and log-weights maps, sub-head of
  :data:`PULLBACK_COLUMNS` coordinates) for one head per layer (:data:`SAMPLE_HEADS`) at
  :data:`PULLBACK_LENGTHS` (below and above d = 384), and the whole head (k = 32) at the shortest
  length, with the closed form for the whole head at every length;
* ``real_pullback_full`` (+ ``.npz``): the *whole* head (k = 32, 24,640 coordinates) above d, at
  :data:`FULL_HEAD_LENGTH` tokens, θ ↦ log A, by the ``kron`` route (:mod:`theorem.real.whole_head`: the
  map's 24,640² Gram from its Kronecker structure, 4.5 GiB, pivoted Cholesky and a proved gap bound),
  beside the closed form, with the pivots; the ``sketch`` route (24,656 pulled-back rank-one cotangents
  and the SVD of that 24,656 × 24,640 matrix: about an hour, 15 GB) is still available;
* ``real_pullback_layer0`` (+ ``.npz``): the same, for every head of layer 0;
* ``real_fits`` (+ ``.npz``): the CSQ and poly2 fits of the sample heads at
  :data:`FIT_LENGTHS`, with the real and fitted patterns of :data:`HEATMAP_LENGTH` tokens.

The notebook plots these records and recomputes one head live, so that it stays within its time budget.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from theorem.real.analysis import Selection, analyze, fit_record, full_width_prediction, pullback_record
from theorem.real.model import load_model
from theorem.real.text import load_text, window
from theorem.real.whole_head import kron_record

HEAD_LENGTHS = (16, 40, 128, 256, 400, 512)
SAMPLE_HEADS = tuple((layer, (3 * layer + 2) % 12) for layer in range(6))
PULLBACK_LENGTHS = (40, 400, 512)
PULLBACK_COLUMNS = 2
FULL_HEAD = SAMPLE_HEADS[0]
FULL_HEAD_LENGTH = 400
FIT_LENGTHS = (16, 32, 64, 128, 256, 512)
HEATMAP_LENGTH = 64
TEXT = "declaration"


def heads_sweep(model, text: str, lengths=HEAD_LENGTHS, log=print) -> list[dict]:
    sel = Selection(tuple(range(model.config.layers)), tuple(range(model.config.heads)), tuple(lengths),
                    ("rank", "matching"))
    return analyze(model, text, sel, progress=None)


def pullback_sweep(model, text: str, heads=SAMPLE_HEADS, lengths=PULLBACK_LENGTHS, columns=PULLBACK_COLUMNS,
                   full_width_at: int | None = None, log=print) -> list[dict]:
    out = []
    for n in lengths:
        trace = model.trace(window(model, text, n), layers=max(layer for layer, _ in heads) + 1)
        for layer, head in heads:
            hp = model.head(layer, head)
            x = trace.inputs[layer]
            for m in ("scores", "log-weights"):
                rec = pullback_record(x, hp, m, columns)
                out.append({"layer": layer, "head": head, **rec})
                log(f"pullback L{layer}H{head} n={n} {m}: {rec['measured']} vs {rec['predicted']} ({rec['status']})")
            if full_width_at == n and (layer, head) == heads[0]:
                for m in ("scores", "log-weights"):
                    rec = pullback_record(x, hp, m, None)
                    out.append({"layer": layer, "head": head, **rec})
                    log(f"pullback full L{layer}H{head} n={n} {m}: {rec['measured']} vs {rec['predicted']}")
            fw = full_width_prediction(x, hp)
            out.append({"layer": layer, "head": head, "map": "log-weights (closed form, whole head)", **fw})
    return out


def spectrum_margins(sv, rank: int, tolerance: float) -> dict:
    """Where the cut sits: σ₁, σ_r, σ_{r+1} and the last two over the tolerance (the rank test asks
    σ_r ≥ 100× and, with a reference scale, σ_{r+1} ≤ 1/10 of it)."""
    sv = np.sort(np.asarray(sv, dtype=np.float64))[::-1]
    kept = float(sv[rank - 1]) if rank > 0 else float("nan")
    dropped = float(sv[rank]) if rank < sv.size else 0.0
    return {"sigma_1": float(sv[0]), "sigma_r": kept, "sigma_r_plus_1": dropped,
            "kept_over_tolerance": kept / tolerance, "dropped_over_tolerance": dropped / tolerance}


def full_head_sweep(model, text: str, head=FULL_HEAD, n: int = FULL_HEAD_LENGTH, maps=("log-weights",),
                    route: str = "kron", log=print, done=None, columns: int | None = None,
                    certify: bool = True) -> list[dict]:
    """The whole head's pulled-back rank above d, with its spectrum (``done(records)`` after each map):
    route ``kron`` (:func:`theorem.real.whole_head.kron_record`, certified) or a route of
    :func:`theorem.numeric.pullback_bias.measure` (``sketch``, ``gram``, ``dense``); ``columns`` (kron only)
    varies the first ``columns`` query/key coordinates (None: the whole head)."""
    layer, h = head
    trace = model.trace(window(model, text, n), layers=layer + 1)
    hp = model.head(layer, h)
    out = []
    for m in maps:
        if route == "kron":
            rec = kron_record(trace.inputs[layer], hp, m, columns, certify=certify, log=log)
        else:
            with tqdm(desc=f"L{layer}H{h} n={n} {m}: pulled-back rows", unit="row", leave=False) as bar:
                rec = pullback_record(trace.inputs[layer], hp, m, columns, route=route, progress=bar.update,
                                      spectrum=True)
        out.append({"layer": layer, "head": h, **rec})
        meas = rec["measurement"]
        log(f"whole head L{layer}H{h} n={n} {m}: measured {rec['measured']} ({meas['status']}, gap "
            f"{meas['gap']}) vs closed form {rec['predicted']} in {meas['seconds']:.0f} s")
        if done is not None:
            done(out)
    return out


def fit_sweep(model, text: str, heads=SAMPLE_HEADS, lengths=FIT_LENGTHS, steps: int = 300, log=print,
              heatmap_n: int = HEATMAP_LENGTH):
    """CSQ and poly2 fits of ``heads`` at ``lengths``; the real and fitted patterns at ``heatmap_n`` tokens."""
    records, patterns = [], {}
    for n in lengths:
        trace = model.trace(window(model, text, n), layers=max(layer for layer, _ in heads) + 1)
        for layer, head in heads:
            hp = model.head(layer, head)
            a = trace.weights[layer, head]
            for kern in ("csq", "poly2"):
                rec = fit_record(trace.inputs[layer], a, hp, kern, steps, keep=(n == heatmap_n))
                if n == heatmap_n:
                    patterns[f"L{layer}H{head}_{kern}"] = rec.pop("fitted")
                    patterns[f"L{layer}H{head}_real"] = a
                records.append({"layer": layer, "head": head, **rec})
                log(f"fit L{layer}H{head} n={n} {kern}: TV {rec['tv']:.3f} (uniform {rec['tv_uniform']:.3f})")
    return records, patterns


def model_and_text(text: str = TEXT):
    """The model (loaded once per process) and the text ``text`` (RealModelUnavailable without ``make real``)."""
    return load_model(), load_text(text)


def meta(settings: dict) -> dict:
    """What every real-model record says about its input."""
    return {"text": settings["text"], "model": "all-MiniLM-L6-v2"}


def full_head_rows(recs: list[dict]) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The whole-head records without their spectra (with where the cut sits), and the spectra by name:
    the singular values (sketch, dense), or the pivots ``R_jj²`` of the Gram (``kron``: eigenvalue-like,
    so the margins are of their square roots, in σ units)."""
    spectra, rows = {}, []
    for r in recs:
        key = "pivots" if "pivots" in r else "singular_values"
        sv = np.asarray(r[key], dtype=np.float64)
        spectra[f"L{r['layer']}H{r['head']}_{r['map']}"] = sv
        tol = r["measurement"]["tolerance"]
        margins = (spectrum_margins(np.sqrt(sv), r["measured"], np.sqrt(tol)) if key == "pivots"
                   else spectrum_margins(sv, r["measured"], tol))
        rows.append({**{k: v for k, v in r.items() if k != key}, "spectrum": key, "margins": margins})
    return rows, spectra
