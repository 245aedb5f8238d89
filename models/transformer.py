"""GPT-style Transformer language model: a stack of causal decoder blocks, built two ways.

- "scratch": `lmzoo.models.transformer_layers` written out for teaching (causal attention as an
  additive bias, multi-head attention as reshapes, pre-LayerNorm blocks, GELU feed-forward), with
  the output layer tied to the token embedding.
- "keras_nlp": `keras_nlp.layers.TokenAndPositionEmbedding` (tied) + `TransformerDecoder` blocks.

Training is `window_lm.train_window_lm` as nanoGPT trains: AdamW with weight decay on 2-D weights
only, warm-up then cosine decay, global-norm clipping, XLA, random `context`-long windows; this
family's `prepare` adds several steps per compiled call and keras-nlp's bias names to the no-decay
list. Scoring is rolling windows (`window_lm.rolling_log_probs`). Generation goes through keras-nlp
samplers with a key/value cache; the model sees at most `context` tokens (a longer prompt is cut
from the left, and a longer text slides the window by half a context). Implements: LanguageModel,
Generator, Embedder, Backbone, CausalNetwork. Measurements: benchmarks/results/NOTES.md
("transformer"). References: Radford et al. 2019 (GPT-2); Karpathy, nanoGPT (`model.py`,
`train.py`); keras-nlp `GPT2CausalLM` (the cached `next` function).

Example:
    >>> TransformerConfig(hidden_dim=128, num_heads=4).head_dim
    32
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import rename_keys, require_at_least_one
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    BOS,
    EOS,
    PAD,
)
from lmzoo.errors import LmzooError
from lmzoo.models import sampling, schedules
from lmzoo.models.transformer_layers import PositionalEmbedding, TransformerBlock, clone_initializer
from lmzoo.models.window_lm import (
    TrainingPlan,
    WindowLM,
    compile_fn,
    rolling_log_probs,
    steps_per_execution,
    target_log_prob_fn,
    train_window_lm,
)
from lmzoo.protocols import Family
from lmzoo.runs import RunDir


@dataclass(frozen=True)
class TransformerConfig:
    """Every setting of a Transformer LM run (defaults: nanoGPT's laptop Shakespeare run).

    Args:
        build: "scratch" (`transformer_layers`) or "keras_nlp".
        tokenizer: "char", "subword" or "word".
        vocabulary_size: subword tokenizer only.
        min_count: char and word tokenizers: rarer tokens become `<unk>`.
        num_layers, num_heads, hidden_dim: the block stack (num_heads divides hidden_dim).
        intermediate_dim: the feed-forward width (default 4 * hidden_dim).
        context: the longest sequence the model reads: training windows, scoring windows, generation.
        dropout: on embeddings, attention and feed-forward outputs.
        use_bias: scratch build only (nanoGPT's Shakespeare run has no biases; keras-nlp's always has).
        position_encoding: "learned" or "sinusoidal" (scratch build only).
        batch_size, steps: global batch, optimizer steps.
        learning_rate, min_learning_rate, warmup_steps: `schedules.WarmupCosineDecay`.
        beta_1, beta_2, epsilon: AdamW's; epsilon 1e-8 is PyTorch's (and nanoGPT's), Keras's is 1e-7.
        weight_decay: on 2-D weights only.
        clipnorm: global gradient norm (0: none).
        eval_every: steps per Keras epoch: validation, metrics and checkpoint.
        eval_batches: validation batches per evaluation (None: the whole split).
        score_stride: rolling-window stride for scoring (None: context // 2).
        jit_compile: XLA.
        mixed_precision: bfloat16 compute, only when a GPU is present.
        tensorboard: write TensorBoard logs (needs the package).
        distribute: "none", "mirrored" or "multi-worker" (`lmzoo.models.distribute`).
        seed: weights, windows and dropout.

    Example:
        >>> TransformerConfig(hidden_dim=128, num_heads=4).head_dim
        32
    """

    build: Literal["scratch", "keras_nlp"] = "scratch"
    tokenizer: Literal["char", "subword", "word"] = "char"
    vocabulary_size: int = 2000
    min_count: int = 1
    num_layers: int = 4
    num_heads: int = 4
    hidden_dim: int = 128
    intermediate_dim: int | None = None
    context: int = 64
    dropout: float = 0.0
    use_bias: bool = False
    position_encoding: Literal["learned", "sinusoidal"] = "learned"
    batch_size: int = 12
    steps: int = 2000
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-4
    warmup_steps: int = 100
    beta_1: float = 0.9
    beta_2: float = 0.99
    epsilon: float = 1e-8
    weight_decay: float = 0.1
    clipnorm: float = 1.0
    eval_every: int = 250
    eval_batches: int | None = None
    score_stride: int | None = None
    jit_compile: bool = True
    mixed_precision: bool = False
    tensorboard: bool = False
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"
    seed: int = 0

    @property
    def head_dim(self) -> int:
        return self.hidden_dim // self.num_heads

    def validate(self) -> None:
        require_at_least_one(self, ("num_layers", "num_heads", "hidden_dim", "context", "batch_size", "eval_every",
                                    "vocabulary_size"))
        if self.hidden_dim % self.num_heads:
            raise LmzooError(f"num_heads={self.num_heads} does not divide hidden_dim={self.hidden_dim}",
                             "choose a head count that divides the width, e.g. hidden_dim=128 with num_heads=4")
        if self.context < 2:
            raise LmzooError(f"context={self.context} must be >= 2")
        schedules.check_optimizer_fields(self)
        if not 0 <= self.dropout < 1:
            raise LmzooError(f"dropout={self.dropout} must be in [0, 1)")
        if self.score_stride is not None and not 1 <= self.score_stride <= self.context:
            raise LmzooError(f"score_stride={self.score_stride} must be in [1, context={self.context}]")
        if self.build == "keras_nlp" and self.position_encoding != "learned":
            raise LmzooError("build='keras_nlp' uses TokenAndPositionEmbedding (learned positions)",
                             "use position_encoding='learned' or build='scratch'")


PRESETS = {
    # <= 10 s on lee: a toy that still learns character statistics.
    "quick": TransformerConfig(num_layers=2, num_heads=2, hidden_dim=32, context=32, batch_size=16, steps=300,
                               warmup_steps=20, eval_every=150, eval_batches=5, learning_rate=5e-3,
                               min_learning_rate=5e-4, jit_compile=False),
    # lee, char level, within the compare job's 90 s on 2 cores (about 40 ms/step plus XLA compile).
    "default": TransformerConfig(steps=600, eval_every=200, eval_batches=10),
    # Tiny Shakespeare time-to-loss against nanoGPT's CPU run (its width and context): half its depth, 16
    # windows a step, 5x its learning rate, no weight decay, one evaluation. In ~1M tokens a 2-layer
    # model ends lower than a 4-layer one at half the step cost (`benchmarks/transformer_shakespeare.py
    # --ablation`; seeds 0-2 ended within 0.004 of each other).
    "speedrun": TransformerConfig(num_layers=2, batch_size=16, steps=1000, learning_rate=5e-3, min_learning_rate=5e-4,
                                  warmup_steps=50, weight_decay=0.0, eval_every=1000, eval_batches=20),
}


# keras-nlp keeps attention biases as (heads, head_dim) matrices: AdamW skips them by name too.
NO_DECAY_NAMES = ("bias",)


# Networks --------------------------------------------------------------------------------------


def _normal(std: float) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=std)


class _CausalLMNetwork(keras.Model):
    """What both builds share: logits from token ids, and one cached decoding step."""

    def __init__(self, vocabulary_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 intermediate_dim: int, context: int, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocabulary_size, self.num_layers, self.num_heads = vocabulary_size, num_layers, num_heads
        self.hidden_dim, self.intermediate_dim = hidden_dim, intermediate_dim
        self.context, self.dropout = context, dropout
        # nanoGPT's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 * layers).
        self.initializer = _normal(0.02)
        self.residual_initializer = _normal(0.02 / math.sqrt(2 * num_layers))

    def init_cache(self, batch_size: int, length: int) -> Any:
        """An empty key/value cache: (batch, layers, 2, length, heads, head_dim)."""
        shape = (batch_size, self.num_layers, 2, length, self.num_heads, self.hidden_dim // self.num_heads)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def call(self, token_ids: Any, training: bool | None = None) -> Any:
        x = self.embed(token_ids, 0)
        for block in self.blocks:
            x = self.run_block(block, x, training=training)
        return self.logits(self.final_norm(x))

    def call_with_cache(self, token_ids: Any, cache: Any, cache_update_index: Any) -> tuple[Any, Any, Any]:
        """Logits for `token_ids` placed at `cache_update_index`, attending to the cache.

        Returns (logits, hidden states, updated cache), the contract of keras-nlp samplers.
        """
        x = self.embed(token_ids, cache_update_index)
        caches = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = self.run_block(block, x, cache=cache[:, i], cache_update_index=cache_update_index)
            caches.append(layer_cache)
        hidden = self.final_norm(x)
        return self.logits(hidden), hidden, ops.stack(caches, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "num_layers": self.num_layers,
                "num_heads": self.num_heads, "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim, "context": self.context, "dropout": self.dropout}

    @classmethod
    def from_config(cls, config: dict) -> _CausalLMNetwork:
        """Also reads a network saved before `max_length` was renamed `context`."""
        return super().from_config(rename_keys(config, {"max_length": "context"}))


@keras.saving.register_keras_serializable(package="lmzoo")
class ScratchTransformerLM(_CausalLMNetwork):
    """The from-scratch build: token + position embedding, pre-LN blocks, final LN, tied output.

    Example:
        >>> net = ScratchTransformerLM(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8,
        ...                            intermediate_dim=32, context=16)
        >>> tuple(net(np.zeros((2, 5), "int32")).shape)
        (2, 5, 10)
    """

    def __init__(self, *args: Any, use_bias: bool = False, position_encoding: str = "learned", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.use_bias, self.position_encoding = use_bias, position_encoding
        policy = self.dtype_policy
        self.token_embedding = keras.layers.Embedding(self.vocabulary_size, self.hidden_dim, dtype=policy,
                                                      embeddings_initializer=clone_initializer(self.initializer),
                                                      name="token_embedding")
        self.position_embedding = PositionalEmbedding(self.context, position_encoding, initializer=self.initializer,
                                                      dtype=policy, name="position_embedding")
        self.embedding_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.blocks = [
            TransformerBlock(self.num_heads, self.intermediate_dim, dropout=self.dropout, use_bias=use_bias,
                             kernel_initializer=self.initializer, residual_initializer=self.residual_initializer,
                             dtype=policy, name=f"block_{i}")
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, center=use_bias, dtype=policy, name="final_norm")

    def embed(self, token_ids: Any, start_index: Any, training: bool | None = None) -> Any:
        x = self.token_embedding(token_ids)
        return self.embedding_dropout(x + self.position_embedding(x, start_index=start_index), training=training)

    def run_block(self, block: TransformerBlock, x: Any, **kwargs: Any) -> Any:
        return block(x, **kwargs)

    def logits(self, hidden: Any) -> Any:
        # Weight tying: the output layer is the transposed token embedding.
        table = ops.cast(self.token_embedding.embeddings, hidden.dtype)
        return ops.cast(ops.matmul(hidden, ops.transpose(table)), "float32")

    def token_embedding_matrix(self) -> np.ndarray:
        return ops.convert_to_numpy(self.token_embedding.embeddings)

    def get_config(self) -> dict:
        return {**super().get_config(), "use_bias": self.use_bias, "position_encoding": self.position_encoding}


@keras.saving.register_keras_serializable(package="lmzoo")
class KerasNLPTransformerLM(_CausalLMNetwork):
    """The keras-nlp build: `TokenAndPositionEmbedding` + pre-LN `TransformerDecoder` stack.

    Example:
        >>> net = KerasNLPTransformerLM(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8,
        ...                             intermediate_dim=32, context=16)
        >>> tuple(net(np.zeros((2, 5), "int32")).shape)
        (2, 5, 10)
    """

    def __init__(self, *args: Any, **kwargs: Any):
        import keras_nlp  # lazy: only this build needs it

        super().__init__(*args, **kwargs)
        policy = self.dtype_policy
        self.embeddings = keras_nlp.layers.TokenAndPositionEmbedding(
            self.vocabulary_size, self.context, self.hidden_dim, tie_weights=True,
            embeddings_initializer=self.initializer, dtype=policy, name="embeddings",
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.blocks = [
            keras_nlp.layers.TransformerDecoder(
                self.intermediate_dim, self.num_heads, dropout=self.dropout, activation="gelu",
                normalize_first=True, kernel_initializer=self.initializer, dtype=policy, name=f"decoder_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, dtype=policy, name="final_norm")

    def embed(self, token_ids: Any, start_index: Any, training: bool | None = None) -> Any:
        return self.embedding_dropout(self.embeddings(token_ids, start_index=start_index), training=training)

    def run_block(self, block: Any, x: Any, cache: Any = None, cache_update_index: Any = None,
                  training: bool | None = None) -> Any:
        if cache is None:  # decoder-only: no encoder sequence, so no cross-attention
            return block(x, training=training)
        return block(x, self_attention_cache=cache, self_attention_cache_update_index=cache_update_index)

    def logits(self, hidden: Any) -> Any:
        return ops.cast(self.embeddings.token_embedding(hidden, reverse=True), "float32")

    def token_embedding_matrix(self) -> np.ndarray:
        return ops.convert_to_numpy(self.embeddings.token_embedding.embeddings)


def build_network(config: TransformerConfig, vocabulary_size: int) -> _CausalLMNetwork:
    """The Keras network of `config.build`, built (weights created) for `config.context`."""
    policy = "float32"
    if config.mixed_precision:
        if _has_gpu():
            policy = "mixed_bfloat16"
        else:
            warnings.warn("mixed_precision=True ignored: no GPU (bfloat16 is slower on this CPU)", stacklevel=2)
    common = {
        "vocabulary_size": vocabulary_size, "num_layers": config.num_layers, "num_heads": config.num_heads,
        "hidden_dim": config.hidden_dim, "intermediate_dim": config.intermediate_dim or 4 * config.hidden_dim,
        "context": config.context, "dropout": config.dropout, "dtype": policy,
    }
    if config.build == "scratch":
        network = ScratchTransformerLM(**common, use_bias=config.use_bias, position_encoding=config.position_encoding)
    else:
        network = KerasNLPTransformerLM(**common)
    network(np.zeros((1, config.context), dtype="int32"))
    return network


def _has_gpu() -> bool:
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if keras.config.backend() == "jax":
        import jax

        return jax.default_backend() == "gpu"
    return False


# The language model ----------------------------------------------------------------------------

SAMPLER_OPTIONS = ("temperature", "top_k", "top_p", "num_beams")


class TransformerLM(WindowLM):
    """A trained Transformer LM: scores text, generates with a key/value cache, exposes embeddings.

    Example:
        >>> import lmzoo, tempfile
        >>> model = lmzoo.train("transformer", lmzoo.load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
        >>> len(model.generate("The ", max_length=5, num_return_sequences=2))
        2
    """

    family = "transformer"
    config_cls = TransformerConfig
    network_cls = _CausalLMNetwork
    config: TransformerConfig
    network: _CausalLMNetwork
    score_batch_size = 32

    @classmethod
    def expected_network(cls, config: TransformerConfig, vocabulary_size: int) -> dict:
        return {"vocabulary_size": vocabulary_size, "num_layers": config.num_layers, "num_heads": config.num_heads,
                "hidden_dim": config.hidden_dim, "context": config.context}

    # scoring
    def _log_softmax_fn(self) -> Any:
        if "log_softmax" not in self._functions:
            network = self.network
            self._functions["log_softmax"] = compile_fn(
                lambda x: ops.log_softmax(network(x, training=False), axis=-1), self.config.jit_compile)
        return self._functions["log_softmax"]

    def _log_softmax(self, window: np.ndarray) -> np.ndarray:
        """Log-probabilities (1, context, vocabulary) for one (1, context) window."""
        return ops.convert_to_numpy(self._log_softmax_fn()(ops.convert_to_tensor(window))).astype(np.float64)

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(ids[i] | ids[:i]) in nats, in rolling windows of `context` tokens (`window_lm.rolling_log_probs`).

        The text starts with `<s>`. The first window scores its first `context` tokens; each next
        window moves by `score_stride` (default context // 2) and scores only its last `stride`
        tokens, so every token is predicted once with at least context - stride tokens before it.
        The target's log-probability is picked inside the compiled function.
        """
        if "target_log_probs" not in self._functions:
            network = self.network
            self._functions["target_log_probs"] = target_log_prob_fn(lambda x: network(x, training=False),
                                                                     self.config.jit_compile)
        return rolling_log_probs(self._functions["target_log_probs"], ids, context=self.config.context,
                                 stride=self.config.score_stride, batch_size=self.score_batch_size)

    def next_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(next | ids) over the vocabulary by a full forward pass over the last `context` ids.

        This is the uncached path (`lmzoo.models.sampling.generate` can decode with it).
        """
        ids = list(ids)[-self.config.context :] or [BOS]
        window = np.full((1, self.config.context), PAD, np.int32)
        window[0, : len(ids)] = ids
        return self._log_softmax(window)[0, len(ids) - 1]

    # generation
    def _decode_fn(self, sampler: Any, use_cache: bool) -> Any:
        network = self.network

        def decode(buffer: Any, index: Any) -> Any:
            batch, length = buffer.shape[0], buffer.shape[1]
            prompt_mask = ops.broadcast_to(ops.arange(length)[None, :] < index, (batch, length))
            if use_cache:
                # Prefill every position once; later steps overwrite positions >= index in order.
                _, _, cache = network.call_with_cache(buffer, network.init_cache(batch, length), 0)

                def next_fn(prompt: Any, cache: Any, index: Any) -> Any:
                    token = ops.slice(prompt, (0, index - 1), (ops.shape(prompt)[0], 1))  # beams widen the batch
                    logits, hidden, cache = network.call_with_cache(token, cache, index - 1)
                    return ops.squeeze(logits, 1), ops.squeeze(hidden, 1), cache
            else:
                cache = ()

                def next_fn(prompt: Any, cache: Any, index: Any) -> Any:
                    logits = network(prompt, training=False)  # the whole window, every step
                    return ops.take(logits, index - 1, axis=1), None, cache

            return sampler(next_fn, buffer, cache=cache, index=index, mask=prompt_mask,
                           stop_token_ids=(EOS,), model=network)

        return compile_fn(decode, self.config.jit_compile)

    def _sampler(self, name: str, options: dict, num_return_sequences: int) -> tuple[Any, Any]:
        """The keras-nlp sampler for `name` and its compiled decoding functions (cached)."""
        key = (name, tuple(sorted(options.items())), num_return_sequences)
        if key not in self._functions:
            sampler = sampling.keras_sampler(name, top_k=options.get("top_k"), top_p=options.get("top_p"),
                                             temperature=options.get("temperature", 1.0),
                                             num_beams=options.get("num_beams", 4),
                                             return_all_beams=num_return_sequences > 1)
            self._functions[key] = (sampler, {True: self._decode_fn(sampler, True),
                                              False: self._decode_fn(sampler, False)})
        return self._functions[key]

    def generate_ids(
        self, prompt_ids: Sequence[int], *, max_length: int = 64, num_return_sequences: int = 1,
        sampler: str = "greedy", seed: int | None = None, use_cache: bool = True, **options: Any,
    ) -> list[list[int]]:
        """New token ids for each of `num_return_sequences` continuations (stopping after `</s>`).

        `use_cache=False` recomputes the whole window for every token (for comparison only).
        """
        unknown = sorted(set(options) - set(SAMPLER_OPTIONS))
        if unknown:
            raise LmzooError(f"unknown sampler option(s) {', '.join(unknown)}", f"valid: {', '.join(SAMPLER_OPTIONS)}")
        options = sampling.check_sampling_options(sampler, num_return_sequences=num_return_sequences,
                                                  max_new_tokens=max_length,
                                                  vocabulary_size=self.tokenizer.vocabulary_size(), **options)
        context = self.config.context
        ids = list(prompt_ids) or [BOS]
        if len(ids) >= context:
            warnings.warn(f"the prompt has {len(ids)} tokens and the context is {context}: the prompt is "
                          "truncated from the left (its last tokens are kept)", stacklevel=2)
        beam = sampler == "beam"
        keras_sampler, functions = self._sampler(sampler, options, num_return_sequences)
        if seed is not None and hasattr(keras_sampler, "seed_generator"):
            keras_sampler.seed_generator.state.assign(keras.random.SeedGenerator(seed).state.value)
        rows = np.array([ids] * (1 if beam else num_return_sequences), dtype=np.int32)
        remaining, first = max_length, True
        while remaining > 0 and not (rows.shape[1] > len(ids) and np.all((rows[:, len(ids):] == EOS).any(axis=1))):
            have = rows.shape[1]
            # Keep everything if it fits; else slide: keep context - step tokens, step <= context // 2.
            keep = have if have + remaining <= context else min(have, context - min(remaining, context // 2))
            step = min(remaining, context - keep)
            # Buffer lengths in multiples of 16 keep the number of compiled shapes small; the extra
            # positions are sampled and dropped.
            width = min(context, -(-(keep + step) // 16) * 16)
            buffer = np.concatenate([rows[:, have - keep :], np.zeros((len(rows), width - keep), np.int32)], axis=1)
            out = functions[use_cache](ops.convert_to_tensor(buffer), ops.convert_to_tensor(keep, "int32"))
            if beam and first and num_return_sequences > 1:  # all beams, best first
                out = ops.convert_to_numpy(out[0])[0, :num_return_sequences]
                keras_sampler, functions = self._sampler(sampler, options, 1)  # later windows: best beam each
                rows = np.repeat(rows, num_return_sequences, axis=0)
            out = ops.convert_to_numpy(out)
            rows = np.concatenate([rows, out[:, keep : keep + step]], axis=1)
            remaining -= step
            first = False
        news = []
        for row in rows[:, len(ids) :].tolist():
            news.append(row[: row.index(EOS) + 1] if EOS in row else row)
        return news

    # fine-tuning (lmzoo.models.tasks)
    def backbone(self) -> keras.Model:
        """The Backbone protocol: hidden states after the last block's final norm, weights shared."""
        return TransformerBackbone(self.network)



# Training --------------------------------------------------------------------------------------


def prepare(model: TransformerLM, run: RunDir, train_ids: np.ndarray, valid_ids: list[int]) -> TrainingPlan:
    """This family's part of `window_lm.train_window_lm`: keras-nlp's bias names skip weight decay, and
    several steps run per compiled call (the same steps: the model is small, so the Python around each
    step, fit's loop and callbacks, was a visible share of it)."""
    config = model.config
    return TrainingPlan(no_decay_names=NO_DECAY_NAMES, steps_per_execution=steps_per_execution(config.steps,
                                                                                               config.eval_every))


def train(config: TransformerConfig, corpus: Corpus, run: RunDir) -> TransformerLM:
    """Fit a tokenizer and a Transformer LM on `corpus.train` (resuming from a checkpoint)."""
    return train_window_lm(config, corpus, run, build_network, prepare, model_cls=TransformerLM)


FAMILY = Family(
    name="transformer",
    summary="GPT-style Transformer LM (scratch or keras-nlp layers), cached sampling",
    config_cls=TransformerConfig,
    presets=PRESETS,
    train=train,
    load=TransformerLM.load,
)



@keras.saving.register_keras_serializable(package="lmzoo")
class TransformerBackbone(keras.Model):
    """A Transformer LM without its output layer: ids (batch, time) → states (batch, time, hidden_dim).

    It wraps the LM's network (no copy), so fine-tuning it changes the LM's weights.

    Example:
        >>> net = ScratchTransformerLM(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8,
        ...                            intermediate_dim=32, context=16)
        >>> tuple(TransformerBackbone(net)(np.zeros((2, 5), "int32")).shape)
        (2, 5, 8)
    """

    causal = True

    def __init__(self, network: _CausalLMNetwork, **kwargs: Any):
        super().__init__(**kwargs)
        self.network, self.context = network, network.context

    def call(self, token_ids: Any, training: bool | None = None) -> Any:
        x = self.network.embed(token_ids, 0, training=training)
        for block in self.network.blocks:
            x = self.network.run_block(block, x, training=training)
        return self.network.final_norm(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config: dict) -> TransformerBackbone:
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("network")), **config)
