"""Synthetic tasks generated in code: MQAR and signed nearest-key retrieval.

Both tasks are sampled inside JAX from a PRNG key, so a whole training run (data included)
traces into one ``lax.scan`` and many runs vmap together.

**MQAR** (multi-query associative recall; Arora et al. 2023 "Zoology", Arora et al. 2024
"Based").  A sequence of length ``N`` starts with ``P`` key–value pairs ``k₁ v₁ … k_P v_P``
(keys from the first half of the vocabulary, values from the second half, keys distinct);
the remaining ``N − 2P`` positions hold the ``P`` keys again, in random order at random
positions, and a filler token (0) elsewhere.  At each query position the model must output
the value that followed that key.  Chance accuracy: ``1 / #values``.  Zoology places the
queries with a power-law gap distribution; here the positions are uniform (a simplification).

**Signed nearest-key retrieval** (``nearest_key``): ``P`` context tokens ``x_j = [k_j; v_j]``
with unit keys ``k_j ∈ R^{d_k}`` and Gaussian values ``v_j ∈ R^{d_v}``, then one query token
``[q; 0]`` with ``q = k_{j*} + σ·noise``.  The target is ``v_{j*}``.  With ``antipodal=True``
the keys come in pairs ``k, −k`` (different values), so the answer is the key with the
*largest signed* score, not the largest ``|score|``: a kernel that is even in the score
(``poly2``: ``T = S²``) gives a key and its antipode the same weight whenever the value part
of ``M`` is zero, and cannot tell them apart (see :mod:`theorem.training.function_class`).
No token direction is constant across tokens (``1 ∉ col X`` generically), so an affine shift of
the scores is not available to the model for free.  Accuracy: the context value nearest to the
prediction is ``v_{j*}``.  Chance accuracy: ``1/P``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

__all__ = ["Batch", "MQAR", "NearestKey", "Task", "get_task"]


@dataclass(frozen=True)
class Batch:
    """One batch: ``inputs`` (token ids or vectors), ``targets``, and ``info``.

    ``info`` is the boolean mask of scored positions (MQAR) or the index of the answer key
    (``nearest_key``).
    """

    inputs: Array
    targets: Array
    info: Array


jax.tree_util.register_pytree_node(
    Batch, lambda b: ((b.inputs, b.targets, b.info), None), lambda _, c: Batch(*c)
)


class Task:
    """Interface: ``sample(key, batch)``, and the shapes a model needs."""

    name: str
    input_kind: str  # "tokens" | "vectors"
    output_kind: str  # "classes" | "vectors"
    causal: bool

    def sample(self, key: Array, batch: int) -> Batch:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def chance_accuracy(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def loss_and_accuracy(self, outputs: Array, batch: Batch) -> tuple[Array, Array]:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class MQAR(Task):
    """Multi-query associative recall with ``num_pairs`` pairs in sequences of ``seq_len``.

    ``vocab_size`` tokens: 0 is the filler, keys are ``1 … V/2 − 1``, values ``V/2 … V − 1``.
    """

    seq_len: int = 32
    num_pairs: int = 4
    vocab_size: int = 32

    name = "mqar"
    input_kind = "tokens"
    output_kind = "classes"
    causal = True

    def __post_init__(self) -> None:
        if self.num_pairs < 1:
            raise ValueError(f"num_pairs must be ≥ 1, got {self.num_pairs}")
        if self.seq_len < 3 * self.num_pairs:
            raise ValueError(
                f"seq_len must be ≥ 3·num_pairs = {3 * self.num_pairs} (pairs, then one query per key), "
                f"got {self.seq_len}"
            )
        if self.vocab_size % 2 or self.vocab_size // 2 - 1 < self.num_pairs:
            raise ValueError(
                f"vocab_size must be even with ≥ num_pairs + 1 = {self.num_pairs + 1} keys in its first half, "
                f"got {self.vocab_size}"
            )

    @property
    def num_keys(self) -> int:
        return self.vocab_size // 2 - 1

    @property
    def num_values(self) -> int:
        return self.vocab_size // 2

    @property
    def chance_accuracy(self) -> float:
        return 1.0 / self.num_values

    def _one(self, key: Array) -> tuple[Int[Array, " N"], Int[Array, " N"], Bool[Array, " N"]]:
        kk, kv, kp = jax.random.split(key, 3)
        p, n = self.num_pairs, self.seq_len
        # p distinct keys and p distinct query slots, each a uniformly random ordered subset
        # (the indices of the p largest of i.i.d. uniforms; cheaper to compile than a permutation)
        keys = 1 + jax.lax.top_k(jax.random.uniform(kk, (self.num_keys,)), p)[1].astype(jnp.int32)
        values = self.vocab_size // 2 + jax.random.randint(kv, (p,), 0, self.num_values, dtype=jnp.int32)
        slots = 2 * p + jax.lax.top_k(jax.random.uniform(kp, (n - 2 * p,)), p)[1]
        pairs = jnp.stack([keys, values], axis=1).reshape(-1)
        tokens = jnp.zeros(n, dtype=jnp.int32).at[: 2 * p].set(pairs).at[slots].set(keys)
        targets = jnp.zeros(n, dtype=jnp.int32).at[slots].set(values)
        mask = jnp.zeros(n, dtype=bool).at[slots].set(True)
        return tokens, targets, mask

    def sample(self, key: Array, batch: int) -> Batch:
        return _sample(self, key, batch)

    def loss_and_accuracy(self, logits: Float[Array, "B N V"], batch: Batch) -> tuple[Array, Array]:
        """Cross-entropy and accuracy averaged over the query positions."""
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, batch.targets[..., None], axis=-1)[..., 0]
        w = batch.info.astype(logits.dtype)
        count = jnp.sum(w)
        loss = jnp.sum(nll * w) / count
        hit = (jnp.argmax(logits, axis=-1).astype(batch.targets.dtype) == batch.targets).astype(logits.dtype)
        return loss, jnp.sum(hit * w) / count

    def describe(self) -> str:
        return f"MQAR(N={self.seq_len}, P={self.num_pairs}, V={self.vocab_size})"


@dataclass(frozen=True)
class NearestKey(Task):
    """Signed nearest-key retrieval: output the value of the key with the largest ``q·k``."""

    num_keys: int = 8
    key_dim: int = 4
    value_dim: int = 4
    noise: float = 0.1
    antipodal: bool = True

    name = "nearest_key"
    input_kind = "vectors"
    output_kind = "vectors"
    causal = True

    def __post_init__(self) -> None:
        if self.num_keys < 2 or (self.antipodal and self.num_keys % 2):
            raise ValueError(f"num_keys must be ≥ 2 (and even when antipodal), got {self.num_keys}")
        if self.key_dim < 1 or self.value_dim < 1:
            raise ValueError(f"key_dim and value_dim must be ≥ 1, got {self.key_dim}, {self.value_dim}")
        if not (self.noise >= 0):
            raise ValueError(f"noise must be ≥ 0, got {self.noise}")

    @property
    def seq_len(self) -> int:
        return self.num_keys + 1

    @property
    def token_dim(self) -> int:
        return self.key_dim + self.value_dim

    @property
    def chance_accuracy(self) -> float:
        return 1.0 / self.num_keys

    def _one(self, key: Array) -> tuple[Float[Array, "N D"], Float[Array, " dv"], Int[Array, ""]]:
        kk, kv, kn, ka = jax.random.split(key, 4)
        p = self.num_keys
        half = p // 2 if self.antipodal else p
        raw = jax.random.normal(kk, (half, self.key_dim))
        raw = raw / jnp.linalg.norm(raw, axis=-1, keepdims=True)
        keys = jnp.concatenate([raw, -raw]) if self.antipodal else raw
        values = jax.random.normal(kv, (p, self.value_dim))
        answer = jax.random.randint(ka, (), 0, p)
        query = keys[answer] + self.noise * jax.random.normal(kn, (self.key_dim,)) / jnp.sqrt(self.key_dim)
        context = jnp.concatenate([keys, values], axis=1)
        qtok = jnp.concatenate([query, jnp.zeros(self.value_dim)])[None]
        return jnp.concatenate([context, qtok]), values[answer], answer

    def sample(self, key: Array, batch: int) -> Batch:
        return _sample(self, key, batch)

    def loss_and_accuracy(self, out: Float[Array, "B N dv"], batch: Batch) -> tuple[Array, Array]:
        """Mean squared error ``‖ŷ − v_{j*}‖²/d_v`` at the query; accuracy of nearest-value decoding."""
        pred = out[:, -1, :]
        loss = jnp.mean(jnp.sum((pred - batch.targets) ** 2, axis=-1)) / self.value_dim
        values = batch.inputs[:, :-1, self.key_dim :]
        dist = jnp.sum((values - pred[:, None, :]) ** 2, axis=-1)
        acc = jnp.mean((jnp.argmin(dist, axis=-1) == batch.info).astype(out.dtype))
        return loss, acc

    def describe(self) -> str:
        tag = ", antipodal" if self.antipodal else ""
        return f"NearestKey(P={self.num_keys}, d_k={self.key_dim}, d_v={self.value_dim}, σ={self.noise:g}{tag})"


@partial(jax.jit, static_argnums=(0, 2))
def _sample(task: Task, key: Array, batch: int) -> Batch:
    """``batch`` independent sequences from ``key`` (compiled once per task and batch size)."""
    return Batch(*jax.vmap(task._one)(jax.random.split(key, batch)))


def get_task(name: str, **params) -> Task:
    """Look a task up by name (``mqar`` or ``nearest_key``)."""
    factories = {"mqar": MQAR, "nearest_key": NearestKey}
    if name not in factories:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(factories)}")
    try:
        return factories[name](**params)
    except TypeError as err:
        raise ValueError(f"{name}: bad parameters {params}: {err}") from None
