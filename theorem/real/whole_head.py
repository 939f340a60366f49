"""The whole real head's pulled-back rank by the ``kron`` route (:mod:`theorem.numeric.kron_rank`), beside the
closed form: the record rows of ``real_pullback_full`` and ``real_pullback_layer0``.

The measurement builds the map's Gram from its chain-rule Kronecker structure (checked against ``jax.jacfwd``
in ``tests/test_kron_gram.py``), counts its rank by pivoted Cholesky with the tolerance-and-gap test, and
proves a gap bound; the closed form (:func:`theorem.numeric.pullback_bias_predicted.predict`) is evaluated
beside it, never used by it.  Each row carries the seconds and the process's peak resident memory.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from theorem.numeric.kron_rank import measure_kron
from theorem.numeric.process_memory import proc_status
from theorem.numeric.pullback_bias import BiasedHead
from theorem.numeric.pullback_bias_predicted import predict
from theorem.real.text import window
from theorem.util.precision import float64

__all__ = ["kron_record", "layer_sweep"]

GIB = 2**30


@float64
def kron_record(x, hp, map: str = "log-weights", columns: int | None = None, certify: bool = True,
                log: Callable[[str], None] | None = None) -> dict:
    """Measured (``kron`` route) and predicted pulled-back rank of one real head with its biases as
    parameters; ``pivots`` (the spectrum the rank test read, ``R_jj²`` in pivot order) rides along."""
    head = BiasedHead(x, hp.w_q, hp.b_q, hp.w_k, hp.b_k, map=map, columns=columns)
    start = time.perf_counter()
    meas = measure_kron(head, certify=certify, log=log)
    seconds = time.perf_counter() - start
    pred = predict(head)
    ok = meas.rank.status == "ok"
    agrees = None if pred.rank is None or not ok else pred.rank == meas.rank.rank
    status = "ill-defined" if not ok else ("conditions-violated" if not pred.valid else
                                           ("ok" if agrees else "mismatch"))
    peak = proc_status("VmHWM")
    return {
        "map": map, "n": head.n, "d": head.d, "k": head.k, "k_varied": head.kv,
        "measured": meas.rank.rank, "predicted": pred.rank, "formula": pred.formula, "agrees": agrees,
        "status": status, "ambient_dim": head.ambient_dim, "d_squared": head.d ** 2,
        "invariants": pred.invariants, "violations": pred.violations, "measurement": meas.to_dict(),
        "certified": bool(meas.certificate and meas.certificate["proved"]),
        "seconds": round(seconds, 1), "peak_rss_gib": None if peak is None else round(peak / GIB, 2),
        "pivots": np.asarray(meas.rank.singular_values),
    }


def layer_sweep(model, text: str, layer: int, n: int, heads=None, certify: bool = True, log=print,
                done: Callable[[list[dict]], None] | None = None, columns: int | None = None) -> list[dict]:
    """:func:`kron_record` for every head of ``layer`` (or ``heads``) at ``n`` tokens (``done(rows)`` after
    each head, so a long sweep can write what it has)."""
    trace = model.trace(window(model, text, n), layers=layer + 1)
    out = []
    for h in (range(model.config.heads) if heads is None else heads):
        rec = kron_record(trace.inputs[layer], model.head(layer, h), columns=columns, certify=certify)
        out.append({"layer": layer, "head": h, **rec})
        cert = rec["measurement"]["certificate"] or {}
        log(f"L{layer}H{h} n={n}: measured {rec['measured']} ({rec['measurement']['status']}, gap "
            f"{rec['measurement']['gap']}) vs closed form {rec['predicted']}; certified gap ≥ "
            f"{cert.get('gap_lower', float('nan')):.3g}; {rec['seconds']:.0f} s, peak {rec['peak_rss_gib']} GiB")
        if done is not None:
            done(out)
    return out
