r"""``load_checkpoint(DIR)``: a local Hugging Face checkpoint of a known family, ready to measure.

The folder is validated first (:func:`theorem.real.checkpoint_io.check_dir`: it exists, holds
``config.json`` of a known family, the safetensors weights and ``tokenizer.json``), then the tensors
are read and checked against the shapes ``config.json`` implies, and the family's model
(:mod:`theorem.real.families`) is built.  Every failure is one :class:`CheckpointError` line.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from theorem.real.checkpoint_io import (CONFIG, CheckpointError, Tensors, check_dir, estimated_gib, read_tensors,
                                        read_tokenizer)
from theorem.real.checkpoint_model import CheckpointModel
from theorem.real.families import FAMILY_CLASSES
from theorem.util.memory import default_max_gib

__all__ = ["CheckpointError", "load_checkpoint", "validate_checkpoint", "default_max_gib"]


def validate_checkpoint(folder) -> tuple[Path, dict, str, str]:
    """``(folder, config, family, model_type)`` before any heavy work (CheckpointError otherwise).

    Also checks that the optional readers (``safetensors``, ``tokenizers``: the ``real`` extra) are
    installed.
    """
    missing = [m for m in ("safetensors", "tokenizers") if importlib.util.find_spec(m) is None]
    if missing:
        raise CheckpointError(f"reading a checkpoint needs {', '.join(missing)}: install the real extra (make real)")
    return check_dir(folder)


def load_checkpoint(folder, max_gib: float | None = None) -> CheckpointModel:
    """The checkpoint in ``folder`` as a :class:`~theorem.real.checkpoint_model.CheckpointModel`.

    Refused (CheckpointError) before reading the weights when reading them is estimated to need more
    than ``max_gib`` GiB (:func:`~theorem.real.checkpoint_io.estimated_gib`; default
    :func:`default_max_gib`).
    """
    path, cfg, family, model_type = validate_checkpoint(folder)
    limit = default_max_gib() if max_gib is None else max_gib
    need = estimated_gib(path)
    if need > limit:
        raise CheckpointError(f"{path}: reading it in float64 needs about {need:.3g} GiB, over --max-gib {limit:.3g}; "
                              "use a smaller checkpoint or raise --max-gib")
    cls = FAMILY_CLASSES[family]
    tensors = Tensors(read_tensors(path), family, cls.probe, path)
    try:
        return cls(path, cfg, model_type, tensors, read_tokenizer(path))
    except CheckpointError as err:
        if str(err).startswith(f"{CONFIG}:"):  # a config value: name the file in full
            raise CheckpointError(f"{path}/{err}") from None
        raise
