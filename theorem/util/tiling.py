r"""Tiling heuristics of the linear-time attention algorithms: rows per block, rows per chunk.

Layer 0: both :mod:`theorem.numeric` (the algorithms, :mod:`theorem.numeric.csq_linear`) and
:mod:`theorem.symbolic` (the cost model, :mod:`theorem.symbolic.flops`) read the tiles from here,
so the model counts the same tiles the implementation runs.

* :func:`default_block` — non-causal passes: the power of two nearest
  :math:`2\,\mathrm{MiB} / (D \cdot \text{itemsize})`, clamped to :math:`64 \le B \le 4096` and to
  :math:`n` (one block of :math:`D` features fills a core's L2 cache);
* :func:`optimal_chunk` — causal chunks: the power of two nearest :math:`4(d_k+1)`, clamped to
  :math:`[64, 128]`;  :func:`default_chunk` is the same number (the name the algorithms use).
"""

from __future__ import annotations

import math

__all__ = ["BLOCK_BYTES", "default_block", "optimal_chunk", "default_chunk"]

#: bytes of one block of features, a core's L2 cache.  Measured at n = 32768, d_k = 64 (float32, D = 2145) on this
#: machine's 2 MiB L2, paired in one run, per CPU-second (load 3-5): blocks of 256 rows ran the forward at 0.72-0.80
#: of a square matmul's FLOP rate against 0.62-0.72 for 128 rows (1 MiB, the earlier setting) and 0.73-0.76 for
#: 512; the gradient (jax.grad, the custom_vjp of theorem.numeric.csq_linear_core) 0.83 s at 256 rows, 0.87 s at
#: 128, 0.94 s at 512
BLOCK_BYTES = 2 * 2**20


def default_block(n: int, feature_dim: int, itemsize: int = 4) -> int:
    """Rows per block of the non-causal passes: the power of two nearest ``2 MiB / (D·itemsize)``,
    ``64 ≤ B ≤ 4096``, and at most ``n``."""
    b = BLOCK_BYTES / max(1, feature_dim * itemsize)
    b = 1 << max(6, min(12, round(math.log2(max(b, 1.0)))))
    return min(b, max(n, 1))


def optimal_chunk(dk: int, dv: int, balance: object | None = None) -> int:
    r"""Chunk of the causal linear form: the power of two nearest :math:`4(d_k+1)`, clamped to [64, 128].

    The intra-chunk work per token, :math:`2C(d_k+d_v+1)`, grows with :math:`C`, while the inter-chunk
    work :math:`4D(d_v+1)` grows like :math:`d_k^2 d_v`; below :math:`C \approx 64` the per-chunk products
    contract over too few rows and each loop trip's overhead (XLA on CPU) is paid :math:`n/C` times.
    Measured on this machine (n = 16384, chunks 32…512): best near 64 for d_k ≤ 16, 128–256 for d_k = 32, 64;
    with the transposed feature layout of :mod:`theorem.numeric.csq_linear` (n = 32768, d_k = 64) 128 beat 256.
    ``balance`` (a machine balance) is accepted for the cost model's signature and not used: the
    heuristic does not depend on the machine constants.  ``dv`` likewise.
    """
    c = 4 * (dk + 1)
    return int(2 ** min(7, max(6, round(math.log2(c)))))


def default_chunk(dk: int, dv: int) -> int:
    """Chunk size of the causal algorithm: :func:`optimal_chunk` ``(dk, dv)``."""
    return optimal_chunk(dk, dv)
