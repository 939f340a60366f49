r"""``load_checkpoint(DIR)``: a local Hugging Face checkpoint of a known family, ready to measure.

The folder is validated first (:func:`theorem.real.checkpoint_io.check_dir`: it exists, holds
``config.json`` of a known family, the safetensors weights and ``tokenizer.json``), then the tensors
are read and checked against the shapes ``config.json`` implies, and the family's model
(:mod:`theorem.real.families`) is built.  Every failure is one :class:`CheckpointError` line.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from theorem.real.checkpoint_io import CheckpointError, Tensors, check_dir, read_tensors, read_tokenizer
from theorem.real.checkpoint_model import CheckpointModel
from theorem.real.families import FAMILY_CLASSES

__all__ = ["CheckpointError", "load_checkpoint", "validate_checkpoint"]


def validate_checkpoint(folder) -> tuple[Path, dict, str, str]:
    """``(folder, config, family, model_type)`` before any heavy work (CheckpointError otherwise).

    Also checks that the optional readers (``safetensors``, ``tokenizers``: the ``real`` extra) are
    installed.
    """
    missing = [m for m in ("safetensors", "tokenizers") if importlib.util.find_spec(m) is None]
    if missing:
        raise CheckpointError(f"reading a checkpoint needs {', '.join(missing)}: install the real extra (make real)")
    return check_dir(folder)


def load_checkpoint(folder) -> CheckpointModel:
    """The checkpoint in ``folder`` as a :class:`~theorem.real.checkpoint_model.CheckpointModel`."""
    path, cfg, family, model_type = validate_checkpoint(folder)
    cls = FAMILY_CLASSES[family]
    tensors = Tensors(read_tensors(path), family, cls.probe, path)
    return cls(path, cfg, model_type, tensors, read_tokenizer(path))
