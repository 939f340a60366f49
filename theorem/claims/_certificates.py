"""Exact certificates beside the float64 counts of a reading (T5.a, R3.a, R3.b): every panel input and the
headline counterexample, certified over Q at the rational input the measurement ran on.

Float64 numbers are dyadic rationals, so the tokens and the drawn ``M`` (seed 0, as in
:func:`theorem.claims._pullback.measure_row`) are exact inputs; :func:`theorem.numeric.certificate.exact_rank`
gives the rank of the pulled-back map there without rounding.  Token families whose structure float64 only
approximates (a low-rank product, LayerNorm'd rows) are rebuilt with the structure exact
(:func:`theorem.numeric.exact_tokens.exact_tokens`) and measured at the float64 value of that rational input,
so the count and its certificate are about the same matrix.

Each item is context (``supports=None``) with ``measured`` (float64) and ``predicted`` (the certificate); its
``data["agrees"]`` says whether every certified kernel's count equals the float64 one.  Cost: the exact rank
of an ``n² × d²`` rational matrix — well under a second per kernel at the sizes used (n ≤ 12, d ≤ 4).
"""

from __future__ import annotations

import time

import numpy as np

from theorem.claims._pullback import measure_row
from theorem.claims.ledger import Evidence
from theorem.kernels import get_kernel
from theorem.numeric.certificate import exact_rank
from theorem.numeric.head import Head

__all__ = ["certify_kernels", "certificate_item"]


def certify_kernels(x, kernels, map: str = "weights") -> dict[str, int | None]:
    """``{kernel label: exact rank}`` at the tokens ``x`` (float64 or Fraction entries) and the M that seed 0
    draws at their float64 value; None for a kernel the certificate does not cover."""
    xf = np.asarray(x).astype(np.float64)
    m = Head.draw(xf, seed=0).w_q
    out = {}
    for name, params in kernels:
        kernel = get_kernel(name, **params)
        out[kernel.describe()] = exact_rank(x, kernel, map, m=m)
    return out


def certificate_item(key: str, label: str, x, kernels, map: str = "weights",
                     measured: dict[str, int | None] | None = None) -> Evidence:
    """The certificate of one input beside its float64 count (``measured``; measured here when not given)."""
    start = time.perf_counter()
    certified = certify_kernels(x, kernels, map)
    if measured is None:
        xf = np.asarray(x).astype(np.float64)
        measured = {}
        for name, params in kernels:
            row = measure_row(xf, name, params, map)
            measured[row["kernel"]] = row["measured"] if row["rank_status"] == "ok" else None
    done = {k: v for k, v in certified.items() if v is not None}
    agrees = bool(done) and all(measured.get(k) == v for k, v in done.items())
    seconds = time.perf_counter() - start
    n, d = np.asarray(x).shape
    summary = (f"{label} (n = {n}, d = {d}, {map}): exact rank over Q at this input (FLINT) "
               + ", ".join(f"{k} {v}" for k, v in done.items())
               + " beside float64 " + ", ".join(f"{k} {measured.get(k)}" for k in done)
               + (f"; {', '.join(k for k, v in certified.items() if v is None)} not certifiable"
                  if len(done) < len(certified) else "")
               + f"; {'all agree' if agrees else 'they differ'} ({seconds:.2f} s)")
    return Evidence("symbolic", summary, None,
                    {"input": label, "n": n, "d": d, "map": map, "certified": certified, "measured": measured,
                     "agrees": agrees, "seconds": round(seconds, 3)},
                    key=key, measured=measured, predicted=certified)
