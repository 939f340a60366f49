"""``attention_rank_sweep``: the float64 rank of the attention matrix A against n, per kernel, beside the exact
rank's closed form (T2, T3; notebook 02, section 1).

For each kernel of :data:`theorem.numeric.attention_rank.RANK_KERNELS` and each n: Gaussian tokens
(:func:`~theorem.numeric.attention_rank.degenerate_tokens`, seed n), a factorized head with d_k columns
(:meth:`Head.draw`, seed n + 1), and :func:`~theorem.numeric.attention_rank.measured_rank` — the float64 rank
with its tolerance raised to the rounding bound of A, so each value is a lower bound on the exact rank — beside
:func:`~theorem.numeric.attention_rank.generic_rank`, the closed form (r = min(n, d, d_k) and the kernel's lift).
A row of A whose unnormalized weights sum to 0 makes A undefined; such a point is recorded as undefined.

``QUICK`` (CI, seconds): d = 4, d_k = 2, n ≤ 16.  ``FULL`` (the committed record, under a minute): d = 6,
d_k = 3, n from 1 to 128.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from theorem.numeric import attention_rank as ar

NAME = "attention_rank_sweep"
DESCRIPTION = "T2/T3: float64 rank of the attention matrix against n, per kernel, beside the exact rank's closed form"
__all__ = ["NAME", "DESCRIPTION", "QUICK", "FULL", "run"]

QUICK: dict[str, Any] = {"d": 4, "dk": 2, "ns": [1, 2, 4, 8, 16]}
FULL: dict[str, Any] = {"d": 6, "dk": 3, "ns": [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128]}


def run(settings: dict[str, Any], log: Callable[[str], None] = print) -> dict[str, Any]:
    """One row per (kernel, n): the measured rank (with tolerance, gap and status) and the closed form."""
    start = time.perf_counter()
    d, dk = settings["d"], settings["dk"]
    rows = []
    for kern in ar.RANK_KERNELS:
        label = ar.kernel_label(kern)
        for n in settings["ns"]:
            head = ar.Head.draw(ar.degenerate_tokens("gaussian", n, d, seed=n), dk, seed=n + 1)
            row: dict[str, Any] = {"kernel": label, "n": n, "d": d, "dk": dk,
                                   "closed_form": ar.generic_rank(kern, n, d, dk)}
            if ar.undefined_rows(kern, head).size:
                row.update(measured=None, status="undefined")
            else:
                res = ar.measured_rank(kern, head)
                row.update(measured=res.rank, **{k: v for k, v in res.to_dict().items() if k != "rank"})
            rows.append(row)
        log(f"{label}: {len(settings['ns'])} values of n ({time.perf_counter() - start:.1f} s)")
    return {"rows": rows}
