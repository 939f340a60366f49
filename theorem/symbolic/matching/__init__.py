"""SymPy derivations behind the matching readings (claims T4, T6), one concern a module:

* :mod:`.identity` — the identity (c), the RBF × key-norm factorization, equal-norm reduction,
  monotone regions;
* :mod:`.contrast` — the half-mass gap :math:`\\Delta^*` per kernel;
* :mod:`.rates` — the closed forms of the violation rates on realistic inputs;
* :mod:`.bottleneck` — the low-rank bottleneck's closed forms (claim R4);
* :mod:`.vertex` — centred scores sum to zero: CSQ without shift never meets 'above-vertex';
* :mod:`.symbols` — the symbols they share.
"""

from theorem.symbolic.matching.contrast import (
    CONTRAST_KERNELS,
    PHI_ELU,
    ContrastCrossover,
    ContrastGap,
    contrast_crossover,
    contrast_gap,
    contrast_gap_value,
)
from theorem.symbolic.matching.identity import (
    FACTORIZATION_KERNELS,
    Factorization,
    MonotoneRegion,
    equal_norm_reduction,
    factorization,
    monotone_region,
    softmax_rbf_identity,
)
from theorem.symbolic.matching.rates import (
    RATE_SYMBOLS,
    centered_pair_sum_variance,
    euclid_misorder_angle,
    euclid_misorder_rate_dk1,
    euclid_spread_sq,
    normal_cdf,
    pair_sum_spread_sq,
    vertex_misorder_rate,
)
from theorem.symbolic.matching.symbols import DELTA, C, L, N, T
from theorem.symbolic.matching.vertex import CenteredSum, centered_scores_sum

__all__ = [
    "softmax_rbf_identity", "Factorization", "factorization", "FACTORIZATION_KERNELS", "equal_norm_reduction",
    "MonotoneRegion", "monotone_region", "ContrastGap", "contrast_gap", "CONTRAST_KERNELS", "contrast_gap_value",
    "PHI_ELU", "centered_pair_sum_variance", "RATE_SYMBOLS", "normal_cdf", "pair_sum_spread_sq",
    "vertex_misorder_rate", "euclid_misorder_angle", "euclid_spread_sq", "euclid_misorder_rate_dk1",
    "N", "L", "DELTA", "C", "T", "CenteredSum", "centered_scores_sum", "ContrastCrossover", "contrast_crossover",
]
