"""T6.stab.sweep's rule driven, on synthetic evidence found by key, to each verdict it can return."""

from __future__ import annotations

import pytest

from theorem.claims import t6_stability as t6
from theorem.claims.ledger import Evidence, Verdict

LRS = [10.0 ** (-3 + 0.5 * i) for i in range(6)]


def summary(diverged_by_lr, trained_by_lr, seeds):
    runs = seeds * len(LRS)
    return {"runs": runs, "seeds": seeds, "lrs": LRS, "diverged_runs": sum(diverged_by_lr),
            "diverged_by_lr_count": list(diverged_by_lr), "train_count_by_lr": list(trained_by_lr),
            "divergence_rate": sum(diverged_by_lr) / runs, "grid_spacing_decades": 0.5,
            "trainable_width_decades": 0.0, "best_accuracy_mean": 0.9, "best_accuracy_std": 0.01}


def kernels(poly, csq_pen, soft, seeds=20, csq=None):
    def s(div):
        return summary(div, [seeds - d for d in div], seeds)
    return {"softmax": s(soft), "poly2": s(poly), "csq": s(csq if csq is not None else csq_pen),
            "csq+penalty": s(csq_pen), "linear": s(soft)}


QUIET = [0] * 6
LOUD = [0, 0, 10, 20, 20, 20]  # 70 of 120 runs diverge


def sweep_ev(name, summ, key_root="sweep"):
    return Evidence("numeric", f"{name}: synthetic", None, {"name": name, "summaries": summ}, key=f"{key_root}.{name}")


def record_ev(settings):
    return Evidence("record", "synthetic record", None,
                    {"settings": [{"name": n, "summaries": s} for n, s in settings], "provenance": {"git_commit": "abc"},
                     "profile": "medium"},
                    key="record.stability")


def test_holds_when_every_setting_separates_csq_from_poly2():
    out = t6.rule_sweep([sweep_ev("a", kernels(LOUD, QUIET, QUIET)), sweep_ev("b", kernels(LOUD, QUIET, QUIET))])
    assert out.verdict is Verdict.HOLDS


def test_holds_with_conditions_when_only_some_settings_separate():
    out = t6.rule_sweep([sweep_ev("a", kernels(LOUD, QUIET, QUIET)), sweep_ev("b", kernels(QUIET, QUIET, QUIET))])
    assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and "a" in out.corrected


def test_holds_with_conditions_without_the_penalty():
    out = t6.rule_sweep([sweep_ev("a", kernels(LOUD, LOUD, QUIET, csq=QUIET))])
    assert out.verdict is Verdict.HOLDS_WITH_CONDITIONS and "without it in a" in out.corrected


def test_fails_when_csq_beats_poly2_but_is_less_stable_than_softmax():
    half = [0, 0, 5, 10, 10, 10]
    out = t6.rule_sweep([sweep_ev("a", kernels(LOUD, half, QUIET, csq=half))])
    assert out.verdict is Verdict.FAILS and "softmax in a" in out.corrected


def test_fails_when_csq_is_significantly_less_stable_and_never_more():
    out = t6.rule_sweep([sweep_ev("a", kernels(QUIET, LOUD, QUIET)), sweep_ev("b", kernels(QUIET, QUIET, QUIET))])
    assert out.verdict is Verdict.FAILS and out.counterexample["setting"] == "a"


def test_quick_runs_with_no_divergence_are_open_never_fails():
    quick = kernels(QUIET[:6], QUIET, QUIET, seeds=2)
    out = t6.rule_sweep([sweep_ev("q", quick, "quick")])
    assert out.verdict is Verdict.OPEN
    assert "cannot detect" in out.because and "quick smoke runs only" in out.because


def test_the_recorded_sweep_decides_in_the_quick_profile_and_names_its_design():
    ev = [sweep_ev("q", kernels(QUIET, QUIET, QUIET, seeds=2), "quick"),
          record_ev([("a", kernels(LOUD, QUIET, QUIET, seeds=24))])]
    out = t6.rule_sweep(ev)
    assert out.verdict is Verdict.HOLDS and out.because.startswith("from the recorded sweep")
    assert "profile medium" in out.because and "24 seeds per cell" in out.because


def test_open_names_csq_without_penalty_when_only_it_is_separated_from_poly2():
    # CSQ without the penalty diverges far more than poly2 and softmax; CSQ+penalty as poly2 and softmax
    half = [0, 0, 5, 10, 10, 10]
    out = t6.rule_sweep([sweep_ev("a", kernels(half, half, half, csq=LOUD))])
    assert out.verdict is Verdict.OPEN
    assert out.because.startswith("from the runs made now: no 95 % interval separates CSQ+penalty from poly2")
    assert "(CSQ without the penalty: 'less' vs poly2 and 'less' vs softmax in a)" in out.because


def test_open_when_a_kernel_is_missing():
    summ = kernels(LOUD, QUIET, QUIET)
    del summ["softmax"]
    out = t6.rule_sweep([sweep_ev("a", summ)])
    assert out.verdict is Verdict.OPEN and "no setting" in out.because


@pytest.mark.parametrize("seeds", [5, 10])
def test_the_open_reason_names_the_power_of_the_design(seeds):
    small = [0, 0, 0, 0, 0, 1]
    out = t6.rule_sweep([sweep_ev("a", kernels(small, QUIET, QUIET, seeds=seeds))])
    assert out.verdict is Verdict.OPEN
    assert "smallest detectable reduction" in out.because and f"the design has {seeds}" in out.because
    assert out.because.index("softmax") < out.because.index("poly2 1/")  # softmax shown first in the table
