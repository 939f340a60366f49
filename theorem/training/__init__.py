"""Tiny attention models trained with the kernel as a parameter (claims T5, T6 stability, T8).

* :mod:`.tasks` — MQAR and signed nearest-key retrieval, sampled in JAX;
* :mod:`.model` — embedding, residual attention layers (any kernel of :mod:`theorem.kernels`), readout;
* :mod:`.penalty` — the CSQ soft penalty (a reconstruction);
* :mod:`.train` — optax training of many runs (seeds × learning rates × kernels) in one program;
* :mod:`.stability` — divergence, trainable learning-rate width, gradient statistics, comparison rule;
* :mod:`.sweep` — the stability sweep (``python -m theorem.training.sweep --full``);
* :mod:`.gradient_scale` — how the query–key gradient scales as the scores shrink;
* :mod:`.function_class` — rows one kernel realises and another cannot (approximation gaps);
* :mod:`.landscape` — Hessians and loss slices of one head, θ = M;
* :mod:`.depth` — the hypothesis-6.2 probe (stacked quadratic attention vs degree-2^L attention).
"""

import jax

# float64 everywhere (also when ``theorem`` is imported as a namespace package, whose
# ``__init__`` does not run)
jax.config.update("jax_enable_x64", True)
