"""Tiny attention models trained with the kernel as a parameter (claims T5, T6 stability, T8).

* :mod:`.loop` — THE optax loop (:func:`~theorem.training.loop.fit`) every fit in the toolkit uses;
* :mod:`.tasks` — MQAR and signed nearest-key retrieval, sampled in JAX;
* :mod:`.model` — embedding, residual attention layers (any kernel of :mod:`theorem.kernels`), readout;
* :mod:`.penalty` — the CSQ soft penalty (a reconstruction);
* :mod:`.train` — many runs (seeds × learning rates × kernels) of the loop in one program;
* :mod:`.stability` — divergence, trainable learning-rate width, gradient statistics, comparison;
* :mod:`.statistics` — Wilson and Newcombe intervals, exact power of the two-proportion test;
* :mod:`.stability_power` — stability summaries with intervals, significant comparisons, the design's power;
* :mod:`.sweep` — the stability sweep's settings (run as the experiment ``stability``);
* :mod:`.gradient_scale` — how the query–key gradient scales as the scores shrink;
* :mod:`.function_class` — rows one kernel realises and another cannot (approximation gaps);
* :mod:`.landscape` — Hessians and loss slices of one head, θ = M;
* :mod:`.depth` — the hypothesis-6.2 probe (stacked quadratic attention vs degree-2^L attention);
* :mod:`.function_dimension` — function-space dimensions (Jacobian ranks) for the exact-algebra probe of T8.

Importing the package changes no JAX setting: the public measurements run in float64 inside their own
scope (:func:`theorem.util.precision.float64`).  The verdicts built on these numbers live in
:mod:`theorem.claims`.
"""
