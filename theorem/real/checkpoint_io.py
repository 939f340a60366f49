r"""Reading a local Hugging Face checkpoint folder: its files, its family, its tensors, its tokenizer.

A checkpoint folder holds ``config.json``, the weights (``model.safetensors``, or the shards listed in
``model.safetensors.index.json``) and ``tokenizer.json``.  They are read with ``safetensors`` and
``tokenizers``; nothing is fetched from anywhere.  Every way a folder can be wrong is a
:class:`CheckpointError` (a ``ValueError``) with one line that names the file and what is wrong:
a missing file, a ``config.json`` that is not JSON, a family this toolkit does not run, a tensor that
is missing or whose shape is not the one ``config.json`` implies.

Families (from ``config.json``: ``model_type``, else the ``architectures`` names):

* ``bert``: BERT encoders (post-LayerNorm, biases, bidirectional; all-MiniLM-L6-v2 is one);
* ``gpt2``: GPT-2 (pre-LayerNorm, biases, causal; ``Conv1D`` weights stored ``(in, out)``, and one
  ``c_attn`` matrix packing the query, key and value maps);
* ``llama``: Llama and Qwen2 (RMSNorm, rotary positions, grouped-query attention, causal; no biases,
  except Qwen2's query/key/value biases).

Weights are cast once to float64 (float16 and bfloat16 tensors included: bfloat16 is the upper half
of a float32, widened exactly).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np

__all__ = [
    "CheckpointError",
    "FAMILIES",
    "MODEL_TYPES",
    "WEIGHTS",
    "CONFIG",
    "TOKENIZER",
    "INDEX",
    "detect_family",
    "read_config",
    "check_dir",
    "read_tensors",
    "estimated_gib",
    "read_tokenizer",
    "Tensors",
]

#: the families this toolkit runs, with what distinguishes them
FAMILIES: dict[str, str] = {
    "bert": "BERT (post-LayerNorm, biases, bidirectional)",
    "gpt2": "GPT-2 (pre-LayerNorm, biases, causal)",
    "llama": "Llama/Qwen2 (RMSNorm, rotary positions, grouped-query attention, causal)",
}
#: ``config.json`` ``model_type`` → family
MODEL_TYPES: dict[str, str] = {"bert": "bert", "gpt2": "gpt2", "llama": "llama", "qwen2": "llama"}
#: ``architectures`` name prefixes → (family, model_type), for a config without ``model_type``
_ARCHITECTURES = (("Bert", "bert", "bert"), ("GPT2", "gpt2", "gpt2"), ("Llama", "llama", "llama"),
                  ("Qwen2", "llama", "qwen2"))
WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"


class CheckpointError(ValueError):
    """A checkpoint folder this toolkit cannot read; the message is one line naming the file."""


def detect_family(config: dict) -> tuple[str, str]:
    """``(family, model_type)`` of a parsed ``config.json``; CheckpointError for an unknown one."""
    if not isinstance(config, dict):
        raise CheckpointError("config.json: expected a JSON object")
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type in MODEL_TYPES:
        return MODEL_TYPES[model_type], model_type
    archs = config.get("architectures") or []
    if model_type is None and isinstance(archs, list):
        for arch in archs:
            for prefix, family, mtype in _ARCHITECTURES:
                if isinstance(arch, str) and arch.startswith(prefix):
                    return family, mtype
    seen = f"model_type {model_type!r}" if model_type is not None else f"architectures {archs!r}"
    raise CheckpointError(
        f"config.json: unknown model family ({seen}); supported model_type values: {', '.join(MODEL_TYPES)}"
    )


def read_config(folder: Path) -> dict:
    """``config.json`` parsed (CheckpointError when it is missing or not a JSON object)."""
    path = folder / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (a checkpoint folder needs {CONFIG}, {WEIGHTS}, {TOKENIZER})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err.__class__.__name__}: {str(err).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config


def _weight_files(folder: Path) -> list[Path]:
    single = folder / WEIGHTS
    if single.is_file():
        return [single]
    index = folder / INDEX
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
            raise CheckpointError(f"{index}: not a safetensors index (expected a JSON object with a weight_map)") from None
        files = [folder / s for s in shards]
        for f in files:
            if not f.is_file():
                raise CheckpointError(f"{f}: missing (listed in {INDEX})")
        return files
    raise CheckpointError(f"{single}: missing (a checkpoint folder needs {CONFIG}, {WEIGHTS}, {TOKENIZER})")


def check_dir(folder) -> tuple[Path, dict, str, str]:
    """Validate a checkpoint folder before any work: ``(folder, config, family, model_type)``.

    Checks that the folder exists and is a directory, holds ``config.json`` (a JSON object of a known
    family), the weights and ``tokenizer.json``.  Tensors are not read here.
    """
    path = Path(folder).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path}: no such directory")
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a directory (give the checkpoint folder holding {CONFIG})")
    config = read_config(path)
    try:
        family, model_type = detect_family(config)
    except CheckpointError as err:
        raise CheckpointError(f"{path}/{err}") from None
    _weight_files(path)
    if not (path / TOKENIZER).is_file():
        raise CheckpointError(f"{path / TOKENIZER}: missing (a checkpoint folder needs {CONFIG}, {WEIGHTS}, {TOKENIZER})")
    return path, config, family, model_type


def _to_numpy(name: str, spec: dict, path: Path) -> np.ndarray:
    dtype, shape, data = spec["dtype"], tuple(spec["shape"]), spec["data"]
    simple = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    if dtype in simple:  # integer buffers (position ids) are kept; only the tensors used must be floating point
        return np.frombuffer(data, dtype=np.dtype(simple[dtype]).newbyteorder("<")).reshape(shape)
    if dtype == "BF16":  # the upper 16 bits of a float32: widen exactly
        half = np.frombuffer(data, dtype=np.dtype(np.uint16).newbyteorder("<")).astype(np.uint32)
        return (half << np.uint32(16)).view(np.float32).reshape(shape)
    raise CheckpointError(f"{path}: tensor {name!r} has dtype {dtype}, which this reader does not decode "
                          "(F64, F32, F16, BF16, integers and BOOL are read)")


def read_tensors(folder: Path) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint's safetensors file(s), as NumPy arrays (their stored dtype)."""
    from safetensors import SafetensorError, deserialize

    out: dict[str, np.ndarray] = {}
    for path in _weight_files(folder):
        try:
            items = deserialize(path.read_bytes())
        except (SafetensorError, ValueError, OSError) as err:
            raise CheckpointError(f"{path}: not a readable safetensors file ({str(err).splitlines()[0]})") from None
        for name, spec in items:
            out[name] = _to_numpy(name, spec, path)
    return out


def estimated_gib(folder: Path) -> float:
    """The memory reading the checkpoint takes at its peak (GiB), from the safetensors headers alone.

    The file's bytes and the deserialized copy (``2 × file size``), plus a float32 widening and a
    float64 copy of every floating-point tensor (``12`` bytes per element): an upper estimate.
    """
    from safetensors import SafetensorError, safe_open

    total = 0
    for path in _weight_files(folder):
        total += 2 * path.stat().st_size
        try:
            with safe_open(str(path), framework="numpy") as f:
                for name in f.keys():
                    spec = f.get_slice(name)
                    if spec.get_dtype() in ("F64", "F32", "F16", "BF16"):
                        total += 12 * int(np.prod(spec.get_shape(), dtype=np.int64))
        except (SafetensorError, ValueError, OSError) as err:
            raise CheckpointError(f"{path}: not a readable safetensors file ({str(err).splitlines()[0]})") from None
    return total / 2**30


def read_tokenizer(folder: Path):
    """The ``tokenizers.Tokenizer`` of ``tokenizer.json``, without truncation or padding."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer

    path = folder / TOKENIZER
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises its own Exception subclass for any malformed file
        raise CheckpointError(f"{path}: not a readable tokenizer file ({str(err).splitlines()[0]})") from None
    tok.no_truncation()
    tok.no_padding()
    return tok


@dataclass
class Tensors:
    """The checkpoint's tensors, looked up by their name under the module prefix the file uses.

    A model saved with its task head (``BertForMaskedLM``, ``GPT2LMHeadModel``, ``LlamaForCausalLM``)
    prefixes the base model's tensors with ``bert.``, ``transformer.`` or ``model.``; the prefix is
    found from one ``probe`` name the family always has.
    """

    raw: dict[str, np.ndarray]
    family: str
    probe: str
    folder: Path
    prefix: str = ""

    def __post_init__(self) -> None:
        for prefix in ("", "bert.", "transformer.", "model."):
            if prefix + self.probe in self.raw:
                self.prefix = prefix
                return
        raise CheckpointError(
            f"{self.folder / WEIGHTS}: no tensor {self.probe!r} (nor under a bert./transformer./model. prefix): "
            f"not a {FAMILIES[self.family]} checkpoint in the Hugging Face layout"
        )

    def has(self, name: str) -> bool:
        return self.prefix + name in self.raw

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as float64, checked against the ``shape`` that config.json implies."""
        full = self.prefix + name
        if full not in self.raw:
            raise CheckpointError(f"{self.folder / WEIGHTS}: tensor {full!r} is missing (expected for this {self.family} config)")
        a = self.raw[full]
        if tuple(a.shape) != tuple(shape):
            raise CheckpointError(
                f"{self.folder / WEIGHTS}: tensor {full!r} has shape {tuple(a.shape)}, config.json implies {tuple(shape)}"
            )
        if a.dtype.kind != "f":
            raise CheckpointError(f"{self.folder / WEIGHTS}: tensor {full!r} has dtype {a.dtype}, expected floating point")
        out = np.asarray(a, dtype=np.float64)
        if not np.all(np.isfinite(out)):
            raise CheckpointError(f"{self.folder / WEIGHTS}: tensor {full!r} contains NaN or Inf")
        return out

    def jax(self, name: str, shape: tuple[int, ...], transpose: bool = False) -> jnp.ndarray:
        """:meth:`get` as a float64 JAX array, transposed when asked (``(out, in)`` → ``(in, out)``)."""
        a = self.get(name, shape)
        return jnp.asarray(a.T if transpose else a, dtype=jnp.float64)
