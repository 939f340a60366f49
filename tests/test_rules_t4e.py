"""T4.e's rule driven, on synthetic per-seed rows (through the same summary the reading uses), to each verdict
it can return; the intervals against hand-computed t-intervals."""

from __future__ import annotations

import math

import pytest

from theorem.claims import t4e_causal as t4e
from theorem.claims.ledger import Evidence, Verdict

ARMS = ("linear", "rebased", "csq", "hedgehog", "softmax")
# per-seed deviations, different per arm (paired differences then have a spread)
JITTER = {"linear": (-0.02, 0.01, 0.0, 0.02, -0.01), "rebased": (0.01, -0.01, 0.02, 0.0, -0.02),
          "csq": (0.0, 0.02, -0.02, 0.01, -0.01), "hedgehog": (0.02, 0.0, -0.01, -0.02, 0.01),
          "softmax": (0.005, -0.005, 0.0, 0.004, -0.004)}
A_RATE = {"linear": 0.30, "rebased": 0.05, "csq": 0.07, "hedgehog": 0.31, "softmax": 0.0}


def rows(acc: dict[str, float], seeds=5, a_rate=A_RATE, spread=1.0, in_model=True):
    out = []
    for k in ARMS:
        for s in range(seeds):
            r = {"kernel": k, "seed": s, "lr": 3e-3, "eval_acc": acc[k] + spread * JITTER[k][s % 5]}
            if in_model:
                r.update(a_rate=a_rate[k] + 0.002 * (s % 3), b_rate=0.3, entropy=1.0, answer_mass=0.5)
            out.append(r)
    return out


def evidence(acc, profile="full", **kw):
    return [Evidence("literature", "synthetic", key="literature.zhang2024"),
            Evidence("record", "synthetic", data={"profile": profile, **t4e.causal_summary(rows(acc, **kw))},
                     key="benchmark.matching_causal")]


GAP = {"linear": 0.5, "rebased": 0.95, "csq": 0.6, "hedgehog": 0.6, "softmax": 0.96}


@pytest.mark.parametrize("ev,verdict", [
    ([Evidence("record", "missing", data={"missing": True}, key="benchmark.matching_causal")], Verdict.OPEN),
    ([Evidence("literature", "synthetic", key="literature.zhang2024")], Verdict.OPEN),
    (evidence(GAP, profile="quick"), Verdict.OPEN),  # quick profile: context only
    (evidence(GAP, seeds=3), Verdict.OPEN),  # fewer than MIN_SEEDS seeds
    (evidence(GAP, in_model=False), Verdict.OPEN),  # no in-model rates
    (evidence({k: 0.95 for k in ARMS}), Verdict.OPEN),  # no gap to explain
    (evidence({**GAP, "linear": 0.95, "softmax": 0.965}, spread=0.1), Verdict.OPEN),  # significant, below MIN_GAP
    (evidence(GAP), Verdict.HOLDS_WITH_CONDITIONS),  # rebased restores (a) in-model and closes the gap
    (evidence({**GAP, "rebased": 0.6, "hedgehog": 0.95}), Verdict.FAILS),  # closed by a non-restoring arm
    (evidence({**GAP, "rebased": 0.6}), Verdict.FAILS),  # every restoring arm falls short of softmax
    (evidence({**GAP, "rebased": 0.6}, a_rate={**A_RATE, "rebased": 0.3, "csq": 0.3}), Verdict.OPEN),  # none restores
    (evidence({**GAP, "rebased": 0.55, "csq": 0.55}, spread=25.0), Verdict.OPEN),  # intervals decide nothing
])
def test_t4e_rule(ev, verdict):
    out = t4e.rule_causal(ev)
    assert out.verdict is verdict, out.because


def test_t4e_failure_names_the_arm_and_carries_its_numbers():
    out = t4e.rule_causal(evidence({**GAP, "rebased": 0.6, "hedgehog": 0.95}))
    assert "hedgehog" in out.because and set(out.counterexample) == {"linear", "softmax", "hedgehog"}
    assert out.counterexample["hedgehog"]["in_model"]["a_rate"] == pytest.approx(0.31 + 0.002 * 0.8)


def test_t4e_accuracy_interval_against_a_hand_t_interval():
    rs = [{"kernel": "linear", "lr": lr, "seed": s, "eval_acc": a}
          for lr, accs in ((1e-3, (0.1, 0.2, 0.3)), (3e-3, (0.5, 0.6, 0.7))) for s, a in enumerate(accs)]
    out = t4e.accuracy_summary(rs)["linear"]
    t975_2 = 4.302652729911275  # Student t, 2 degrees of freedom, 0.975 quantile (tables)
    assert out["lr"] == 3e-3 and out["mean"] == pytest.approx(0.6)
    assert out["hi"] - out["mean"] == pytest.approx(t975_2 * 0.1 / 3 ** 0.5, rel=1e-9)


def test_paired_difference_pairs_by_seed_against_a_hand_interval():
    # differences per seed: 0.1, 0.3, 0.2, 0.2 (seed order shuffled in the rows)
    rs = [{"kernel": "a", "lr": 1.0, "seed": s, "eval_acc": v} for s, v in ((2, 0.7), (0, 0.5), (3, 0.9), (1, 0.6))]
    rs += [{"kernel": "b", "lr": 2.0, "seed": s, "eval_acc": v} for s, v in ((0, 0.4), (1, 0.3), (2, 0.5), (3, 0.7))]
    d = t4e.paired_difference(rs, "a", "b", 1.0, 2.0)
    sd = math.sqrt(((0.1 - 0.2) ** 2 + 0.1 ** 2) / 3)
    t975_3 = 3.182446305284263  # Student t, 3 degrees of freedom, 0.975 quantile (tables)
    assert d["seeds"] == 4 and d["mean"] == pytest.approx(0.2)
    assert d["hi"] - d["mean"] == pytest.approx(t975_3 * sd / 2, rel=1e-9)
