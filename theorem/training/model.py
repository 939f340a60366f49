"""Tiny attention models in plain JAX, with the attention kernel as a parameter.

The model (``n_layers`` = 1 or 2 in the sweeps, any ``L ≥ 1`` allowed):

* input: token ids → embedding ``E[x_t]`` (+ ``E'[x_{t−1}]`` when ``shift_embedding``: a learned
  embedding of the previous token, i.e. a one-tap causal "short convolution" as in H3/Based,
  which lets one attention layer solve MQAR), or vectors → ``x_t W_in`` (no bias: no constant
  direction is added to the tokens);
* ``L`` residual attention layers ``h ← h + A(h) h W_V W_O`` with ``A = normalize(κ(S))``,
  ``S = (h W_Q)(h W_K)ᵀ / √d_k`` computed by :func:`theorem.kernels.get_kernel` — the single
  place where a kernel is defined; ``norm=True`` applies a parameter-free RMS norm to the layer
  input (``h / rms(h)``, homogeneous of degree 0, so it adds no constant direction either);
* readout ``h W_out``: logits over the vocabulary, or a vector.

Parameters are a dict pytree; :func:`init_params` draws them from a key, so equal seeds give
*matched* initial points across kernels (the parameter shapes do not depend on the kernel).  The one
exception: a kernel with feature parameters of its own (``hedgehog``: its feature matrix W, see
:meth:`theorem.kernels.Kernel.init_feature_params`) gets them as ``layer["kernel"]`` in each layer, from
``cfg.kernel`` (so such a kernel is trained through ``cfg.kernel``, e.g. :func:`~theorem.training.train.train_grid`;
in a multi-kernel program it keeps its initial W); they are deterministic, drawn from no key, so the
other parameters stay those of every other kernel at the same key.

The auxiliary output ``vertex_penalty`` is the CSQ soft penalty of :mod:`theorem.training.penalty`,
summed over layers (0 for kernels without a parabola vertex).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from theorem.kernels import KERNEL_NAMES, Kernel, get_kernel
from theorem.training.penalty import vertex_penalty
from theorem.training.tasks import Task

__all__ = ["ModelConfig", "init_params", "apply", "attention_layer", "num_params", "queries_keys", "layer_kernel"]

Params = dict[str, Any]


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the model and the kernel its attention layers use."""

    kernel: str = "softmax"
    kernel_params: tuple[tuple[str, Any], ...] = ()
    d_model: int = 32
    d_key: int = 16
    n_layers: int = 1
    norm: bool = True
    shift_embedding: bool = True
    init_scale: float = 1.0
    label: str = field(default="", compare=False)
    _kernel: Kernel | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kernel not in KERNEL_NAMES:
            raise ValueError(f"kernel: unknown kernel {self.kernel!r}; choose one of {', '.join(KERNEL_NAMES)}")
        for name in ("d_model", "d_key", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not (self.init_scale > 0 and math.isfinite(self.init_scale)):
            raise ValueError(f"init_scale must be a finite number > 0, got {self.init_scale}")
        # built (and validated) once, outside any jit trace: the CSQ constructor checks its shift
        # with jnp, which cannot run on a tracer
        object.__setattr__(self, "_kernel", get_kernel(self.kernel, **dict(self.kernel_params)))

    @property
    def kernel_obj(self) -> Kernel:
        return self._kernel

    @property
    def name(self) -> str:
        return self.label or self.kernel_obj.describe()


def _normal(key, shape, fan_in, scale=1.0):
    return scale * jax.random.normal(key, shape) / math.sqrt(fan_in)


def init_params(cfg: ModelConfig, task: Task, key: Array) -> Params:
    """Gaussian initialization, variance 1/fan-in (embeddings: variance 1)."""
    d, dk = cfg.d_model, cfg.d_key
    keys = iter(jax.random.split(key, 4 + 4 * cfg.n_layers))
    params: Params = {}
    if task.input_kind == "tokens":
        v = task.vocab_size
        params["embed"] = jax.random.normal(next(keys), (v, d))
        if cfg.shift_embedding:
            params["embed_prev"] = jax.random.normal(next(keys), (v, d))
        out_dim = v
    else:
        params["w_in"] = _normal(next(keys), (task.token_dim, d), task.token_dim)
        out_dim = task.value_dim
    s = cfg.init_scale
    params["layers"] = [
        {
            "w_q": _normal(next(keys), (d, dk), d, s),
            "w_k": _normal(next(keys), (d, dk), d, s),
            "w_v": _normal(next(keys), (d, d), d),
            "w_o": _normal(next(keys), (d, d), d),
        }
        for _ in range(cfg.n_layers)
    ]
    params["w_out"] = _normal(next(keys), (d, out_dim), d)
    # a kernel with feature parameters of its own (hedgehog) gets them per layer, drawn from no key:
    # every other parameter is the same as for any other kernel at the same key
    feature = cfg.kernel_obj.init_feature_params(dk)
    if feature is not None:
        for layer in params["layers"]:
            layer["kernel"] = dict(feature)
    return params


def num_params(params: Params) -> int:
    return sum(int(p.size) for p in jax.tree_util.tree_leaves(params))


def _rms_norm(h: Float[Array, "n d"]) -> Float[Array, "n d"]:
    return h / jnp.sqrt(jnp.mean(h**2, axis=-1, keepdims=True) + 1e-12)


def _weights_and_penalty(
    kernel: Kernel, q: Float[Array, "n dk"], k: Float[Array, "n dk"], causal: bool
) -> tuple[Float[Array, "n n"], Float[Array, ""]]:
    if kernel.is_score_kernel:
        scores = q @ k.T / math.sqrt(q.shape[-1])
        return kernel.weights_from_scores(scores, causal=causal), vertex_penalty(kernel, scores, causal)
    return kernel.weights(q, k, causal=causal), jnp.zeros((), q.dtype)


def _switched(
    kernels: Sequence[Kernel], index: Array, q: Float[Array, "n dk"], k: Float[Array, "n dk"], causal: bool
) -> tuple[Float[Array, "n n"], Float[Array, ""]]:
    """The weights of ``kernels[index]``, for a traced ``index``, with NaN-safe gradients.

    Every branch is evaluated (under ``vmap`` a switch becomes a select anyway), but a branch
    that is not selected sees harmless inputs — all scores 1 for the score kernels, ``q = k = 0``
    for the feature kernel — on which every kernel is finite (uniform weights).  The ``where`` routes a zero
    cotangent to the real ``q, k`` from unselected branches, so a kernel that would be singular
    at the current parameters (poly2 with all scores 0) cannot poison another kernel's run.
    """
    weights = jnp.zeros((q.shape[0], k.shape[0]), q.dtype)
    penalty = jnp.zeros((), q.dtype)
    for b, kernel in enumerate(kernels):
        sel = index == b
        if kernel.is_score_kernel:
            scores = jnp.where(sel, q @ k.T / math.sqrt(q.shape[-1]), 1.0)
            w = kernel.weights_from_scores(scores, causal=causal)
            pen = vertex_penalty(kernel, scores, causal)
        else:
            w = kernel.weights(jnp.where(sel, q, 0.0), jnp.where(sel, k, 0.0), causal=causal)
            pen = jnp.zeros((), q.dtype)
        weights = weights + jnp.where(sel, w, 0.0)
        penalty = penalty + jnp.where(sel, pen, 0.0)
    return weights, penalty


def attention_layer(
    layer: Params,
    h: Float[Array, "n d"],
    kernel: Kernel | Sequence[Kernel],
    causal: bool,
    index: Array | None = None,
) -> tuple[Float[Array, "n d"], Float[Array, ""]]:
    """One head ``A(h) h W_V W_O`` and the layer's vertex penalty.

    ``kernel`` is one kernel, or a sequence of kernels with a (traced) ``index`` choosing one.
    """
    q = h @ layer["w_q"]
    k = h @ layer["w_k"]
    if isinstance(kernel, Kernel):
        if "kernel" in layer:  # the layer's own feature parameters (only kernels that have them)
            kernel = kernel.bind(layer["kernel"])
        weights, pen = _weights_and_penalty(kernel, q, k, causal)
    else:
        weights, pen = _switched(kernel, index, q, k, causal)
    return weights @ (h @ layer["w_v"]) @ layer["w_o"], pen


def _forward_one(
    params: Params, cfg: ModelConfig, task: Task, x: Array, kernels, index, collect: list | None = None
) -> tuple[Array, Array]:
    kernel = cfg.kernel_obj if kernels is None else kernels
    if task.input_kind == "tokens":
        h = params["embed"][x]
        if cfg.shift_embedding:
            prev = jnp.concatenate([jnp.zeros((1,), x.dtype), x[:-1]])
            h = h + params["embed_prev"][prev]
    else:
        h = x @ params["w_in"]
    penalty = jnp.zeros(())
    for layer in params["layers"]:
        inp = _rms_norm(h) if cfg.norm else h
        if collect is not None:
            collect.append((inp @ layer["w_q"], inp @ layer["w_k"]))
        out, pen = attention_layer(layer, inp, kernel, task.causal, index)
        h = h + out
        penalty = penalty + pen
    if cfg.norm:
        h = _rms_norm(h)
    return h @ params["w_out"], penalty


def apply(
    params: Params,
    cfg: ModelConfig,
    task: Task,
    inputs: Array,
    *,
    kernels: Sequence[Kernel] | None = None,
    index: Array | None = None,
) -> tuple[Array, dict[str, Array]]:
    """Outputs for a batch of inputs, and ``{"vertex_penalty": mean over the batch}``.

    The attention kernel is ``cfg.kernel``, or ``kernels[index]`` when ``kernels`` is given
    (one compiled program then trains several kernels side by side: see :mod:`.train`).
    """
    if kernels is not None and index is None:
        raise ValueError("index: required when kernels is given")
    out, pen = jax.vmap(lambda x: _forward_one(params, cfg, task, x, kernels, index))(inputs)
    return out, {"vertex_penalty": jnp.mean(pen)}


def layer_kernel(cfg: ModelConfig, layer: Params) -> Kernel:
    """The kernel layer ``layer`` computes with: ``cfg.kernel`` bound to the layer's feature parameters, if any."""
    return cfg.kernel_obj.bind(layer["kernel"]) if "kernel" in layer else cfg.kernel_obj


def queries_keys(
    params: Params, cfg: ModelConfig, task: Task, inputs: Array
) -> list[tuple[Float[Array, "b n dk"], Float[Array, "b n dk"]]]:
    """Per layer, the queries ``h W_Q`` and keys ``h W_K`` the model's attention sees on ``inputs``
    (``h``: the layer's normed input), from the same forward pass as :func:`apply`."""

    def one(x):
        qk: list = []
        _forward_one(params, cfg, task, x, None, None, qk)
        return qk

    return jax.vmap(one)(inputs)
