r"""The attention kernels, defined once: the only place any kernel formula lives.

Every kernel turns queries ``q`` (n×d_k) and keys ``k`` (n×d_k) into row-stochastic weights
``A = T / Σ_j T`` (n×n).  The score kernels see the inputs only through ``S = q kᵀ / √d_k``:

| kernel   | unnormalized weight ``T_ij``                 | null direction of the row map | features (non-causal)              |
|----------|----------------------------------------------|-------------------------------|------------------------------------|
| softmax  | ``exp(S_ij)``                                | ``1`` (shift invariance)      | none                               |
| poly2    | ``S_ij²``                                    | ``S_i`` (scale invariance)    | ``(σq)⊗², k⊗²``, D = d(d+1)/2      |
| csq      | ``(S_ij − mean_{j'∈vis(i)} S_ij' + c)²``     | ``S̃_i + c·1``                 | ``(σq, c)⊗², (k−k̄, 1)⊗²``          |
| linear   | ``φ(q_i)·φ(k_j)``, ``φ = elu + 1``           | (not a score kernel)          | ``φ(q), φ(k)``, D = d              |
| rbf      | ``exp(−‖q_i − k_j‖²/(2√d_k))``               | (not a score kernel)          | none                               |
| hedgehog | ``φ_W(q_i)·φ_W(k_j)``, ``φ_W = [softmax(xW), softmax(−xW)]`` | (not a score kernel) | ``φ_W(q), φ_W(k)``, D = 2m |

Modules, one concept each: :mod:`.base` (the protocol: what a kernel supplies, what is derived),
:mod:`.softmax`, :mod:`.polynomial` (poly2, CSQ with its vertex penalty), :mod:`.linear` (elu+1),
:mod:`.rbf` (the scaled RBF softmax), :mod:`.hedgehog` (exp features with a learnable
feature matrix W, Zhang et al. 2024: the one kernel with parameters of its own, ``init_feature_params``/``bind``), :mod:`.features` (the feature maps and their building blocks),
:mod:`.penalties` (CSQ's vertex penalty, exact, and its linear-time candidates: moment and sampled),
:mod:`.registry` (names, labels).  **Adding a kernel**: subclass :class:`Kernel`, supply
``unnormalized`` (or ``unnormalized_qk``), optionally ``features``/``feature_dim``/``linear_form``
and ``null_direction``; register it in :mod:`.registry`.
"""

from theorem.kernels.base import Kernel, LinearForm, UnknownKernelError, scaled_scores
from theorem.kernels.features import (
    EluFeatures,
    FeatureKernel,
    SquaredFeatures,
    elu_plus_one,
    log_elu_plus_one,
    sym2,
    sym2_dim,
    sym2_pairs,
    sym2_weights,
    symmetric_square,
)
from theorem.kernels.hedgehog import ExpFeatures, HedgehogExp
from theorem.kernels.linear import LinearElu
from theorem.kernels.polynomial import CSQ, Poly2, SquaredKernel
from theorem.kernels.rbf import ScaledRBFSoftmax
from theorem.kernels.registry import KERNEL_NAMES, KERNELS, get_kernel, kernel_label
from theorem.kernels.softmax import Softmax

__all__ = [
    "Kernel",
    "LinearForm",
    "UnknownKernelError",
    "scaled_scores",
    "Softmax",
    "SquaredKernel",
    "Poly2",
    "CSQ",
    "LinearElu",
    "HedgehogExp",
    "ExpFeatures",
    "ScaledRBFSoftmax",
    "KERNEL_NAMES",
    "KERNELS",
    "get_kernel",
    "kernel_label",
    "FeatureKernel",
    "SquaredFeatures",
    "EluFeatures",
    "elu_plus_one",
    "log_elu_plus_one",
    "sym2",
    "sym2_dim",
    "sym2_pairs",
    "sym2_weights",
    "symmetric_square",
]
