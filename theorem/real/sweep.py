"""The sweeps behind ``notebooks/06_real_model``: computed here, saved under ``notebooks/data/``.

``python -m theorem.real.sweep [--out notebooks/data] [--quick]`` writes

* ``06_heads.json``: every head (6 × 12) at every length of :data:`HEAD_LENGTHS`: rank, ε-ranks, B,
  matching (fast parts);
* ``06_pullback.json``: the pulled-back rank with biases (scores and log-weights maps, sub-head of
  :data:`PULLBACK_COLUMNS` coordinates) for one head per layer (:data:`SAMPLE_HEADS`) at
  :data:`PULLBACK_LENGTHS` (below and above d = 384), and the whole head (k = 32) at the shortest
  length, with the closed form for the whole head at every length;
* ``06_fits.json`` and ``06_fits.npz``: the CSQ and poly2 fits of the sample heads at
  :data:`FIT_LENGTHS`, with the real and fitted patterns of :data:`HEATMAP_LENGTH` tokens.

The notebook plots these files and recomputes one head live, so that it stays within its time budget.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from theorem.real.analysis import Selection, analyze, fit_record, full_width_prediction, pullback_record

HEAD_LENGTHS = (16, 40, 128, 256, 400, 512)
SAMPLE_HEADS = tuple((layer, (3 * layer + 2) % 12) for layer in range(6))
PULLBACK_LENGTHS = (40, 400, 512)
PULLBACK_COLUMNS = 2
FIT_LENGTHS = (16, 32, 64, 128, 256, 512)
HEATMAP_LENGTH = 64
TEXT = "declaration"


def _dump(obj, path: Path) -> None:
    from theorem.report import _jsonable

    path.write_text(json.dumps(_jsonable(obj), ensure_ascii=False, indent=1))


def heads_sweep(model, text: str, lengths=HEAD_LENGTHS, log=print) -> list[dict]:
    sel = Selection(tuple(range(model.config.layers)), tuple(range(model.config.heads)), tuple(lengths),
                    ("rank", "matching"))
    return analyze(model, text, sel, progress=None)


def pullback_sweep(model, text: str, heads=SAMPLE_HEADS, lengths=PULLBACK_LENGTHS, columns=PULLBACK_COLUMNS,
                   full_width_at: int | None = None, log=print) -> list[dict]:
    from theorem.real.text import window

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


def fit_sweep(model, text: str, heads=SAMPLE_HEADS, lengths=FIT_LENGTHS, steps: int = 300, log=print):
    from theorem.real.text import window

    records, patterns = [], {}
    for n in lengths:
        trace = model.trace(window(model, text, n), layers=max(layer for layer, _ in heads) + 1)
        for layer, head in heads:
            hp = model.head(layer, head)
            a = trace.weights[layer, head]
            for kern in ("csq", "poly2"):
                rec = fit_record(trace.inputs[layer], a, hp, kern, steps, keep=(n == HEATMAP_LENGTH))
                if n == HEATMAP_LENGTH:
                    patterns[f"L{layer}H{head}_{kern}"] = rec.pop("fitted")
                    patterns[f"L{layer}H{head}_real"] = a
                records.append({"layer": layer, "head": head, **rec})
                log(f"fit L{layer}H{head} n={n} {kern}: TV {rec['tv']:.3f} (uniform {rec['tv_uniform']:.3f})")
    return records, patterns


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m theorem.real.sweep")
    p.add_argument("--out", default="notebooks/data")
    p.add_argument("--only", default="heads,pullback,fits")
    args = p.parse_args(argv)
    from theorem.real.model import load_model
    from theorem.real.text import load_text

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model()
    text = load_text(TEXT)
    only = set(args.only.split(","))
    meta = {"text": TEXT, "model": "all-MiniLM-L6-v2"}
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if "heads" in only:
        t = time.perf_counter()
        recs = heads_sweep(model, text)
        _dump({"meta": {**meta, "lengths": HEAD_LENGTHS, "seconds": time.perf_counter() - t}, "records": recs},
              out / "06_heads.json")
        log(f"heads: {len(recs)} records in {time.perf_counter() - t:.0f} s")
    if "pullback" in only:
        t = time.perf_counter()
        recs = pullback_sweep(model, text, full_width_at=PULLBACK_LENGTHS[0], log=log)
        _dump({"meta": {**meta, "lengths": PULLBACK_LENGTHS, "columns": PULLBACK_COLUMNS, "heads": SAMPLE_HEADS,
                        "seconds": time.perf_counter() - t}, "records": recs}, out / "06_pullback.json")
        log(f"pullback: {len(recs)} records in {time.perf_counter() - t:.0f} s")
    if "fits" in only:
        t = time.perf_counter()
        recs, pats = fit_sweep(model, text, log=log)
        _dump({"meta": {**meta, "lengths": FIT_LENGTHS, "heads": SAMPLE_HEADS, "heatmap_n": HEATMAP_LENGTH,
                        "seconds": time.perf_counter() - t}, "records": recs}, out / "06_fits.json")
        np.savez_compressed(out / "06_fits.npz", **pats)
        log(f"fits: {len(recs)} records in {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
