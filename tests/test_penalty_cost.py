"""The soft penalty's cost read off the traced gradient programs (theorem.numeric.penalty_cost): the exact
penalty's gradient builds n×n arrays and its operations grow by 16 when n grows by 4; the candidates'
(moments, sampled keys) build none and grow by 4, with the array shapes their definitions predict.  The
candidates' values are checked against exact rationals in tests/test_kernels.py.  And the training harness
takes the penalty as a parameter: bad input is refused before any work; the experiment's QUICK setting
trains every penalty (slow: a minute of compiling)."""

from __future__ import annotations

import math

import pytest

from theorem.experiments import penalty_candidates
from theorem.kernels.penalties import PenaltySpec
from theorem.numeric import penalty_cost as pc
from theorem.training.penalty_sweep import penalty_grid

SIZES = (128, 512)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_the_exact_gradient_is_quadratic_and_the_candidates_are_linear(causal):
    exact = pc.penalty_profile(PenaltySpec("exact"), SIZES, dk=3, causal=causal)
    assert [128, 128] in exact[0]["square"] and [512, 512] in exact[1]["square"]
    assert exact[1]["forward_and_backward"] / exact[0]["forward_and_backward"] == pytest.approx(16, rel=0.01)
    assert exact[1]["array_elements"] / exact[0]["array_elements"] == pytest.approx(16, rel=0.02)
    for spec, largest in ((PenaltySpec("moments", kappa=2.0), [512, 3, 3] if causal else [512, 3]),
                          (PenaltySpec("sampled", m=8), [512, 8, 3])):
        rows = pc.penalty_profile(spec, SIZES, dk=3, causal=causal)
        assert rows[0]["square"] == rows[1]["square"] == []
        assert rows[1]["forward_and_backward"] / rows[0]["forward_and_backward"] == pytest.approx(4, rel=0.01)
        assert rows[1]["array_elements"] / rows[0]["array_elements"] == pytest.approx(4, rel=0.01)
        assert rows[1]["largest_array"] == largest


def test_growth_exponent_is_the_least_squares_slope():
    rows = [{"n": n, "forward_and_backward": 3 * n**2 + 7} for n in (100, 1000, 10000)]
    # oracle: slope through (log n, log(3n² + 7)) by the normal equations, written here
    xs = [math.log(r["n"]) for r in rows]
    ys = [math.log(r["forward_and_backward"]) for r in rows]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    assert pc.growth_exponent(rows) == pytest.approx(slope, rel=1e-12)
    assert 1.99 < slope < 2.0
    with pytest.raises(ValueError):
        pc.growth_exponent(rows[:1])


# -- the training harness takes the penalty as a parameter (training/penalty_sweep.py) ---------------------


def test_penalty_grid_rejects_bad_input_before_any_work():
    for kwargs in ({"lams": (-1.0,)}, {"lrs": (0.0,)}, {"seeds": ()}, {"kernel_name": "poly2"}):
        args = {"lams": (1.0,), "lrs": (0.03,), "seeds": (0,)} | kwargs
        with pytest.raises(ValueError):
            penalty_grid(PenaltySpec("moments"), args.pop("lams"), args.pop("lrs"), args.pop("seeds"), **args)


@pytest.mark.slow
def test_the_quick_experiment_trains_every_penalty_and_counts_their_cost():
    settings = penalty_candidates.QUICK
    result = penalty_candidates.run(settings, log=lambda msg: None)
    labels = [penalty_candidates.spec_of(e).label for e in settings["penalties"]]
    runs = result["runs"]
    assert sorted({r["label"] for r in runs}) == sorted(["none", *labels])
    assert len(runs) == len(settings["seeds"]) * len(settings["lrs"]) * (1 + len(labels) * len(settings["lams"]))
    for r in runs:  # the held-out numbers are rates and losses, divergence and training are decided per run
        assert 0 <= r["a_rate"] <= 1 and r["task_loss"] > 0 and isinstance(r["diverged"], bool)
        assert r["trained"] == (r["task_loss"] < math.log(settings["n"]))
    cost = {p["label"]: p for p in result["cost"]["penalties"]}
    assert cost["exact"]["square_arrays"] > 0 and all(cost[x]["square_arrays"] == 0 for x in labels[1:])
