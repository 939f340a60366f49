r"""What every checkpoint family shares: its shape (:class:`CheckpointConfig`), tokens, per-head maps and trace.

A family (:mod:`theorem.real.families`) supplies the embedding and one layer's forward pass; this base
turns them into the interface the measurements of :mod:`theorem.real.analysis` read (the same one as
:class:`theorem.real.model.MiniLM`): ``config`` (``layers, d, heads, dk, max_len, vocab``),
``check_layer``/``check_head``, ``text_ids``/``encode``/``tokens``, ``cls_id``/``sep_id`` (the tokens
that wrap a text window: ``[CLS]``/``[SEP]`` for BERT, the configured ``bos``/``eos`` ids for the
decoders), :meth:`CheckpointModel.head` (one head's ``x ↦ x W + b`` maps) and
:meth:`CheckpointModel.trace` (every layer's attention input ``X``, queries, keys, scores, weights).

``Trace.inputs[l]`` is the token matrix that feeds layer ``l``'s attention: the layer input for
post-LN BERT, ``LN(h)`` for GPT-2, ``RMSNorm(h)`` for Llama/Qwen2.  ``q``, ``k`` are the queries and
keys the scores are made of (biases included; for rotary models, rotated); ``scores`` holds all n×n
entries of ``S = scale·Q Kᵀ``, and for causal models the mask is in ``weights`` (``A_ij = 0`` for
``j > i``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from theorem.real.checkpoint_io import CheckpointError
from theorem.real.model import HeadParameters, TokenizedModel, Trace
from theorem.util.precision import float64

__all__ = ["CheckpointConfig", "CheckpointModel", "config_int", "config_float"]


def config_int(cfg: dict, key: str, default: int | None = None, minimum: int = 1) -> int:
    """``config.json[key]`` as an integer ≥ ``minimum`` (CheckpointError naming the key otherwise)."""
    value = cfg.get(key, default)
    if value is None:
        raise CheckpointError(f"config.json: missing {key!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CheckpointError(f"config.json: {key!r} must be an integer ≥ {minimum}, got {value!r}")
    return value


def config_float(cfg: dict, key: str, default: float | None = None) -> float:
    """``config.json[key]`` as a positive finite float."""
    value = cfg.get(key, default)
    if value is None:
        raise CheckpointError(f"config.json: missing {key!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise CheckpointError(f"config.json: {key!r} must be a positive number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CheckpointConfig:
    """The shape of a checkpoint, read from ``config.json`` (``dk``: the head width)."""

    family: str
    model_type: str
    layers: int
    d: int
    heads: int
    kv_heads: int
    dk: int
    ffn: int
    max_len: int
    vocab: int
    eps: float
    causal: bool
    rope: bool
    activation: str

    def __post_init__(self) -> None:
        if self.heads % self.kv_heads:
            raise CheckpointError(
                f"config.json: {self.heads} attention heads is not a multiple of {self.kv_heads} key/value heads"
            )

    @property
    def group(self) -> int:
        """Query heads per key/value head (1 without grouped-query attention)."""
        return self.heads // self.kv_heads


class CheckpointModel(TokenizedModel):
    """A loaded checkpoint: float64 weights, tokenizer, and the forward pass up to each attention.

    Subclasses set ``family``, ``probe`` (a tensor name every checkpoint of the family has) and
    implement ``_parse(cfg)``, ``_load(tensors)``, ``_embed(ids)``, ``_layer(h, i)`` (returning
    ``(h_next, x, q, k, scores, weights)``, per-head arrays ``(H, n, ·)``), ``_final(h)`` and
    ``_head_maps(layer, head)``.
    """

    family = ""
    probe = ""

    @float64
    def __init__(self, folder: Path, cfg: dict, model_type: str, tensors, tokenizer):
        self.folder = Path(folder)
        self.model_type = model_type
        self.config: CheckpointConfig = self._parse(cfg, model_type)
        self._load(tensors)
        self.tokenizer = tokenizer
        self.cls_id, self.sep_id = self._wrap_ids(cfg, tokenizer)
        self.name = f"{self.folder.resolve().parent.name}/{self.folder.name} ({model_type})"

    # --- family hooks -------------------------------------------------------------------------
    def _parse(self, cfg: dict, model_type: str) -> CheckpointConfig:
        raise NotImplementedError

    def _load(self, tensors) -> None:
        raise NotImplementedError

    def _embed(self, ids):
        raise NotImplementedError

    def _layer(self, h, i: int):
        raise NotImplementedError

    def _final(self, h):
        return h

    def _head_maps(self, layer: int, head: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _wrap_ids(self, cfg: dict, tok) -> tuple[int, int]:
        ids = []
        for key in ("bos_token_id", "eos_token_id"):
            value = cfg.get(key)
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.config.vocab:
                raise CheckpointError(f"config.json: {key!r} must be a token id in 0..{self.config.vocab - 1} "
                                      f"(it wraps each text window), got {value!r}")
            ids.append(value)
        return ids[0], ids[1]

    # --- properties ---------------------------------------------------------------------------
    @property
    def causal(self) -> bool:
        return self.config.causal

    @property
    def rope(self) -> bool:
        """Whether the scores carry rotary positions (then no single bilinear form ``M`` per head)."""
        return self.config.rope

    # --- heads and forward ----------------------------------------------------------------------
    def head(self, layer: int, head: int) -> HeadParameters:
        """One head's query/key/value maps ``x ↦ x W + b`` (float64; zero biases where the family has none).

        With grouped-query attention the key/value maps are those of the key/value head
        ``head // group`` that this query head reads.  For rotary models the maps are the ones
        *before* the rotation: the scores are ``(R_i q_i)·(R_j k_j)``, not ``q_i·k_j``.
        """
        layer, head = self.check_layer(layer), self.check_head(head)
        m = self._head_maps(layer, head)
        return HeadParameters(layer, head, m["w_q"], m["b_q"], m["w_k"], m["b_k"], m["w_v"], m["b_v"])

    @float64
    def hidden_states(self, ids, upto: int | None = None) -> list[Float[Array, "n d"]]:
        """The residual stream ``[h⁰, …, h^upto]`` (the final norm not applied)."""
        upto = self.config.layers if upto is None else upto
        h = self._embed(jnp.asarray(self.check_ids(ids)))
        out = [h]
        for i in range(upto):
            h = self._layer(h, i)[0]
            out.append(h)
        return out

    @float64
    def trace(self, ids, layers: int | None = None) -> Trace:
        """Run the first ``layers`` layers (all by default), keeping each attention's input and head quantities.

        ``hidden`` is the last hidden state the family outputs (after the final norm of GPT-2 and
        Llama/Qwen2 when every layer ran).
        """
        ids_np = self.check_ids(ids)
        layers = self.config.layers if layers is None else layers
        h = self._embed(jnp.asarray(ids_np))
        inputs, qs, ks, ss, ws = [], [], [], [], []
        for i in range(layers):
            h, x, q, k, s, w = self._layer(h, i)
            inputs.append(np.asarray(x))
            qs.append(np.asarray(q)), ks.append(np.asarray(k)), ss.append(np.asarray(s)), ws.append(np.asarray(w))
        hidden = self._final(h) if layers == self.config.layers else h
        return Trace(ids_np, self.tokens(ids_np), np.stack(inputs), np.stack(qs), np.stack(ks), np.stack(ss),
                     np.stack(ws), np.asarray(hidden))

    @float64
    def last_hidden_state(self, ids) -> np.ndarray:
        """The family's last hidden state (final norm included for the decoders)."""
        return np.asarray(self.trace(ids).hidden)
