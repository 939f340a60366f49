"""T4.e – the causal part of T4: "losing matching is why O(n) linear-attention models underperform".

The kernel-level readings (T4.a/b/d) say which properties elu+1 lacks; this reading collects what
would test the "which is why": the literature, and (where its record exists) the controlled
experiment ``matching_causal`` on the MQAR harness.
"""

from __future__ import annotations

from theorem.claims.ledger import Evidence, Outcome, Profile, Verdict, find_all

__all__ = ["gather_causal", "rule_causal"]


def gather_causal(profile: Profile) -> list[Evidence]:
    return [
        Evidence("literature", "Katharopoulos et al. 2020: linear (elu+1) attention trains and runs in O(n), "
                 "with a quality gap to softmax on some tasks", supports=None, key="literature.katharopoulos2020"),
        Evidence("literature", "Zhang et al. 2024 (Hedgehog): attribute the gap of linear attentions to missing "
                 "low-entropy 'spikiness' and dot-product monotonicity; learned feature maps that restore them "
                 "close much of the gap", supports=None, key="literature.zhang2024"),
        Evidence("literature", "Arora et al. 2024 (Based): the recall quality of linear-time models is tied to "
                 "their state size (a recall–throughput trade-off)", supports=None, key="literature.arora2024"),
    ]


def rule_causal(evidence: list[Evidence]) -> Outcome:
    decisive = [e for e in find_all(evidence, "benchmark") if e.supports is not None]
    if not decisive:
        return Outcome(
            Verdict.OPEN,
            "a causal claim about trained models; the kernel-level readings (T4.a/b/d) show which properties "
            "elu+1 lacks, the literature (Zhang et al. 2024) links such properties to quality, but nothing here "
            "tests the 'which is why'",
        )
    ok = all(e.supports for e in decisive)
    return Outcome(Verdict.HOLDS if ok else Verdict.FAILS, "; ".join(e.summary for e in decisive))
