"""T4.e – the causal part of T4: "losing matching is why O(n) linear-attention models underperform".

The kernel-level readings (T4.a/b/d) say which properties elu+1 lacks.  This reading adds the
controlled experiment ``matching_causal`` (issue 13 §5): one MQAR model, equal seeds, initial points
and data; only the kernel changes (elu+1, ReBased-style (s + 1)², CSQ, learned Hedgehog exp features,
softmax).  Per kernel, at its best learning rate: the held-out accuracy (mean over seeds, 95% t-interval),
the paired differences to softmax and to elu+1 (same seeds, 95% paired t-intervals), and the (a)
monotonicity / (b) matching violation rates *measured inside the trained models* (mean over seeds, ±2 s.e.).

Rule (all intervals 95%; ``d(X, Y)`` is the paired difference of accuracies X − Y):

* no record, no in-model rates, a quick profile or fewer than 5 seeds per arm → open;
* ``d(softmax, elu+1)`` not above ``MIN_GAP`` = 0.02 (two accuracy points) → open (no gap of practical size
  to explain, however many seeds make a smaller one significant);
* an arm *restores* monotonicity when its in-model (a) rate + 2 s.e. is below elu+1's − 2 s.e.; it *closes*
  the gap when ``d(X, elu+1) > 0`` and ``d(softmax, X)`` is not above 0; it *falls short* when ``d(softmax, X) > 0``;
* a non-restoring arm closes the gap → fails (the gap closes without the property);
* a restoring arm closes it → holds-with-conditions (this task and scale);
* every restoring arm falls short → fails (restoring the property does not close the gap);
* no arm restores it, or the intervals decide neither → open.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from theorem.claims.ledger import Evidence, Outcome, Profile, Verdict, find_optional
from theorem.experiments.records import load_record

__all__ = ["gather_causal", "rule_causal", "accuracy_summary", "paired_difference", "in_model_summary",
           "causal_summary", "RECORD", "MIN_SEEDS", "MIN_GAP", "IN_MODEL"]

RECORD = "matching_causal"
MIN_SEEDS = 5
#: the smallest accuracy gap (softmax − elu+1, lower end of its paired interval) that counts as one to explain
MIN_GAP = 0.02
#: the per-run measurements taken inside each trained model (see the experiment)
IN_MODEL = ("a_rate", "b_rate", "entropy", "answer_mass")


def _t_half(x: np.ndarray) -> float:
    """Half-width of the 95% t-interval of the mean of ``x``: t_{0.975, s−1}·sd/√s (∞ for one value)."""
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.inf


def accuracy_summary(rows: list[dict]) -> dict[str, dict]:
    """Per kernel: the lr with the best mean held-out accuracy, and that mean with its 95% t-interval over
    seeds (``lo``/``hi``; the half-width is t_{0.975, s−1}·sd/√s)."""
    out: dict[str, dict] = {}
    for kernel in dict.fromkeys(r["kernel"] for r in rows):
        by_lr: dict[float, list[float]] = {}
        for r in rows:
            if r["kernel"] == kernel:
                by_lr.setdefault(r["lr"], []).append(r["eval_acc"])
        lr = max(by_lr, key=lambda x: float(np.mean(by_lr[x])))
        acc = np.asarray(by_lr[lr], dtype=float)
        half = _t_half(acc)
        out[kernel] = {"lr": lr, "mean": float(acc.mean()), "lo": float(acc.mean() - half),
                       "hi": float(acc.mean() + half), "seeds": len(acc)}
    return out


def _by_seed(rows: list[dict], kernel: str, lr: float, field: str) -> dict[int, float]:
    return {r["seed"]: r[field] for r in rows if r["kernel"] == kernel and r["lr"] == lr}


def paired_difference(rows: list[dict], x: str, y: str, lr_x: float, lr_y: float) -> dict:
    """Accuracy of ``x`` (at ``lr_x``) minus ``y`` (at ``lr_y``), paired by seed: mean and 95% t-interval."""
    ax, ay = _by_seed(rows, x, lr_x, "eval_acc"), _by_seed(rows, y, lr_y, "eval_acc")
    seeds = sorted(set(ax) & set(ay))
    d = np.asarray([ax[s] - ay[s] for s in seeds], dtype=float)
    half = _t_half(d)
    return {"mean": float(d.mean()), "lo": float(d.mean() - half), "hi": float(d.mean() + half), "seeds": len(seeds)}


def in_model_summary(rows: list[dict], kernel: str, lr: float) -> dict | None:
    """Mean and standard error over seeds of each in-model measurement (``None`` when the rows have none)."""
    mine = [r for r in rows if r["kernel"] == kernel and r["lr"] == lr]
    if not mine or any(f not in r for r in mine for f in IN_MODEL):
        return None
    out = {}
    for f in IN_MODEL:
        v = np.asarray([r[f] for r in mine], dtype=float)
        out[f] = float(v.mean())
        out[f"{f}_se"] = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.inf
    return out


def causal_summary(rows: list[dict]) -> dict:
    """Everything the rule reads, from the record's rows: accuracy per arm, paired differences to softmax and
    to elu+1, in-model measurements (``None`` per arm where the record has none)."""
    acc = accuracy_summary(rows)
    lin, soft = acc["linear"]["lr"], acc["softmax"]["lr"]
    return {
        "accuracy": acc,
        "vs_softmax": {k: paired_difference(rows, "softmax", k, soft, a["lr"]) for k, a in acc.items() if k != "softmax"},
        "vs_linear": {k: paired_difference(rows, k, "linear", a["lr"], lin) for k, a in acc.items() if k != "linear"},
        "in_model": {k: in_model_summary(rows, k, a["lr"]) for k, a in acc.items()},
    }


def _fmt(iv: dict) -> str:
    return f"{iv['mean']:+.3f} [{iv['lo']:+.3f}, {iv['hi']:+.3f}]"


def _record_evidence() -> Evidence:
    rec = load_record(RECORD)
    if rec is None:
        return Evidence("record", f"record {RECORD!r} is missing (`python -m theorem.experiments {RECORD}`)",
                        supports=None, data={"missing": True}, key=f"benchmark.{RECORD}")
    res, prov = rec["result"], rec["provenance"]
    summ = causal_summary(res["rows"])
    acc, inm = summ["accuracy"], summ["in_model"]
    parts = []
    for k, a in acc.items():
        m = inm[k]
        rates = "no in-model rates" if m is None else (
            f"in-model (a) {m['a_rate']:.3f}±{2 * m['a_rate_se']:.3f}, (b) {m['b_rate']:.3f}, entropy {m['entropy']:.2f}, "
            f"answer mass {m['answer_mass']:.2f}")
        diff = f"; softmax − it {_fmt(summ['vs_softmax'][k])}" if k != "softmax" else ""
        parts.append(f"{k}: accuracy {a['mean']:.3f} [{a['lo']:.3f}, {a['hi']:.3f}] (lr {a['lr']:g}, {a['seeds']} "
                     f"seeds{diff}), {rates}")
    return Evidence(
        "record",
        f"MQAR, one layer, equal seeds and data ({rec['profile']} profile, {prov.get('date')}, commit "
        f"{str(prov.get('git_commit'))[:10]}; chance {res['chance']:.3f}): " + "; ".join(parts),
        supports=None,
        data={"profile": rec["profile"], **summ, "chance": res["chance"], "num_params": res.get("num_params"),
              "provenance": prov},
        key=f"benchmark.{RECORD}",
        measured={k: a["mean"] for k, a in acc.items()},
    )


def gather_causal(profile: Profile) -> list[Evidence]:
    return [
        Evidence("literature", "Katharopoulos et al. 2020: linear (elu+1) attention trains and runs in O(n), "
                 "with a quality gap to softmax on some tasks", supports=None, key="literature.katharopoulos2020"),
        Evidence("literature", "Zhang et al. 2024 (Hedgehog): attribute the gap of linear attentions to missing "
                 "low-entropy 'spikiness' and dot-product monotonicity; learned feature maps that restore them "
                 "close much of the gap", supports=None, key="literature.zhang2024"),
        Evidence("literature", "Arora et al. 2024 (Based): the recall quality of linear-time models is tied to "
                 "their state size (a recall–throughput trade-off)", supports=None, key="literature.arora2024"),
        _record_evidence(),
    ]


def _restores(m: dict | None, lin: dict | None) -> bool:
    return m is not None and lin is not None and m["a_rate"] + 2 * m["a_rate_se"] < lin["a_rate"] - 2 * lin["a_rate_se"]


def rule_causal(evidence: list[Evidence]) -> Outcome:
    exp = find_optional(evidence, f"benchmark.{RECORD}")
    if exp is None or exp.data.get("missing"):
        return Outcome(
            Verdict.OPEN,
            "a causal claim about trained models; the kernel-level readings (T4.a/b/d) show which properties "
            "elu+1 lacks, the literature (Zhang et al. 2024) links such properties to quality, and the controlled "
            f"experiment's record ({RECORD}) is missing",
        )
    d = exp.data
    acc, inm, vs_soft, vs_lin = d["accuracy"], d["in_model"], d["vs_softmax"], d["vs_linear"]
    seeds = min(a["seeds"] for a in acc.values())
    if d["profile"] == "quick" or seeds < MIN_SEEDS:
        return Outcome(Verdict.OPEN, f"only a {d['profile']}-profile run with {seeds} seeds per arm (fewer than "
                       f"{MIN_SEEDS}, or quick: too few to decide): {exp.summary}")
    if any(m is None for m in inm.values()):
        return Outcome(Verdict.OPEN, f"the record has no in-model violation rates for "
                       f"{', '.join(k for k, m in inm.items() if m is None)}: {exp.summary}")
    gap = vs_soft["linear"]
    if not gap["lo"] > MIN_GAP:
        rates = ", ".join(f"{k} {m['a_rate']:.3f}" for k, m in inm.items())
        return Outcome(Verdict.OPEN, f"no gap to explain: softmax − elu+1 = {_fmt(gap)} (paired, {gap['seeds']} "
                       f"seeds), not above {MIN_GAP:g}; the trained models' (a) violation rates differ "
                       f"({rates}) while the accuracies do not: {exp.summary}")
    arms = [k for k in acc if k not in ("linear", "softmax")]
    closes = [k for k in arms if vs_lin[k]["lo"] > 0 and not vs_soft[k]["lo"] > 0]
    restoring = [k for k in arms if _restores(inm[k], inm["linear"])]
    short = [k for k in restoring if vs_soft[k]["lo"] > 0]
    why = "; ".join(f"{k}: softmax − it {_fmt(vs_soft[k])}, in-model (a) {inm[k]['a_rate']:.3f}±{2 * inm[k]['a_rate_se']:.3f}"
                    for k in arms) + f"; elu+1: softmax − it {_fmt(gap)}, in-model (a) {inm['linear']['a_rate']:.3f}"
    plain = [k for k in closes if k not in restoring]
    if plain:
        return Outcome(
            Verdict.FAILS, f"the gap softmax − elu+1 = {_fmt(gap)} is closed by {', '.join(plain)}, whose trained "
            f"models keep elu+1's monotonicity violations: {why}",
            corrected=("On MQAR (one layer, equal seeds), a linear-time kernel closes elu+1's gap to softmax without "
                       "restoring dot-product monotonicity in the trained model: losing matching is not why elu+1 "
                       "underperforms here."),
            counterexample={k: {"accuracy": acc[k], "in_model": inm[k]} for k in ("linear", "softmax", *plain)})
    fixed = [k for k in closes if k in restoring]
    if fixed:
        return Outcome(
            Verdict.HOLDS_WITH_CONDITIONS, f"the gap softmax − elu+1 = {_fmt(gap)} is closed by {', '.join(fixed)}, "
            f"whose trained models restore monotonicity: {why}",
            corrected=(f"On MQAR (one layer, equal seeds), elu+1 linear attention is below softmax, and the kernels "
                       f"whose trained models restore dot-product monotonicity ({', '.join(fixed)}) reach softmax's "
                       "accuracy: consistent with losing matching being the cause, on this task and scale."))
    if restoring and len(short) == len(restoring):
        return Outcome(
            Verdict.FAILS, f"the gap softmax − elu+1 = {_fmt(gap)} is not closed by the kernels whose trained models "
            f"restore monotonicity ({', '.join(restoring)}): {why}",
            corrected=("On MQAR (one layer, equal seeds), restoring dot-product monotonicity in the trained model "
                       "does not close linear attention's gap to softmax: losing matching is not (alone) why it "
                       "underperforms."),
            counterexample={k: {"accuracy": acc[k], "in_model": inm[k]} for k in ("linear", "softmax", *restoring)})
    if not restoring:
        return Outcome(Verdict.OPEN, f"no arm's trained model restores monotonicity beyond elu+1's, so the "
                       f"experiment cannot test the cause: {why}")
    return Outcome(Verdict.OPEN, f"the restoring arms neither close nor clearly miss the gap: {why}")
