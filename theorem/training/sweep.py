"""The stability sweep: every kernel variant × seeds × learning rates, on several settings.

The experiment :mod:`theorem.experiments.stability` runs it (``python -m theorem.experiments stability``,
record ``theorem/data/records/stability.json``, which the training notebook plots and T6 reports);
the quick profile of the ledger runs :data:`QUICK_SETTINGS` live.

A *setting* fixes a task, a model shape, an optimizer and a learning-rate grid; each setting
is one compiled program training all variants side by side (:func:`.train.train_variants`).
The JSON holds, per setting and variant, the per-run numbers of :func:`.stability.run_stats`
(indexed ``[seed, lr]``) and loss/gradient-norm curves subsampled to ``CURVE_POINTS`` points;
:func:`recompute_summaries` recomputes the summaries from the per-run numbers, so the notebook and the
ledger apply the same rule to the same data.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import jax
import numpy as np

from theorem.training.model import ModelConfig
from theorem.training.stability import run_stats, summarize
from theorem.training.tasks import get_task
from theorem.training.train import STANDARD_VARIANTS, TrainConfig, Variant, train_variants
from theorem.util.executor import map_tasks
from theorem.util.precision import float64

__all__ = ["Setting", "QUICK_SETTINGS", "FULL_SETTINGS", "EXTRA_SETTINGS", "SEEDS", "ADAM_GRID", "SGD_GRID",
           "setting_by_name", "with_variants", "run_setting", "run_sweep", "recompute_summaries",
           "summaries_from_record"]

CURVE_POINTS = 50


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


_ADAM = _grid(-3.5, 0.5)  # the 5-seed design of the former record, kept for the extra settings
_SEEDS = (0, 1, 2, 3, 4)

# The full design: 10 seeds per (kernel, learning rate) cell and a grid of 0.25 decades, over the range where
# the former 0.5-decade sweep saw training start and divergence set in (below it nothing trains in the step
# budget, above it every kernel diverges), so a trainable width is resolved to a quarter decade.
SEEDS = tuple(range(10))
ADAM_GRID = _grid(-3.25, 0.75, 0.25)  # 17 rates, 5.6e-4 … 5.6
SGD_GRID = _grid(-1.0, 0.5, 0.25)  # 7 rates, 0.1 … 3.16 (the former grid: all five kernels diverge from 10 up)

FULL_SETTINGS: tuple[Setting, ...] = (
    Setting("mqar-32x4", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=400, batch_size=32), ADAM_GRID, SEEDS,
            "1 layer, pre-RMSNorm, Adam"),
    Setting("mqar-64x8", "mqar", (("seq_len", 64), ("num_pairs", 8), ("vocab_size", 64)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=300, batch_size=16), ADAM_GRID, SEEDS,
            "1 layer, pre-RMSNorm, Adam"),
    Setting("nearest-key-8", "nearest_key", (("num_keys", 8), ("key_dim", 4), ("value_dim", 4)),
            ModelConfig(d_model=16, d_key=8), TrainConfig(steps=400, batch_size=32), ADAM_GRID, SEEDS,
            "signed nearest-key retrieval with antipodal keys; 1 layer, pre-RMSNorm, Adam"),
    Setting("mqar-32x4-sgd", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16), TrainConfig(steps=400, batch_size=32, optimizer="sgd"), SGD_GRID, SEEDS,
            "pre-RMSNorm, plain SGD (no momentum, no clipping)"),
    Setting("mqar-32x4-smallinit-sgd", "mqar", (("seq_len", 32), ("num_pairs", 4), ("vocab_size", 32)),
            ModelConfig(d_model=32, d_key=16, init_scale=0.05), TrainConfig(steps=400, batch_size=32, optimizer="sgd"),
            SGD_GRID, SEEDS, "W_Q, W_K initialized 20× smaller (scores ≈ 0 at the start), plain SGD"),
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


@float64
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


def setting_by_name(name: str) -> Setting:
    """The setting called ``name`` among the quick, full and extra settings."""
    known = {s.name: s for s in FULL_SETTINGS + EXTRA_SETTINGS + QUICK_SETTINGS}
    if name not in known:
        raise ValueError(f"setting: unknown {name!r}; choose from {', '.join(sorted(known))}")
    return known[name]


def with_variants(setting: Setting, labels: Sequence[str] | None) -> Setting:
    """``setting`` training only the variants labelled ``labels`` (in the setting's order); ``None``: all."""
    if labels is None:
        return setting
    known = [v.label for v in setting.variants]
    unknown = [x for x in labels if x not in known]
    if unknown or not labels:
        raise ValueError(f"variants: unknown or none {unknown or list(labels)}; choose from {', '.join(known)}")
    return replace(setting, variants=tuple(v for v in setting.variants if v.label in labels))


@float64
def run_sweep(settings: Sequence[Setting], progress=None, *, workers: int | str | None = 1,
              address: str | None = None) -> dict[str, Any]:
    """Every setting trained (:func:`run_setting`), with what produced the numbers.  With ``workers > 1``
    (or an ``address``) the settings are tasks of :func:`theorem.util.executor.map_tasks` on Ray, one per
    worker at a time, each in float64, the records in the order of ``settings``; a line per finished
    setting goes to stderr then (``progress`` stays in this process)."""
    if workers == 1 and address is None:
        records = [run_setting(s, progress) for s in settings]
    else:
        names = [s.name for s in settings]
        records = map_tasks(run_setting, list(settings), workers=workers, address=address,
                            label=lambda s: s.name, progress=lambda i, r: f"{names[i]}: {r['seconds']:.0f} s",
                            threads=None)  # this process's XLA threading: the serial run's round-off
    return {
        "meta": {
            "generated_by": "python -m theorem.experiments stability",
            "jax": jax.__version__,
            "dtype": "float64",
            "curve_points": CURVE_POINTS,
        },
        "settings": records,
    }


def recompute_summaries(data: dict[str, Any]) -> dict[str, Any]:
    """A sweep (``run_sweep``'s dict, e.g. a record's result) with every summary recomputed from its per-run
    numbers, so that a stored sweep is judged by today's :func:`.stability.summarize`."""
    if "settings" not in data:
        raise ValueError("data: not a sweep (no 'settings')")
    for rec in data["settings"]:
        for label, summ in summaries_from_record(rec).items():
            rec["kernels"][label]["summary"] = summ
    return data
