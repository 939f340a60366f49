r"""The three checkpoint families, in JAX (float64): the forward pass up to each layer's attention and past it.

Notation: ``h`` the residual stream (n×d), ``X`` the matrix that feeds the layer's attention,
``LN(z) = γ ∘ (z − mean z)/√(var z + ε) + β`` and ``RMS(z) = γ ∘ z/√(mean z² + ε)`` row by row.

* **BERT** (:class:`Bert`; post-LN, biases, bidirectional): exactly the pass of
  :mod:`theorem.real.model` (its ``_embed`` and ``_layer``): ``X = h``, a LayerNorm output;
  ``S = (X W_Q + b_Q)(X W_K + b_K)ᵀ/√d_k``; weights stored ``(out, in)``.
* **GPT-2** (:class:`GPT2`; pre-LN, biases, causal): ``h⁰ = E_tok[t] + E_pos[0..n−1]``;
  ``X = LN₁(h)``, ``[Q | K | V] = X W_attn + b_attn`` (one ``Conv1D`` matrix ``d × 3d`` stored
  ``(in, out)``: columns ``0..d−1`` are the queries, ``d..2d−1`` the keys, ``2d..3d−1`` the values,
  head ``j`` the ``d_k`` columns ``j·d_k …`` of each); ``S = Q Kᵀ·c`` with ``c = 1/√d_k`` (and
  ``/(l+1)`` when ``scale_attn_by_inverse_layer_idx``), causal mask; ``h ← h + ctx W_proj + b_proj``,
  ``h ← h + act(LN₂(h) W_fc + b_fc) W_fc2 + b_fc2``; last hidden state ``LN_f(h)``.
* **Llama/Qwen2** (:class:`Llama`; RMSNorm, causal, grouped-query attention, rotary positions):
  ``h⁰ = E_tok[t]``; ``X = RMS₁(h)``; ``q_i = R_i (W_Qᵀ x_i + b_Q)``, ``k_j = R_j (W_Kᵀ x_j + b_K)``
  per head, with ``R_p`` the rotation by the angles ``p·ω_m`` (``ω_m = θ^{−2m/d_k}``, ``m = 0..d_k/2−1``,
  rescaled as :func:`rope_frequencies` says) acting on the coordinate pairs ``(m, m + d_k/2)``; ``S_ij = q_i·k_j/√d_k``, causal mask; query head ``j``
  reads key/value head ``⌊j/g⌋`` (``g`` = heads per key/value head); biases on Q, K, V for Qwen2
  (and Llama with ``attention_bias``); ``h ← h + ctx W_O``, ``h ← h + (silu(m W_gate) ∘ (m W_up)) W_down``
  with ``m = RMS₂(h)``; last hidden state ``RMS_f(h)``.

Because ``S_ij = x_iᵀ W_Q R_{j−i} W_Kᵀ x_j`` (for zero biases), a rotary head's score is a different
bilinear form for every offset ``j − i``: there is no single ``M = W_Q W_Kᵀ`` for the head, which
the measurements report (:mod:`theorem.real.checkpoint_analysis`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from theorem.real.checkpoint_io import CheckpointError
from theorem.real.checkpoint_model import CheckpointConfig, CheckpointModel, config_float, config_int
from theorem.real.model import _embed as bert_embed
from theorem.real.model import _layer as bert_layer
from theorem.real.model import _layer_norm as layer_norm

__all__ = ["Bert", "GPT2", "Llama", "FAMILY_CLASSES", "ACTIVATIONS", "rope_frequencies", "rope_tables"]

ACTIVATIONS = {
    "gelu": lambda z: jax.nn.gelu(z, approximate=False),
    "gelu_new": lambda z: jax.nn.gelu(z, approximate=True),
    "gelu_pytorch_tanh": lambda z: jax.nn.gelu(z, approximate=True),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
}


def _activation(cfg: dict, key: str, allowed: tuple[str, ...]) -> str:
    act = cfg.get(key, allowed[0])
    if act not in allowed:
        raise CheckpointError(f"config.json: {key} {act!r} is not supported here; supported: {', '.join(allowed)}")
    return act


def _split(z, heads: int):
    n, width = z.shape
    return z.reshape(n, heads, width // heads).transpose(1, 0, 2)  # (H, n, dk)


def _causal_softmax(scores):
    n = scores.shape[-1]
    mask = jnp.tril(jnp.ones((n, n), dtype=bool))
    return jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1)


@functools.partial(jax.jit, static_argnames=("eps",))
def _final_layer_norm(h, gamma, beta, eps: float):
    return layer_norm(h, gamma, beta, eps)


@jax.jit
def _token_and_position(ids, tok, pos):
    return tok[ids] + pos[: ids.shape[0]]


def _attend(weights, v):
    ctx = jnp.einsum("hij,hjd->hid", weights, v)
    return ctx.transpose(1, 0, 2).reshape(ctx.shape[1], -1)


# --- BERT ------------------------------------------------------------------------------------------
class Bert(CheckpointModel):
    """A BERT encoder (``model_type`` ``bert``): the forward pass of :mod:`theorem.real.model`."""

    family = "bert"
    probe = "embeddings.word_embeddings.weight"

    def _parse(self, cfg, model_type):
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise CheckpointError(f"config.json: position_embedding_type {cfg['position_embedding_type']!r}; "
                                  "this loader runs absolute position embeddings only")
        d, heads = config_int(cfg, "hidden_size"), config_int(cfg, "num_attention_heads")
        if d % heads:
            raise CheckpointError(f"config.json: hidden_size {d} is not a multiple of num_attention_heads {heads}")
        self._type_vocab = config_int(cfg, "type_vocab_size", 2)
        return CheckpointConfig("bert", model_type, config_int(cfg, "num_hidden_layers"), d, heads, heads, d // heads,
                                config_int(cfg, "intermediate_size"), config_int(cfg, "max_position_embeddings"),
                                config_int(cfg, "vocab_size"), config_float(cfg, "layer_norm_eps", 1e-12),
                                False, False, _activation(cfg, "hidden_act", ("gelu",)))

    def _load(self, t):
        c = self.config
        d, f = c.d, c.ffn
        self.embeddings = {
            "word": t.jax("embeddings.word_embeddings.weight", (c.vocab, d)),
            "pos": t.jax("embeddings.position_embeddings.weight", (c.max_len, d)),
            "typ": t.jax("embeddings.token_type_embeddings.weight", (self._type_vocab, d)),
            "gamma": t.jax("embeddings.LayerNorm.weight", (d,)),
            "beta": t.jax("embeddings.LayerNorm.bias", (d,)),
        }
        self.layers = []
        for i in range(c.layers):
            g = lambda name, shape, tr=False: t.jax(f"encoder.layer.{i}.{name}", shape, tr)  # noqa: E731
            self.layers.append({
                "wq": g("attention.self.query.weight", (d, d), True), "bq": g("attention.self.query.bias", (d,)),
                "wk": g("attention.self.key.weight", (d, d), True), "bk": g("attention.self.key.bias", (d,)),
                "wv": g("attention.self.value.weight", (d, d), True), "bv": g("attention.self.value.bias", (d,)),
                "wo": g("attention.output.dense.weight", (d, d), True), "bo": g("attention.output.dense.bias", (d,)),
                "ln1_g": g("attention.output.LayerNorm.weight", (d,)), "ln1_b": g("attention.output.LayerNorm.bias", (d,)),
                "w1": g("intermediate.dense.weight", (f, d), True), "b1": g("intermediate.dense.bias", (f,)),
                "w2": g("output.dense.weight", (d, f), True), "b2": g("output.dense.bias", (d,)),
                "ln2_g": g("output.LayerNorm.weight", (d,)), "ln2_b": g("output.LayerNorm.bias", (d,)),
            })

    def _wrap_ids(self, cfg, tok):
        ids = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        if None in ids:
            raise CheckpointError(f"{self.folder / 'tokenizer.json'}: no [CLS]/[SEP] tokens to wrap each text window")
        return int(ids[0]), int(ids[1])

    def _embed(self, ids):
        e = self.embeddings
        return bert_embed(ids, e["word"], e["pos"], e["typ"], e["gamma"], e["beta"], self.config.eps)

    def _layer(self, h, i):
        out, q, k, s, w = bert_layer(h, self.layers[i], self.config.heads, self.config.eps)
        return out, h, q, k, s, w

    def _head_maps(self, layer, head):
        p, cols = self.layers[layer], slice(head * self.config.dk, (head + 1) * self.config.dk)
        a = lambda name: np.asarray(p[name])  # noqa: E731
        return {"w_q": a("wq")[:, cols], "b_q": a("bq")[cols], "w_k": a("wk")[:, cols], "b_k": a("bk")[cols],
                "w_v": a("wv")[:, cols], "b_v": a("bv")[cols]}


# --- GPT-2 -----------------------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames=("heads", "eps", "act"))
def gpt2_layer(h, p, scale, heads: int, eps: float, act: str):
    """One pre-LN GPT-2 block: ``(h_next, X, q, k, scores, weights)``."""
    x = layer_norm(h, p["ln1_g"], p["ln1_b"], eps)
    qkv = x @ p["w_attn"] + p["b_attn"]
    d = h.shape[1]
    q, k, v = (_split(qkv[:, j * d:(j + 1) * d], heads) for j in range(3))
    scores = jnp.einsum("hid,hjd->hij", q, k) * scale
    weights = _causal_softmax(scores)
    h = h + _attend(weights, v) @ p["w_proj"] + p["b_proj"]
    m = layer_norm(h, p["ln2_g"], p["ln2_b"], eps)
    h = h + ACTIVATIONS[act](m @ p["w_fc"] + p["b_fc"]) @ p["w_fc2"] + p["b_fc2"]
    return h, x, q, k, scores, weights


class GPT2(CheckpointModel):
    """GPT-2 (``model_type`` ``gpt2``); ``Conv1D`` weights are stored ``(in, out)``: used as they are."""

    family = "gpt2"
    probe = "wte.weight"

    def _parse(self, cfg, model_type):
        d, heads = config_int(cfg, "n_embd"), config_int(cfg, "n_head")
        if d % heads:
            raise CheckpointError(f"config.json: n_embd {d} is not a multiple of n_head {heads}")
        inner = 4 * d if cfg.get("n_inner") is None else config_int(cfg, "n_inner")
        self._scale_by_layer = bool(cfg.get("scale_attn_by_inverse_layer_idx", False))
        self._scale = 1.0 / math.sqrt(d // heads) if cfg.get("scale_attn_weights", True) else 1.0
        return CheckpointConfig("gpt2", model_type, config_int(cfg, "n_layer"), d, heads, heads, d // heads, int(inner),
                                config_int(cfg, "n_positions"), config_int(cfg, "vocab_size"),
                                config_float(cfg, "layer_norm_epsilon", 1e-5), True, False,
                                _activation(cfg, "activation_function", ("gelu_new", "gelu", "gelu_pytorch_tanh", "relu")))

    def _load(self, t):
        c = self.config
        d, f = c.d, c.ffn
        self.wte = t.jax("wte.weight", (c.vocab, d))
        self.wpe = t.jax("wpe.weight", (c.max_len, d))
        self.ln_f = (t.jax("ln_f.weight", (d,)), t.jax("ln_f.bias", (d,)))
        self.layers = []
        for i in range(c.layers):
            g = lambda name, shape: t.jax(f"h.{i}.{name}", shape)  # noqa: E731
            self.layers.append({
                "ln1_g": g("ln_1.weight", (d,)), "ln1_b": g("ln_1.bias", (d,)),
                "w_attn": g("attn.c_attn.weight", (d, 3 * d)), "b_attn": g("attn.c_attn.bias", (3 * d,)),
                "w_proj": g("attn.c_proj.weight", (d, d)), "b_proj": g("attn.c_proj.bias", (d,)),
                "ln2_g": g("ln_2.weight", (d,)), "ln2_b": g("ln_2.bias", (d,)),
                "w_fc": g("mlp.c_fc.weight", (d, f)), "b_fc": g("mlp.c_fc.bias", (f,)),
                "w_fc2": g("mlp.c_proj.weight", (f, d)), "b_fc2": g("mlp.c_proj.bias", (d,)),
            })

    def score_scale(self, layer: int) -> float:
        """The factor ``c`` of ``S = Q Kᵀ·c`` in layer ``layer``."""
        return self._scale / (layer + 1) if self._scale_by_layer else self._scale

    def _embed(self, ids):
        return _token_and_position(ids, self.wte, self.wpe)

    def _layer(self, h, i):
        c = self.config
        return gpt2_layer(h, self.layers[i], jnp.asarray(self.score_scale(i), dtype=jnp.float64),
                          c.heads, c.eps, c.activation)

    def _final(self, h):
        return _final_layer_norm(h, self.ln_f[0], self.ln_f[1], self.config.eps)

    def _head_maps(self, layer, head):
        d, dk = self.config.d, self.config.dk
        w, b = np.asarray(self.layers[layer]["w_attn"]), np.asarray(self.layers[layer]["b_attn"])
        cols = lambda part: slice(part * d + head * dk, part * d + (head + 1) * dk)  # noqa: E731
        return {"w_q": w[:, cols(0)], "b_q": b[cols(0)], "w_k": w[:, cols(1)], "b_k": b[cols(1)],
                "w_v": w[:, cols(2)], "b_v": b[cols(2)]}


# --- Llama / Qwen2 ---------------------------------------------------------------------------------
def rope_frequencies(cfg: dict, dk: int) -> np.ndarray:
    r"""The rotary frequencies ``ω_m`` (m = 0..d_k/2−1) of ``config.json``: ``ω_m = θ^{−2m/d_k}``, rescaled.

    ``rope_theta`` and ``rope_scaling`` (or transformers' newer ``rope_parameters``).  Scalings:
    ``default`` (none); ``linear`` (``ω/s``, i.e. positions divided by the factor ``s``); ``llama3``:
    with wavelength ``λ = 2π/ω``, original context ``L₀`` and the low/high frequency factors ``α < β``,
    ``ω/s`` where ``λ > L₀/α``, ``ω`` where ``λ < L₀/β``, and between them the blend
    ``(1 − t)·ω/s + t·ω`` with ``t = (L₀/λ − α)/(β − α)``.  Other scalings: CheckpointError.
    """
    params = cfg.get("rope_parameters") if isinstance(cfg.get("rope_parameters"), dict) else {}
    scaling = cfg.get("rope_scaling") if isinstance(cfg.get("rope_scaling"), dict) else params
    kind = scaling.get("rope_type", scaling.get("type", "default")) if scaling else "default"
    theta = params.get("rope_theta", cfg.get("rope_theta", 10000.0))
    if isinstance(theta, bool) or not isinstance(theta, (int, float)) or theta <= 1:
        raise CheckpointError(f"config.json: rope_theta must be a number > 1, got {theta!r}")
    omega = float(theta) ** (-np.arange(0, dk, 2, dtype=np.float64) / dk)
    if kind == "default":
        return omega
    if kind == "linear":
        return omega / config_float(scaling, "factor")
    if kind == "llama3":
        s, lo, hi = (config_float(scaling, key) for key in ("factor", "low_freq_factor", "high_freq_factor"))
        ctx = config_float(scaling, "original_max_position_embeddings")
        if not lo < hi:
            raise CheckpointError(f"config.json: rope_scaling low_freq_factor {lo} must be below high_freq_factor {hi}")
        wavelength = 2 * math.pi / omega
        t = (ctx / wavelength - lo) / (hi - lo)
        blend = (1 - t) * omega / s + t * omega
        return np.where(wavelength > ctx / lo, omega / s, np.where(wavelength < ctx / hi, omega, blend))
    raise CheckpointError(f"config.json: rope scaling {kind!r} is not supported here (default, linear and llama3 are)")


def rope_tables(n: int, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cos``, ``sin`` (n×d_k) of the angles ``p·ω_m`` at positions ``p = 0..n−1``, each half repeated."""
    ang = np.arange(n, dtype=np.float64)[:, None] * np.asarray(omega, dtype=np.float64)[None, :]
    ang = np.concatenate([ang, ang], axis=1)
    return np.cos(ang), np.sin(ang)


def _rotate(z, cos, sin):
    half = z.shape[-1] // 2
    turned = jnp.concatenate([-z[..., half:], z[..., :half]], axis=-1)
    return z * cos + turned * sin


def _rms(z, gamma, eps):
    return z / jnp.sqrt(jnp.mean(z * z, axis=-1, keepdims=True) + eps) * gamma


_final_rms = jax.jit(_rms, static_argnames=("eps",))


@functools.partial(jax.jit, static_argnames=("heads", "kv_heads", "eps"))
def llama_layer(h, p, cos, sin, heads: int, kv_heads: int, eps: float):
    """One Llama/Qwen2 block: ``(h_next, X, q, k, scores, weights)`` (q, k rotated; k repeated per group)."""
    x = _rms(h, p["ln1"], eps)
    q = _rotate(_split(x @ p["wq"] + p["bq"], heads), cos, sin)
    k = _rotate(_split(x @ p["wk"] + p["bk"], kv_heads), cos, sin)
    v = _split(x @ p["wv"] + p["bv"], kv_heads)
    group = heads // kv_heads
    k, v = jnp.repeat(k, group, axis=0), jnp.repeat(v, group, axis=0)
    scores = jnp.einsum("hid,hjd->hij", q, k) / math.sqrt(q.shape[-1])
    weights = _causal_softmax(scores)
    h = h + _attend(weights, v) @ p["wo"] + p["bo"]
    m = _rms(h, p["ln2"], eps)
    h = h + (jax.nn.silu(m @ p["wg"] + p["bg"]) * (m @ p["wu"] + p["bu"])) @ p["wd"] + p["bd"]
    return h, x, q, k, scores, weights


class Llama(CheckpointModel):
    """Llama and Qwen2 (``model_type`` ``llama``, ``qwen2``)."""

    family = "llama"
    probe = "embed_tokens.weight"

    def _parse(self, cfg, model_type):
        d, heads = config_int(cfg, "hidden_size"), config_int(cfg, "num_attention_heads")
        kv = config_int(cfg, "num_key_value_heads", heads)
        dk = cfg.get("head_dim") or (d // heads if d % heads == 0 else None)
        if dk is None:
            raise CheckpointError(f"config.json: hidden_size {d} is not a multiple of num_attention_heads {heads} "
                                  "and no head_dim is given")
        dk = config_int({"head_dim": dk}, "head_dim")
        if dk % 2:
            raise CheckpointError(f"config.json: head_dim {dk} is odd; rotary positions rotate coordinate pairs")
        if cfg.get("use_sliding_window"):
            raise CheckpointError("config.json: use_sliding_window is true; this loader runs full causal attention only")
        self._omega = rope_frequencies(cfg, dk)
        self._qkv_bias = model_type == "qwen2" or bool(cfg.get("attention_bias", False))
        self._o_bias = model_type == "llama" and bool(cfg.get("attention_bias", False))
        self._mlp_bias = bool(cfg.get("mlp_bias", False))
        return CheckpointConfig("llama", model_type, config_int(cfg, "num_hidden_layers"), d, heads, kv, dk,
                                config_int(cfg, "intermediate_size"), config_int(cfg, "max_position_embeddings"),
                                config_int(cfg, "vocab_size"), config_float(cfg, "rms_norm_eps", 1e-6), True, True,
                                _activation(cfg, "hidden_act", ("silu",)))

    def _load(self, t):
        c = self.config
        d, f, hq, hkv = c.d, c.ffn, c.heads * c.dk, c.kv_heads * c.dk
        self.embed_tokens = t.jax("embed_tokens.weight", (c.vocab, d))
        self.norm = t.jax("norm.weight", (d,))
        zeros = lambda m: jnp.zeros((m,), dtype=jnp.float64)  # noqa: E731
        self.layers = []
        for i in range(c.layers):
            pre = f"layers.{i}."
            w = lambda name, shape: t.jax(pre + name + ".weight", shape, True)  # noqa: E731
            b = lambda name, m, present: t.jax(pre + name + ".bias", (m,)) if present else zeros(m)  # noqa: E731
            self.layers.append({
                "ln1": t.jax(pre + "input_layernorm.weight", (d,)), "ln2": t.jax(pre + "post_attention_layernorm.weight", (d,)),
                "wq": w("self_attn.q_proj", (hq, d)), "bq": b("self_attn.q_proj", hq, self._qkv_bias),
                "wk": w("self_attn.k_proj", (hkv, d)), "bk": b("self_attn.k_proj", hkv, self._qkv_bias),
                "wv": w("self_attn.v_proj", (hkv, d)), "bv": b("self_attn.v_proj", hkv, self._qkv_bias),
                "wo": w("self_attn.o_proj", (d, hq)), "bo": b("self_attn.o_proj", d, self._o_bias),
                "wg": w("mlp.gate_proj", (f, d)), "bg": b("mlp.gate_proj", f, self._mlp_bias),
                "wu": w("mlp.up_proj", (f, d)), "bu": b("mlp.up_proj", f, self._mlp_bias),
                "wd": w("mlp.down_proj", (d, f)), "bd": b("mlp.down_proj", d, self._mlp_bias),
            })

    def rope_tables(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``cos``, ``sin`` (n×d_k) of this model's rotary angles at positions ``0..n−1``."""
        return rope_tables(n, self._omega)

    def _embed(self, ids):
        return self.embed_tokens[ids]

    def _layer(self, h, i):
        c = self.config
        cos, sin = (jnp.asarray(a, dtype=jnp.float64) for a in self.rope_tables(h.shape[0]))
        return llama_layer(h, self.layers[i], cos, sin, c.heads, c.kv_heads, c.eps)

    def _final(self, h):
        return _final_rms(h, self.norm, self.config.eps)

    def _head_maps(self, layer, head):
        p, dk = self.layers[layer], self.config.dk
        q, kv = slice(head * dk, (head + 1) * dk), head // self.config.group
        kvs = slice(kv * dk, (kv + 1) * dk)
        a = lambda name: np.asarray(p[name])  # noqa: E731
        return {"w_q": a("wq")[:, q], "b_q": a("bq")[q], "w_k": a("wk")[:, kvs], "b_k": a("bk")[kvs],
                "w_v": a("wv")[:, kvs], "b_v": a("bv")[kvs]}


FAMILY_CLASSES: dict[str, type[CheckpointModel]] = {"bert": Bert, "gpt2": GPT2, "llama": Llama}
