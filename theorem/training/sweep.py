"""The stability sweep: every kernel variant × seeds × learning rates, on several settings.

``python -m theorem.training.sweep --full`` runs the complete sweep and writes
``notebooks/data/05_stability.json`` (the data the training notebook plots);
``--quick`` runs the small version the ledger runs.  ``--only NAME`` restricts to one setting.

A *setting* fixes a task, a model shape, an optimizer and a learning-rate grid; each setting
is one compiled program training all variants side by side (:func:`.train.train_variants`).
The JSON holds, per setting and variant, the per-run numbers of :func:`.stability.run_stats`
(indexed ``[seed, lr]``) and loss/gradient-norm curves subsampled to ``CURVE_POINTS`` points;
:func:`load_sweep` recomputes the summaries from the per-run numbers, so the notebook and the
ledger apply the same rule to the same data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from theorem.training.model import ModelConfig
from theorem.training.stability import run_stats, summarize
from theorem.training.tasks import get_task
from theorem.training.train import STANDARD_VARIANTS, TrainConfig, Variant, train_variants

__all__ = ["Setting", "QUICK_SETTINGS", "FULL_SETTINGS", "EXTRA_SETTINGS", "run_setting", "run_sweep", "load_sweep", "main"]

CURVE_POINTS = 50
DEFAULT_OUT = Path("notebooks/data/05_stability.json")


def _grid(lo: float, hi: float, step: float = 0.5) -> tuple[float, ...]:
    """``10**e`` for ``e`` from ``lo`` to ``hi`` (decades) in steps of ``step``."""
    count = int(round((hi - lo) / step)) + 1
    return tuple(float(10.0 ** (lo + i * step)) for i in range(count))


@dataclass(frozen=True)
class Setting:
    """A task, a model shape, an optimizer and a learning-rate grid."""

    name: str
    task: str
    task_params: tuple[tuple[str, Any], ...]
    model: ModelConfig
    train: TrainConfig
    lrs: tuple[float, ...]
    seeds: tuple[int, ...]
    note: str = ""
    variants: tuple[Variant, ...] = field(default=STANDARD_VARIANTS)
    share_program: bool = False  # True: one program for all kernels (less compiling: the quick profile)

    @property
    def task_obj(self):
        return get_task(self.task, **dict(self.task_params))

    def describe(self) -> dict[str, Any]:
        m = self.model
        return {
            "name": self.name,
            "task": self.task_obj.describe(),
            "chance_accuracy": self.task_obj.chance_accuracy,
            "model": {"d_model": m.d_model, "d_key": m.d_key, "n_layers": m.n_layers, "norm": m.norm,
                      "shift_embedding": m.shift_embedding, "init_scale": m.init_scale},
            "train": {k: v for k, v in asdict(self.train).items() if k not in ("fast_compile", "penalty")},
            "lrs": list(self.lrs),
            "seeds": list(self.seeds),
            "variants": [{"label": v.label, "kernel": v.kernel, "params": dict(v.kernel_params),
                          "penalty": v.penalty} for v in self.variants],
            "note": self.note,
        }


_ADAM = _grid(-3.5, 0.5)
_SEEDS = (0, 1, 2, 3, 4)

_SGD = _grid(-1.0, 2.0)

FULL_SETTINGS: tuple[Setting, ...] = (
    Setting("mqar-32x4", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=400, batch_size=32), _ADAM, _SEEDS,
            "1 layer, pre-RMSNorm, Adam"),
    Setting("mqar-64x8", "mqar", (("seq_len", 64), ("num_pairs", 8), ("vocab_size", 64)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=300, batch_size=16), _ADAM, _SEEDS,
            "1 layer, pre-RMSNorm, Adam"),
    Setting("nearest-key-8", "nearest_key", (("num_keys", 8), ("key_dim", 4), ("value_dim", 4)),
            ModelConfig(d_model=16, d_key=8), TrainConfig(steps=400, batch_size=32), _ADAM, _SEEDS,
            "signed nearest-key retrieval with antipodal keys; 1 layer, pre-RMSNorm, Adam"),
    Setting("mqar-32x4-sgd", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=400, batch_size=32, optimizer="sgd"), _SGD, _SEEDS,
            "pre-RMSNorm, plain SGD (no momentum, no clipping)"),
    Setting("mqar-32x4-smallinit-sgd", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16, init_scale=0.05), TrainConfig(steps=400, batch_size=32, optimizer="sgd"),
            _SGD, _SEEDS, "W_Q, W_K initialized 20× smaller (scores ≈ 0 at the start), plain SGD"),
)

# defined and runnable by name (``--only NAME``), not part of ``--full`` (too slow for 2 shared cores)
EXTRA_SETTINGS: tuple[Setting, ...] = (
    Setting("mqar-96x16", "mqar", (("seq_len", 96), ("num_pairs", 16), ("vocab_size", 64)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=400, batch_size=16), _ADAM, _SEEDS,
            "1 layer, pre-RMSNorm, Adam"),
    Setting("mqar-32x4-nonorm", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16, norm=False), TrainConfig(steps=400, batch_size=32), _ADAM, _SEEDS,
            "no normalization layer, Adam"),
    Setting("mqar-32x4-2layer", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16, n_layers=2, shift_embedding=False), TrainConfig(steps=600, batch_size=32),
            _ADAM, _SEEDS, "2 layers, no shift embedding (an induction circuit is needed), Adam"),
)

QUICK_SETTINGS: tuple[Setting, ...] = (
    Setting("mqar-16x2-quick", "mqar", (("seq_len", 16), ("num_pairs", 2), ("vocab_size", 16)),
            ModelConfig(d_model=16, d_key=8), TrainConfig(steps=150, batch_size=16, eval_batch=128, fast_compile=True),
            _grid(-2.5, 0.5, 1.0), (0, 1), "quick profile: tiny MQAR, 1 layer, pre-RMSNorm, Adam", share_program=True),
)


def _curve(a: np.ndarray, points: int = CURVE_POINTS) -> list:
    """``[..., steps]`` → ``[..., points]`` by averaging blocks (non-finite stays non-finite)."""
    steps = a.shape[-1]
    edges = np.linspace(0, steps, min(points, steps) + 1).astype(int)
    with np.errstate(invalid="ignore", over="ignore"):
        blocks = [np.mean(a[..., lo:hi], axis=-1) for lo, hi in zip(edges[:-1], edges[1:])]
    out = np.stack(blocks, axis=-1)
    return _round(out)


def _round(a) -> Any:
    """Nested lists with 5 significant digits; ±inf and NaN as strings (JSON has neither)."""
    a = np.asarray(a)
    if a.dtype == bool:
        return a.tolist()
    flat = [
        (float(f"{x:.5g}") if np.isfinite(x) else ("nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")))
        for x in a.ravel().tolist()
    ]
    return np.asarray(flat, dtype=object).reshape(a.shape).tolist()


def _unround(a) -> np.ndarray:
    return np.vectorize(float, otypes=[np.float64])(np.asarray(a, dtype=object))


def run_setting(setting: Setting, progress=None) -> dict[str, Any]:
    """Train every variant of ``setting``; per-run numbers, curves and summaries (JSON-able)."""
    task = setting.task_obj
    start = time.perf_counter()
    results = train_variants(task, setting.model, setting.train, setting.variants, setting.lrs, setting.seeds,
                             share_program=setting.share_program)
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {**setting.describe(), "seconds": round(seconds, 1), "kernels": {}}
    for label, res in results.items():
        stats = run_stats(res.loss, res.grad_norm, res.eval_acc)
        out["kernels"][label] = {
            "runs": {k: _round(v) for k, v in stats.items()},
            "curves": {"loss": _curve(res.loss), "grad_norm": _curve(res.grad_norm)},
            "summary": summarize(stats, setting.lrs, task.chance_accuracy),
        }
    if progress is not None:
        progress(f"{setting.name}: {seconds:.0f} s")
    return out


def summaries_from_record(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Recompute every kernel's summary of a stored setting from its per-run numbers."""
    out = {}
    for label, data in record["kernels"].items():
        stats = {k: (np.asarray(v, dtype=bool) if k == "nonfinite" else _unround(v)) for k, v in data["runs"].items()}
        out[label] = summarize(stats, record["lrs"], record["chance_accuracy"])
    return out


def run_sweep(settings: Sequence[Setting], progress=None) -> dict[str, Any]:
    import jax

    records = [run_setting(s, progress) for s in settings]
    return {
        "meta": {
            "generated_by": "python -m theorem.training.sweep",
            "jax": jax.__version__,
            "dtype": "float64",
            "curve_points": CURVE_POINTS,
        },
        "settings": records,
    }


def load_sweep(path: str | Path) -> dict[str, Any]:
    """Read a sweep JSON and recompute the summaries from its per-run numbers."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no sweep file at {path}")
    data = json.loads(path.read_text())
    if "settings" not in data:
        raise ValueError(f"path: {path} is not a sweep file (no 'settings')")
    for rec in data["settings"]:
        for label, summ in summaries_from_record(rec).items():
            rec["kernels"][label]["summary"] = summ
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m theorem.training.sweep", description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true", help="the complete sweep (about an hour on 2 busy cores)")
    g.add_argument("--quick", action="store_true", help="the small version the ledger runs (default)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only these settings (repeatable; also the extra settings not in --full)")
    p.add_argument("--out", default=None, help=f"JSON file to write (default {DEFAULT_OUT} for --full, none for --quick)")
    args = p.parse_args(argv)
    settings = FULL_SETTINGS if args.full else QUICK_SETTINGS
    if args.only:
        known = {s.name: s for s in FULL_SETTINGS + EXTRA_SETTINGS + QUICK_SETTINGS}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            print(f"sweep: unknown setting(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}", file=sys.stderr)
            return 2
        settings = tuple(known[n] for n in args.only)
    out = args.out if args.out is not None else (str(DEFAULT_OUT) if args.full else None)
    data = run_sweep(settings, progress=lambda m: print(m, file=sys.stderr, flush=True))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(out).with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        tmp.replace(out)
        print(f"wrote {out}", file=sys.stderr)
    for rec in data["settings"]:
        print(rec["name"], rec["task"])
        for label, k in rec["kernels"].items():
            s = k["summary"]
            print(f"  {label:12s} diverged {s['divergence_rate']:.2f}  width {s['trainable_width_decades']:.1f} dec  "
                  f"best acc {s['best_accuracy_mean']:.2f}±{s['best_accuracy_std']:.2f} @ {s['best_lr']:.3g}  "
                  f"grad median {s['grad_median']:.3g} p99 {s['grad_p99_median']:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
