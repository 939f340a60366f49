"""Which module runs which experiment (name → module under :mod:`theorem.experiments`)."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXPERIMENTS", "experiment_module", "UnknownExperimentError"]

#: record name → module; every committed record is made by exactly one of these
EXPERIMENTS: dict[str, str] = {
    "bench_attention": "theorem.experiments.bench_attention",
    "bench_attention_calibration": "theorem.experiments.bench_attention_calibration",
    "matching_properties": "theorem.experiments.matching_properties",
    "matching_contrast": "theorem.experiments.matching_contrast",
    "matching_rates": "theorem.experiments.matching_rates",
    "matching_penalty": "theorem.experiments.matching_penalty",
    "matching_bottleneck": "theorem.experiments.matching_bottleneck",
    "matching_causal": "theorem.experiments.matching_causal",
    "stability": "theorem.experiments.stability",
    "depth": "theorem.experiments.depth",
    "function_dimension": "theorem.experiments.function_dimension",
    "real_heads": "theorem.experiments.real_heads",
    "real_pullback": "theorem.experiments.real_pullback",
    "real_fits": "theorem.experiments.real_fits",
    "real_pullback_full": "theorem.experiments.real_pullback_full",
    "real_pullback_full_status": "theorem.experiments.real_pullback_full_status",
    "real_pullback_layer0": "theorem.experiments.real_pullback_layer0",
    "eps_rank_sweep": "theorem.experiments.eps_rank_sweep",
    "eps_rank_small_d": "theorem.experiments.eps_rank_small_d",
    "penalty_candidates": "theorem.experiments.penalty_candidates",
    "spans": "theorem.experiments.spans",
    "pullback_sweep": "theorem.experiments.pullback_sweep",
    "attention_rank_sweep": "theorem.experiments.attention_rank_sweep",
}


class UnknownExperimentError(ValueError):
    pass


def experiment_module(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise UnknownExperimentError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS) or '(none)'}")
    return importlib.import_module(EXPERIMENTS[name])
