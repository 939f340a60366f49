"""Check your own head: the measured dimension of each pulled-back space beside its closed form.

``check_head(x, w_q, w_k, b_q=..., b_k=..., w_v=..., kernel="softmax")`` measures, at your tokens and
weights, the span of the gradients of θ ↦ S (scores), θ ↦ A (weights) and θ ↦ A X W_V (output, when
``w_v`` is given), with θ = (W_Q, W_K) — and (b_Q, b_K) when the head has biases — and returns each with
the closed form, the rank's tolerance and gap, and a status.  The output map's closed form is ``min(w, n'·p)``
(:mod:`theorem.symbolic.output_rank`), certified at your input where the size allows, so its prediction is
given for every ``d_v``, including ``rank(X W_V) < rank X``:

| status | meaning |
|---|---|
| ``ok`` | the measured rank is well defined and equals the closed form |
| ``mismatch`` | well defined, inside the closed form's conditions, different from it |
| ``ill-defined`` | the spectrum has no clear gap at the tolerance: no rank is claimed |
| ``conditions-violated`` | the inputs fall outside the closed form's stated conditions |
| ``no-closed-form`` | no closed form is known for this kernel and map |
| ``not-measured`` | this map is not measured for this head (e.g. a biased head's output map) |
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from theorem.kernels import Kernel, get_kernel
from theorem.numeric.head import Head
from theorem.numeric.predicted import predict_rank
from theorem.numeric.pullback import PullbackProblem, measure_rank
from theorem.numeric.pullback_bias import BiasedHead, measure
from theorem.numeric.pullback_bias_predicted import predict
from theorem.util.precision import float64

__all__ = ["MapCheck", "check_head", "measure_map", "status_of"]


@dataclass(frozen=True)
class MapCheck:
    """One map of one head: measured and predicted dimension, and how far to trust them."""

    map: str
    measured: int | None
    predicted: int | None
    ambient_dim: int
    status: str
    tolerance: float | None
    gap: float | None
    formula: str
    violations: tuple[str, ...]
    route: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def status_of(rank_status: str, predicted: int | None, violations, measured: int) -> str:
    """The status table of the module docstring, from the measurement and the prediction."""
    if rank_status != "ok":
        return "ill-defined"
    if predicted is None:
        return "no-closed-form"
    if violations:
        return "conditions-violated"
    return "ok" if predicted == measured else "mismatch"


def measure_map(problem: PullbackProblem | BiasedHead, route: str = "auto", progress=None) -> tuple:
    """``(measurement, prediction)`` of one problem, through the route that suits its type."""
    if isinstance(problem, BiasedHead):
        return measure(problem, route=route, progress=progress), predict(problem)
    return measure_rank(problem, route=route, progress=progress), predict_rank(problem)


@float64
def check_head(
    x: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    *,
    b_q: np.ndarray | None = None,
    b_k: np.ndarray | None = None,
    w_v: np.ndarray | None = None,
    kernel: str | Kernel = "softmax",
    route: str = "auto",
) -> dict[str, MapCheck]:
    """``{"scores": …, "weights": …, "output": …}`` for your head (see the module docstring).

    Shapes: ``x`` (n, d), ``w_q`` and ``w_k`` (d, d_k), ``b_q`` and ``b_k`` (d_k,), ``w_v`` (d, d_v); a
    ValueError names any that does not fit.
    """
    head = Head(x, w_q, w_k, b_q, b_k, w_v)
    kern = get_kernel(kernel) if isinstance(kernel, str) else kernel
    if head.has_bias and kern.name != "softmax":
        raise ValueError("kernel: biased heads are measured for softmax only")
    out: dict[str, MapCheck] = {}
    for map_ in ("scores", "weights", "output"):
        if map_ == "output" and (head.w_v is None or head.has_bias):
            why = "give w_v" if head.w_v is None else "the output map of a biased head is not measured"
            out[map_] = MapCheck(map_, None, None, 0, "not-measured", None, None, why, (), None)
            continue
        problem = BiasedHead.from_head(head, map=map_) if head.has_bias else \
            PullbackProblem.from_head(head, kern, map_)
        meas, pred = measure_map(problem, route)
        rank = meas.rank
        out[map_] = MapCheck(map_, rank.rank, pred.rank, problem.ambient_dim,
                             status_of(rank.status, pred.rank, pred.violations, rank.rank),
                             float(rank.tolerance), None if np.isinf(rank.gap) else float(rank.gap), pred.formula,
                             tuple(pred.violations), meas.route)
    return out
