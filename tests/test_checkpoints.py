"""Local Hugging Face checkpoints (``d2check real --model DIR``): tiny BERT, GPT-2, Llama and Qwen2 models
written here with NumPy → safetensors, read back by :mod:`theorem.real.checkpoint`.

Oracles, all independent of the loader: the NumPy arrays the test wrote (sliced by hand), a NumPy
forward pass of layer 0 written here (embedding, norm, the heads' scores and causal/rotary weights),
and transformers on CPU torch (the ``reference`` extra: ``make reference``) for every layer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("safetensors", reason="the real extra is not installed (make real)")
pytest.importorskip("tokenizers", reason="the real extra is not installed (make real)")

from theorem.cli import main as d2check  # noqa: E402
from theorem.real.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from theorem.real.analysis import Selection  # noqa: E402
from theorem.real.checkpoint_analysis import analyze_checkpoint, causal_matching_record  # noqa: E402
from theorem.real.checkpoint_io import detect_family  # noqa: E402

# --- tiny checkpoints in the Hugging Face layout ----------------------------------------------------
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<bos>", "<eos>"]
WORDS = [f"w{i}" for i in range(40)]
VOCAB = SPECIALS + WORDS
VOCAB_SIZE = 48  # a little above the tokenizer's 46 entries, as real checkpoints pad it


def write_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))


def _save(folder: Path, config: dict, tensors: dict[str, np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=1))
    tensors = {k: np.ascontiguousarray(v, dtype=v.dtype if v.dtype.kind == "i" else np.float32) for k, v in tensors.items()}
    save_file({prefix + k: v for k, v in tensors.items()}, str(folder / "model.safetensors"), metadata={"format": "pt"})
    write_tokenizer(folder)
    return {k: v.astype(np.float64) for k, v in tensors.items()}


def to_bfloat16(folder: Path) -> dict[str, np.ndarray]:
    """Rewrite the folder's weights as bfloat16 (the upper half of each float32, as most Llama/Qwen2 files
    are stored), writing the safetensors layout by hand: an 8-byte little-endian header length, the JSON
    header (padded to 8 bytes), the data.  Returns the values a bfloat16 holds, in float64."""
    from safetensors.numpy import load_file

    kept, header, blobs, offset = {}, {"__metadata__": {"format": "pt"}}, [], 0
    for name, a in load_file(str(folder / "model.safetensors")).items():
        upper = (np.ascontiguousarray(a, dtype=np.float32).view(np.uint32) >> np.uint32(16)).astype("<u2")
        kept[name] = (upper.astype(np.uint32) << np.uint32(16)).view(np.float32).astype(np.float64)
        data = upper.tobytes()
        header[name] = {"dtype": "BF16", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (folder / "model.safetensors").write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))
    return kept


class _Draw:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def w(self, *shape, scale=0.3):
        return self.rng.normal(scale=scale, size=shape)

    def gamma(self, d):
        return 1.0 + self.rng.normal(scale=0.1, size=d)


def bert(folder: Path, d=16, heads=2, layers=2, ffn=32, max_len=32, seed=0, prefix="") -> dict[str, np.ndarray]:
    r = _Draw(seed)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": d, "num_attention_heads": heads,
              "num_hidden_layers": layers, "intermediate_size": ffn, "max_position_embeddings": max_len,
              "vocab_size": VOCAB_SIZE, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "pad_token_id": 0,
              "position_embedding_type": "absolute"}
    t = {"embeddings.word_embeddings.weight": r.w(VOCAB_SIZE, d, scale=1.0),
         "embeddings.position_embeddings.weight": r.w(max_len, d, scale=0.5),
         "embeddings.token_type_embeddings.weight": r.w(2, d, scale=0.5),
         "embeddings.LayerNorm.weight": r.gamma(d), "embeddings.LayerNorm.bias": r.w(d, scale=0.1),
         "pooler.dense.weight": r.w(d, d), "pooler.dense.bias": r.w(d),
         "embeddings.position_ids": np.arange(max_len, dtype=np.int64)[None, :]}  # an integer buffer, as BERT files have
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (o, n) in {"attention.self.query": (d, d), "attention.self.key": (d, d),
                             "attention.self.value": (d, d), "attention.output.dense": (d, d),
                             "intermediate.dense": (ffn, d), "output.dense": (d, ffn)}.items():
            t[p + name + ".weight"], t[p + name + ".bias"] = r.w(o, n), r.w(o, scale=0.1)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"], t[p + ln + ".bias"] = r.gamma(d), r.w(d, scale=0.1)
    return _save(folder, config, t, prefix)


def gpt2(folder: Path, d=16, heads=4, layers=2, max_len=32, seed=1, prefix="", by_layer=False) -> dict[str, np.ndarray]:
    r = _Draw(seed)
    config = {"architectures": ["GPT2Model"], "model_type": "gpt2", "n_embd": d, "n_head": heads, "n_layer": layers,
              "n_positions": max_len, "n_inner": None, "vocab_size": VOCAB_SIZE, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new", "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
              "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": by_layer, "bos_token_id": VOCAB.index("<bos>"), "eos_token_id": VOCAB.index("<eos>")}
    t = {"wte.weight": r.w(VOCAB_SIZE, d, scale=1.0), "wpe.weight": r.w(max_len, d, scale=0.5),
         "ln_f.weight": r.gamma(d), "ln_f.bias": r.w(d, scale=0.1)}
    for i in range(layers):
        p = f"h.{i}."
        for name, (n_in, n_out) in {"attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d), "mlp.c_fc": (d, 4 * d),
                                    "mlp.c_proj": (4 * d, d)}.items():
            t[p + name + ".weight"], t[p + name + ".bias"] = r.w(n_in, n_out), r.w(n_out, scale=0.1)  # Conv1D: (in, out)
        for ln in ("ln_1", "ln_2"):
            t[p + ln + ".weight"], t[p + ln + ".bias"] = r.gamma(d), r.w(d, scale=0.1)
    return _save(folder, config, t, prefix)


def llama(folder: Path, model_type="llama", d=32, heads=4, kv_heads=2, head_dim=8, layers=2, ffn=48, max_len=64,
          seed=2, prefix="", rope_scaling=None) -> dict[str, np.ndarray]:
    r = _Draw(seed)
    arch = {"llama": "LlamaModel", "qwen2": "Qwen2Model"}[model_type]
    config = {"architectures": [arch], "model_type": model_type, "hidden_size": d, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "num_hidden_layers": layers,
              "intermediate_size": ffn, "max_position_embeddings": max_len, "vocab_size": VOCAB_SIZE,
              "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": rope_scaling, "hidden_act": "silu",
              "attention_bias": False, "attention_dropout": 0.0, "tie_word_embeddings": False,
              "use_sliding_window": False, "bos_token_id": VOCAB.index("<bos>"), "eos_token_id": VOCAB.index("<eos>")}
    t = {"embed_tokens.weight": r.w(VOCAB_SIZE, d, scale=1.0), "norm.weight": r.gamma(d)}
    hq, hkv = heads * head_dim, kv_heads * head_dim
    for i in range(layers):
        p = f"layers.{i}."
        for name, shape in {"self_attn.q_proj": (hq, d), "self_attn.k_proj": (hkv, d), "self_attn.v_proj": (hkv, d),
                            "self_attn.o_proj": (d, hq), "mlp.gate_proj": (ffn, d), "mlp.up_proj": (ffn, d),
                            "mlp.down_proj": (d, ffn)}.items():
            t[p + name + ".weight"] = r.w(*shape)  # nn.Linear: (out, in)
            if model_type == "qwen2" and name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                t[p + name + ".bias"] = r.w(shape[0], scale=0.3)
        t[p + "input_layernorm.weight"], t[p + "post_attention_layernorm.weight"] = r.gamma(d), r.gamma(d)
    return _save(folder, config, t, prefix)


#: Llama 3's rotary scaling with an original context of 64: at d_k = 8 its four wavelengths 2π·10000^(2m/8)
#: ≈ 6.3, 63, 628, 6283 fall in the kept (< 64/4), blended and scaled (> 64/1) bands
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 64}
BUILDERS = {"bert": bert, "gpt2": gpt2, "llama": llama, "qwen2": lambda f, **kw: llama(f, "qwen2", **kw),
            "llama3": lambda f, **kw: llama(f, rope_scaling=LLAMA3_SCALING, seed=3, **kw),
            "gpt2-by-layer": lambda f, **kw: gpt2(f, by_layer=True, seed=4, **kw)}  # scores of layer l divided by l + 1

TEXT = " ".join(f"w{(7 * i + 3) % 40}" for i in range(60))
N = 10  # tokens per window: one shape, so each family's layer is compiled once in this module
KINDS = ("bert", "gpt2", "gpt2-by-layer", "llama", "qwen2", "llama3")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``kind → (folder, arrays written, model, ids, trace)`` for the four tiny checkpoints."""
    out = {}
    for kind in KINDS:
        folder = tmp_path_factory.mktemp(kind)
        arrays = BUILDERS[kind](folder)
        model = load_checkpoint(folder)
        ids = model.encode(" ".join(TEXT.split()[: N - 2]))
        out[kind] = (folder, arrays, model, ids, model.trace(ids))
    return out


# --- family detection -------------------------------------------------------------------------------
@pytest.mark.parametrize("config, expected", [
    ({"model_type": "bert"}, ("bert", "bert")),
    ({"model_type": "gpt2"}, ("gpt2", "gpt2")),
    ({"model_type": "llama"}, ("llama", "llama")),
    ({"model_type": "qwen2"}, ("llama", "qwen2")),
    ({"architectures": ["GPT2LMHeadModel"]}, ("gpt2", "gpt2")),
    ({"architectures": ["Qwen2ForCausalLM"]}, ("llama", "qwen2")),
    ({"architectures": ["BertForMaskedLM"]}, ("bert", "bert")),
])
def test_family_is_read_from_model_type_or_architectures(config, expected):
    assert detect_family(config) == expected


@pytest.mark.parametrize("config", [{"model_type": "t5"}, {"architectures": ["T5Model"]}, {},
                                    {"model_type": "t5", "architectures": ["LlamaForCausalLM"]}])
def test_unknown_family_is_one_error_naming_what_was_seen(config):
    with pytest.raises(CheckpointError, match="unknown model family") as err:
        detect_family(config)
    assert "\n" not in str(err.value) and "qwen2" in str(err.value)


# --- per-head maps: the tensors written, sliced by hand ----------------------------------------------
def test_bert_head_maps_are_the_written_rows(built):
    _, t, model, _, _ = built["bert"]
    dk = 8
    for layer in range(2):
        for head in range(2):
            hp, rows = model.head(layer, head), slice(head * dk, (head + 1) * dk)
            p = f"encoder.layer.{layer}.attention.self."
            np.testing.assert_array_equal(hp.w_q, t[p + "query.weight"][rows].T)
            np.testing.assert_array_equal(hp.b_q, t[p + "query.bias"][rows])
            np.testing.assert_array_equal(hp.w_k, t[p + "key.weight"][rows].T)
            np.testing.assert_array_equal(hp.b_k, t[p + "key.bias"][rows])
            np.testing.assert_array_equal(hp.w_v, t[p + "value.weight"][rows].T)


def test_gpt2_head_maps_are_the_written_conv1d_columns(built):
    _, t, model, _, _ = built["gpt2"]
    d, dk = 16, 4
    for layer in range(2):
        w, b = t[f"h.{layer}.attn.c_attn.weight"], t[f"h.{layer}.attn.c_attn.bias"]  # (in, out) = (16, 48)
        for head in range(4):
            hp = model.head(layer, head)
            lo = head * dk
            np.testing.assert_array_equal(hp.w_q, w[:, lo:lo + dk])
            np.testing.assert_array_equal(hp.w_k, w[:, d + lo:d + lo + dk])
            np.testing.assert_array_equal(hp.w_v, w[:, 2 * d + lo:2 * d + lo + dk])
            np.testing.assert_array_equal(hp.b_q, b[lo:lo + dk])
            np.testing.assert_array_equal(hp.b_k, b[d + lo:d + lo + dk])


@pytest.mark.parametrize("kind", ["llama", "qwen2", "llama3"])
def test_llama_head_maps_share_the_key_value_head_of_their_group(built, kind):
    _, t, model, _, _ = built[kind]
    dk = 8
    kv_of = {0: 0, 1: 0, 2: 1, 3: 1}  # 4 query heads, 2 key/value heads
    for layer in range(2):
        p = f"layers.{layer}.self_attn."
        for head in range(4):
            hp, q, kv = model.head(layer, head), slice(head * dk, (head + 1) * dk), slice(kv_of[head] * dk, (kv_of[head] + 1) * dk)
            np.testing.assert_array_equal(hp.w_q, t[p + "q_proj.weight"][q].T)
            np.testing.assert_array_equal(hp.w_k, t[p + "k_proj.weight"][kv].T)
            np.testing.assert_array_equal(hp.w_v, t[p + "v_proj.weight"][kv].T)
            if kind == "qwen2":
                np.testing.assert_array_equal(hp.b_q, t[p + "q_proj.bias"][q])
                np.testing.assert_array_equal(hp.b_k, t[p + "k_proj.bias"][kv])
            else:
                assert not hp.b_q.any() and not hp.b_k.any()
    assert model.rope and model.causal and model.config.group == 2


def test_llama3_rotary_frequencies_follow_their_three_bands(built):
    np.testing.assert_allclose(built["llama3"][2]._omega, _llama3_frequencies(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("scaling, fragment", [({"rope_type": "yarn", "factor": 4.0}, "rope scaling 'yarn'"),
                                               ({"rope_type": "linear"}, "missing 'factor'"),
                                               (None, "use_sliding_window")])
def test_unsupported_attention_variants_are_one_line(tmp_path, scaling, fragment):
    llama(tmp_path, "qwen2", rope_scaling=scaling)
    if scaling is None:
        cfg = json.loads((tmp_path / "config.json").read_text())
        (tmp_path / "config.json").write_text(json.dumps({**cfg, "use_sliding_window": True, "sliding_window": 4}))
    with pytest.raises(CheckpointError, match=fragment) as err:
        load_checkpoint(tmp_path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind, prefix", [("bert", "bert."), ("gpt2", "transformer."), ("llama", "model.")])
def test_task_head_prefixes_are_found(tmp_path, kind, prefix):
    t = BUILDERS[kind](tmp_path, prefix=prefix)
    model = load_checkpoint(tmp_path)
    name = {"bert": "encoder.layer.1.attention.self.key.weight", "gpt2": "h.1.attn.c_attn.weight",
            "llama": "layers.1.self_attn.k_proj.weight"}[kind]
    # head 1: GPT-2's key columns 16 + 4..16 + 8 of c_attn; BERT's key rows 8..16; Llama's key/value head 1 // 2 = 0
    want = {"gpt2": t[name][:, 16 + 4:16 + 8], "bert": t[name][8:16].T, "llama": t[name][0:8].T}[kind]
    np.testing.assert_array_equal(model.head(1, 1).w_k, want)


def test_bfloat16_weights_are_widened_exactly(tmp_path):
    BUILDERS["gpt2"](tmp_path)
    t = to_bfloat16(tmp_path)
    hp = load_checkpoint(tmp_path).head(0, 2)
    np.testing.assert_array_equal(hp.w_k, t["h.0.attn.c_attn.weight"][:, 16 + 8:16 + 12])
    np.testing.assert_array_equal(hp.b_q, t["h.0.attn.c_attn.bias"][8:12])


# --- layer 0 against a NumPy forward pass written here -----------------------------------------------
def _ln(z, g, b, eps):
    mu = z.mean(axis=1, keepdims=True)
    return (z - mu) / np.sqrt(((z - mu) ** 2).mean(axis=1, keepdims=True) + eps) * g + b


def _softmax(s, causal):
    s = np.where(np.tril(np.ones(s.shape, dtype=bool)), s, -np.inf) if causal else s
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _llama3_frequencies():
    """The four rotary frequencies of LLAMA3_SCALING at d_k = 8, band by band, by hand."""
    t = (64 / (2 * math.pi / 0.1) - 1.0) / (4.0 - 1.0)  # the blended band: wavelength 2π/0.1 ≈ 62.8 in [16, 64]
    return [1.0, (1 - t) * 0.1 / 8 + t * 0.1, 0.01 / 8, 0.001 / 8]


def _rotate_pairs(z, omega=None):
    """Rotary positions by coordinate pairs (m, m + dk/2): position p turns pair m by p·ω_m, ω_m = 10000^(−2m/dk)."""
    n, dk = z.shape
    omega = [10000.0 ** (-2 * m / dk) for m in range(dk // 2)] if omega is None else omega
    out = z.copy()
    for p in range(n):
        for m in range(dk // 2):
            a = p * omega[m]
            c, s = math.cos(a), math.sin(a)
            x1, x2 = z[p, m], z[p, m + dk // 2]
            out[p, m], out[p, m + dk // 2] = c * x1 - s * x2, s * x1 + c * x2
    return out


def _layer0_oracle(kind, t, ids):
    """(X, scores per head, weights per head) of layer 0, from the written tensors."""
    n = ids.size
    if kind == "bert":
        z = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n] \
            + t["embeddings.token_type_embeddings.weight"][0]
        x = _ln(z, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], 1e-12)
        p = "encoder.layer.0.attention.self."
        q, k = x @ t[p + "query.weight"].T + t[p + "query.bias"], x @ t[p + "key.weight"].T + t[p + "key.bias"]
        heads = [(q[:, h * 8:(h + 1) * 8], k[:, h * 8:(h + 1) * 8]) for h in range(2)]
        return x, [a @ b.T / math.sqrt(8) for a, b in heads], False
    if kind.startswith("gpt2"):  # layer 0: the by-layer factor 1/(0 + 1) is 1
        x = _ln(t["wte.weight"][ids] + t["wpe.weight"][:n], t["h.0.ln_1.weight"], t["h.0.ln_1.bias"], 1e-5)
        qkv = x @ t["h.0.attn.c_attn.weight"] + t["h.0.attn.c_attn.bias"]
        heads = [(qkv[:, h * 4:(h + 1) * 4], qkv[:, 16 + h * 4:16 + (h + 1) * 4]) for h in range(4)]
        return x, [a @ b.T / 2.0 for a, b in heads], True
    e = t["embed_tokens.weight"][ids]
    x = e / np.sqrt((e * e).mean(axis=1, keepdims=True) + 1e-6) * t["layers.0.input_layernorm.weight"]
    p = "layers.0.self_attn."
    q, k = x @ t[p + "q_proj.weight"].T, x @ t[p + "k_proj.weight"].T
    if kind == "qwen2":
        q, k = q + t[p + "q_proj.bias"], k + t[p + "k_proj.bias"]
    om = _llama3_frequencies() if kind == "llama3" else None
    heads = [(_rotate_pairs(q[:, h * 8:(h + 1) * 8], om), _rotate_pairs(k[:, (h // 2) * 8:(h // 2 + 1) * 8], om))
             for h in range(4)]
    return x, [a @ b.T / math.sqrt(8) for a, b in heads], True


@pytest.mark.parametrize("kind", KINDS)
def test_layer0_attention_matches_a_numpy_forward_pass(built, kind):
    _, t, model, ids, trace = built[kind]
    x, scores, causal = _layer0_oracle(kind, t, ids)
    np.testing.assert_allclose(trace.inputs[0], x, rtol=0, atol=1e-10)
    for h, s in enumerate(scores):
        np.testing.assert_allclose(trace.scores[0, h], s, rtol=0, atol=1e-10)
        np.testing.assert_allclose(trace.weights[0, h], _softmax(s, causal), rtol=0, atol=1e-12)
    if causal:
        assert np.all(np.triu(trace.weights[0], k=1) == 0.0)


def test_causal_matching_counts_only_visible_keys(built):
    _, _, _, _, trace = built["gpt2"]
    q, k, w = trace.q[1, 2], trace.k[1, 2], trace.weights[1, 2]
    rec = causal_matching_record(q, k, w, queries=N)
    reversed_b = pairs_b = 0  # (b) by hand: i closer to the query than j, yet w_i < w_j, over keys ≤ query
    for r in range(N):
        dist = np.sum((k[: r + 1] - q[r]) ** 2, axis=1)
        for i in range(r + 1):
            for j in range(r + 1):
                if dist[j] - dist[i] > 1e-9 * (2 + dist[i] + dist[j]) and abs(w[r, i] - w[r, j]) > 1e-9 * w[r].max():
                    pairs_b += 1
                    reversed_b += w[r, i] < w[r, j]
    assert rec["softmax"]["b"]["resolved_pairs"] == pairs_b and rec["softmax"]["b"]["reversed"] == reversed_b
    assert rec["softmax"]["a"]["reversed"] == 0 and rec["softmax"]["a"]["resolved_pairs"] > 0


# --- transformers on CPU torch: every layer -----------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_forward_pass_matches_transformers(built, kind):
    torch = pytest.importorskip("torch", reason="the reference extra is not installed (make reference)")
    transformers = pytest.importorskip("transformers", reason="the reference extra is not installed (make reference)")
    folder, _, model, ids, trace = built[kind]
    ref = transformers.AutoModel.from_pretrained(str(folder), attn_implementation="eager").double().eval()
    with torch.no_grad():
        out = ref(torch.tensor(ids)[None], output_hidden_states=True, output_attentions=True)
        for layer in range(2):
            h = out.hidden_states[layer]
            x = h if kind == "bert" else ref.h[layer].ln_1(h) if kind.startswith("gpt2") else ref.layers[layer].input_layernorm(h)
            # transformers computes Llama/Qwen2's RMSNorm and rotary angles in float32 even in a float64 model
            tol = 1e-10 if kind in ("bert", "gpt2", "gpt2-by-layer") else 1e-5
            np.testing.assert_allclose(trace.inputs[layer], x[0].numpy(), rtol=0, atol=tol)
            np.testing.assert_allclose(trace.weights[layer], out.attentions[layer][0].numpy(), rtol=0, atol=tol)
        np.testing.assert_allclose(trace.hidden, out.last_hidden_state[0].numpy(), rtol=0, atol=tol)


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama", "qwen2"])
def test_checkpoints_written_by_save_pretrained_load_and_match(tmp_path, kind):
    """The layout transformers itself writes: task-head prefixes, tied and extra tensors, its own config.json."""
    torch = pytest.importorskip("torch", reason="the reference extra is not installed (make reference)")
    tf = pytest.importorskip("transformers", reason="the reference extra is not installed (make reference)")
    ids_ = dict(vocab_size=VOCAB_SIZE, bos_token_id=VOCAB.index("<bos>"), eos_token_id=VOCAB.index("<eos>"))
    decoder = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                   intermediate_size=48, max_position_embeddings=64, **ids_)
    cfg, cls = {
        "bert": (lambda: tf.BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                       max_position_embeddings=32, vocab_size=VOCAB_SIZE), "BertForMaskedLM"),
        "gpt2": (lambda: tf.GPT2Config(n_embd=16, n_layer=2, n_head=4, n_positions=32, **ids_), "GPT2LMHeadModel"),
        "llama": (lambda: tf.LlamaConfig(**decoder), "LlamaForCausalLM"),
        "qwen2": (lambda: tf.Qwen2Config(**decoder), "Qwen2ForCausalLM"),
    }[kind]
    torch.manual_seed(0)
    ref = getattr(tf, cls)(cfg()).eval()
    with torch.no_grad():  # weights large enough for patterns far from uniform
        for p in ref.parameters():
            p.copy_(torch.randn_like(p) * 0.3 if p.dim() > 1 else 1.0 + torch.randn_like(p) * 0.1)
    ref.save_pretrained(tmp_path)
    write_tokenizer(tmp_path)
    model = load_checkpoint(tmp_path)
    ids = model.encode(" ".join(TEXT.split()[: N - 2]))
    trace = model.trace(ids)
    base = ref.double().base_model
    base.config._attn_implementation = "eager"
    with torch.no_grad():
        out = base(torch.tensor(ids)[None], output_attentions=True)
    tol = 1e-10 if kind in ("bert", "gpt2") else 1e-5  # float32 RMSNorm and rotary angles in transformers
    for layer in range(2):
        np.testing.assert_allclose(trace.weights[layer], out.attentions[layer][0].numpy(), rtol=0, atol=tol)
    np.testing.assert_allclose(trace.hidden, out.last_hidden_state[0].numpy(), rtol=0, atol=tol)


# --- d2check real --model: one line and exit 2 for a bad folder, results for a good one -------------
def _bad(kind, tmp_path):
    folder = tmp_path / "ck"
    if kind == "missing":
        return folder, "no such directory"
    if kind == "file":
        folder.write_text("x")
        return folder, "not a directory"
    BUILDERS["gpt2"](folder)
    if kind == "no-config":
        (folder / "config.json").unlink()
        return folder, "config.json: missing"
    if kind == "bad-json":
        (folder / "config.json").write_text("{not json")
        return folder, "not valid JSON"
    if kind == "unknown-family":
        (folder / "config.json").write_text(json.dumps({"model_type": "t5"}))
        return folder, f"{folder}/config.json: unknown model family (model_type 't5')"
    if kind == "config-value":
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if k != "n_head"}))
        return folder, f"{folder}/config.json: missing 'n_head'"
    if kind == "no-weights":
        (folder / "model.safetensors").unlink()
        return folder, "model.safetensors: missing"
    if kind == "no-tokenizer":
        (folder / "tokenizer.json").unlink()
        return folder, "tokenizer.json: missing"
    if kind == "shape":
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**cfg, "n_inner": 40}))
        return folder, "config.json implies (16, 40)"
    if kind == "not-safetensors":
        (folder / "model.safetensors").write_bytes(b"\x00" * 5)
        return folder, "not a readable safetensors file"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "file", "no-config", "bad-json", "unknown-family", "config-value", "no-weights",
                                  "no-tokenizer", "shape", "not-safetensors"])
def test_bad_model_dir_is_one_line_and_exit_2(tmp_path, capsys, kind):
    folder, fragment = _bad(kind, tmp_path)
    assert d2check(["real", "--model", str(folder), "--n", "10"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and fragment in out.err and "--model" in out.err


def test_a_checkpoint_too_big_for_max_gib_is_refused_before_reading(built, capsys):
    folder = built["gpt2"][0]
    # by hand: twice the file's bytes plus 12 bytes per stored float (float32 widening and float64 copy)
    stored = sum(a.size for a in built["gpt2"][1].values())
    need = (2 * (folder / "model.safetensors").stat().st_size + 12 * stored) / 2**30
    assert d2check(["real", "--model", str(folder), "--n", str(N), "--max-gib", f"{need * 0.99:.6g}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"needs about {need:.3g} GiB" in err
    assert d2check(["real", "--model", str(folder), "--n", str(N), "--max-gib", "-1"]) == 2
    assert "--max-gib must be a positive number" in capsys.readouterr().err


def test_layer_out_of_range_names_the_checkpoints_own_range(built, capsys):
    assert d2check(["real", "--model", str(built["llama"][0]), "--layer", "2", "--n", str(N)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layer 2 is out of range; valid layers are 0..1" in err


def test_real_model_gpt2_json_reports_what_applies(built, tmp_path, capsys):
    folder = built["gpt2"][0]
    (tmp_path / "t.txt").write_text(TEXT)
    code = d2check(["real", "--model", str(folder), "--text", str(tmp_path / "t.txt"), "--n", str(N),
                    "--layer", "1", "--head", "0,3", "--parts", "rank,matching", "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert code == 0 and obj["meta"]["family"] == "gpt2" and obj["meta"]["d"] == 16 and obj["meta"]["dk"] == 4
    assert [(r["layer"], r["head"], r["n"]) for r in obj["records"]] == [(1, 0, N), (1, 3, N)]
    w = built["gpt2"][4].weights[1, 3]
    assert obj["records"][1]["rank"]["max_weight"] == pytest.approx(w.max(), abs=1e-15)
    assert obj["records"][1]["rank"]["eps_rank_bound"]["0.01"] is None  # not claimed under a causal mask


def test_gpt2_pullback_measures_the_unmasked_score_form_against_its_closed_form(built):
    _, _, model, _, _ = built["gpt2"]
    sel = Selection((1,), (2,), (N,), ("pullback",), columns=1)
    (rec,) = analyze_checkpoint(model, TEXT, sel)
    for m in ("scores", "log-weights"):
        pb = rec["pullback"][m]
        assert pb["status"] == "ok" and pb["measured"] == pb["predicted"] and "without the causal mask" in pb["mask"]
    # by hand: n = 10 < d = 16, so r~ = rank [X, 1] = n; one varied column (q1 = k1 = 1): r~ + r~ - 1 = 2n - 1
    assert rec["pullback"]["scores"]["measured"] == 2 * N - 1


def test_real_model_rotary_pullback_is_reported_not_applicable(built, tmp_path, capsys):
    (tmp_path / "t.txt").write_text(TEXT)
    code = d2check(["real", "--model", str(built["qwen2"][0]), "--text", str(tmp_path / "t.txt"), "--n", str(N),
                    "--layer", "0", "--head", "1", "--parts", "pullback,fit"])
    out = capsys.readouterr().out
    assert code == 0 and "n/a" in out and "rotary positions" in out and "no single M" in out
