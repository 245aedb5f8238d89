"""Recurrent language models: a stack of LSTM or GRU layers over token embeddings, in Keras.

The generation between counting and attention: an n-gram forgets everything beyond its order, a
recurrent network carries a fixed-size state through the whole text (Mikolov et al. 2010), and
gated cells (LSTM, GRU) keep gradients alive over tens of steps. `RNNLanguageNetwork`: embedding,
[LSTM|GRU, dropout between layers] x `num_layers`, output layer (optionally tied to the embedding).
Training is `window_lm.train_window_lm` (the Transformer's) plus this family's `prepare`: the
output bias starts at the log unigram, sampled softmax draws its negatives from unigram^0.75,
`carry_state` reads contiguous streams with the state carried across batches, and
`select_on_valid`/`time_budget_seconds` add their callbacks. Scoring carries the state over the
whole text (`token_log_probs`); `window_log_probs` gives the rolling-window figure. Generation
(`lmzoo.models.sampling`) pays one recurrent step per token. Implements: LanguageModel, Generator,
Embedder, Backbone. Measurements behind these choices: benchmarks/results/NOTES.md ("rnnlm").
References: Mikolov et al. 2010; Hochreiter & Schmidhuber 1997 (LSTM); Cho et al. 2014 (GRU);
Zaremba et al. 2014 (dropout, BPTT); Merity et al. 2017, Press & Wolf 2017 (weight tying); Jean et
al. 2015 (sampled softmax).

Example:
    >>> RNNLMConfig(cell="gru", hidden_dim=200, tie_embeddings=True).layer_sizes
    (200, 200)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import require_at_least_one
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    BOS,
    EOS,
    PAD,
)
from lmzoo.errors import LmzooError
from lmzoo.models import sampling, schedules, window_lm
from lmzoo.models.callbacks import KeepBestOnValid, StopAtDeadline
from lmzoo.protocols import Family
from lmzoo.runs import RunDir


@dataclass(frozen=True)
class RNNLMConfig:
    """Every setting of a recurrent LM run.

    Args:
        cell: "lstm" or "gru".
        tokenizer: "char", "word" or "subword".
        vocabulary_size: subword tokenizer only.
        min_count: char and word tokenizers: rarer tokens become `<unk>`.
        num_layers, hidden_dim: the recurrent stack.
        embedding_dim: default hidden_dim.
        dropout: between layers only, never on the recurrent connections (Zaremba et al. 2014).
        tie_embeddings: output layer = transposed embedding + bias (the last layer gets embedding_dim units).
        sampled_softmax: training negatives per step (0: the full softmax); scoring is always exact.
        unigram_bias: the output bias starts at the training text's log unigram frequencies.
        context: tokens per training window (the truncated-BPTT length).
        carry_state: contiguous streams with the state carried across batches (not under `distribute`).
        batch_size, steps: global batch, optimizer steps.
        optimizer: "adamw" or "sgd" (SGD wants learning_rate 20, clipnorm 0.25 on Keras's mean loss).
        learning_rate, min_learning_rate, warmup_steps: `schedules.WarmupCosineDecay`.
        weight_decay: adamw only; matrices, not biases.
        clipnorm: global gradient norm (0: none).
        eval_every: steps per Keras epoch: validation, metrics and checkpoint.
        eval_batches: validation batches per evaluation (None: the whole split).
        select_on_valid: score valid with the state carried after each chunk; save the best weights.
        time_budget_seconds: stop training after this much wall time (0: none; `StopAtDeadline`).
        score_chunk: tokens per compiled call when scoring with a carried state.
        jit_compile: XLA; off by default (it made the Keras LSTM loop 2x slower on a 2-core CPU).
        tensorboard: write TensorBoard logs (needs the package).
        distribute: "none", "mirrored" or "multi-worker" (`lmzoo.models.distribute`).
        seed: weights, windows and dropout.

    Example:
        >>> RNNLMConfig(hidden_dim=200, tie_embeddings=True).layer_sizes
        (200, 200)
    """

    cell: Literal["lstm", "gru"] = "lstm"
    tokenizer: Literal["char", "word", "subword"] = "char"
    vocabulary_size: int = 2000
    min_count: int = 1
    num_layers: int = 2
    hidden_dim: int = 256
    embedding_dim: int | None = None
    dropout: float = 0.0
    tie_embeddings: bool = False
    sampled_softmax: int = 0
    unigram_bias: bool = True
    context: int = 64
    carry_state: bool = False
    batch_size: int = 32
    steps: int = 1000
    optimizer: Literal["adamw", "sgd"] = "adamw"
    learning_rate: float = 3e-3
    min_learning_rate: float = 3e-4
    warmup_steps: int = 50
    weight_decay: float = 0.01
    clipnorm: float = 1.0
    eval_every: int = 250
    eval_batches: int | None = None
    select_on_valid: bool = False
    time_budget_seconds: float = 0.0
    score_chunk: int = 256
    jit_compile: bool = False
    tensorboard: bool = False
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"
    seed: int = 0

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units of each recurrent layer: the last one matches the embedding when tied."""
        last = (self.embedding_dim or self.hidden_dim) if self.tie_embeddings else self.hidden_dim
        return (self.hidden_dim,) * (self.num_layers - 1) + (last,)

    def validate(self) -> None:
        positive = ("num_layers", "hidden_dim", "context", "batch_size", "eval_every", "vocabulary_size",
                    "score_chunk")
        require_at_least_one(self, positive)
        if self.embedding_dim is not None and self.embedding_dim < 1:
            raise LmzooError(f"embedding_dim={self.embedding_dim} must be >= 1")
        schedules.check_optimizer_fields(self)
        if not 0 <= self.dropout < 1:
            raise LmzooError(f"dropout={self.dropout} must be in [0, 1)")
        if self.sampled_softmax < 0:
            raise LmzooError(f"sampled_softmax={self.sampled_softmax} must be >= 0 (0: the full softmax)")
        if self.time_budget_seconds < 0:
            raise LmzooError(f"time_budget_seconds={self.time_budget_seconds} must be >= 0 (0: no budget)")
        if self.carry_state and self.distribute != "none":  # its state variables hold one row per stream
            raise LmzooError(f"carry_state=True does not run under distribute='{self.distribute}': the carried "
                             "states are one batch of streams, not split over replicas",
                             "use carry_state=False, or distribute='none'")


PRESETS = {
    # A few seconds on lee: one small layer.
    "quick": RNNLMConfig(num_layers=1, hidden_dim=64, context=32, batch_size=32, steps=150, eval_every=75,
                         eval_batches=4, learning_rate=1e-2, min_learning_rate=1e-3, warmup_steps=10),
    # lee, char level, for the compare job's budget on 2 cores.
    "default": RNNLMConfig(num_layers=2, hidden_dim=128, context=64, batch_size=32, steps=600, eval_every=200,
                           eval_batches=10, dropout=0.1, learning_rate=5e-3, min_learning_rate=5e-4),
}


# Network ---------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="lmzoo")
class RNNLanguageNetwork(keras.Model):
    """Embedding, `num_layers` LSTM or GRU layers with dropout between them, output layer.

    `call(ids)` gives logits (batch, time, vocabulary) from a zero state. With
    `carry_batch_size` set, a training call reads its initial states from non-trainable
    variables and writes its final states back (truncated BPTT over contiguous batches).

    Example:
        >>> net = RNNLanguageNetwork(vocabulary_size=10, layer_sizes=(8, 8), cell="gru")
        >>> tuple(net(np.zeros((2, 5), "int32")).shape)
        (2, 5, 10)
    """

    def __init__(self, vocabulary_size: int, layer_sizes: Sequence[int], cell: str = "lstm",
                 embedding_dim: int | None = None, dropout: float = 0.0, tie_embeddings: bool = False,
                 carry_batch_size: int = 0, sampled_softmax: int = 0, seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocabulary_size, self.layer_sizes, self.cell = vocabulary_size, tuple(layer_sizes), cell
        self.embedding_dim = embedding_dim or self.layer_sizes[0]
        self.dropout, self.tie_embeddings, self.carry_batch_size = dropout, tie_embeddings, carry_batch_size
        self.sampled_softmax, self.seed = sampled_softmax, seed
        if tie_embeddings and self.layer_sizes[-1] != self.embedding_dim:
            raise LmzooError(f"tied embeddings need the last layer ({self.layer_sizes[-1]}) to match "
                             f"embedding_dim={self.embedding_dim}")
        self.embedding = keras.layers.Embedding(vocabulary_size, self.embedding_dim, name="embedding",
                                                embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1))
        layer_cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
        self.rnns = [layer_cls(units, return_sequences=True, return_state=True, name=f"{cell}_{i}")
                     for i, units in enumerate(self.layer_sizes)]
        self.dropouts = [keras.layers.Dropout(dropout) for _ in range(len(self.layer_sizes) + 1)]
        if tie_embeddings:
            self.output_bias = self.add_weight(shape=(vocabulary_size,), initializer="zeros", name="output_bias")
        else:
            self.projection = keras.layers.Dense(vocabulary_size, name="projection")
        self.carried = [
            self.add_weight(shape=(carry_batch_size, units), initializer="zeros", trainable=False, name=f"state_{i}_{j}")
            for i, units in enumerate(self.layer_sizes) for j in range(self.states_per_layer)
        ] if carry_batch_size else []
        if sampled_softmax:  # the proposal q (set from the training text) and the negatives' random state
            self.sampling_log_q = self.add_weight(shape=(vocabulary_size,), initializer="zeros", trainable=False,
                                                  name="sampling_log_q")
            self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def output_bias_variable(self) -> Any:
        return self.output_bias if self.tie_embeddings else self.projection.bias

    def token_embedding_matrix(self) -> np.ndarray:
        return ops.convert_to_numpy(self.embedding.embeddings)

    @property
    def states_per_layer(self) -> int:
        return 2 if self.cell == "lstm" else 1  # LSTM: (h, c); GRU: h

    def zero_states(self, batch_size: int) -> list[Any]:
        return [ops.zeros((batch_size, units)) for units in self.layer_sizes for _ in range(self.states_per_layer)]

    def run(self, token_ids: Any, states: Sequence[Any] | None = None, training: bool | None = None,
            mask: Any = None) -> tuple[Any, list[Any]]:
        """Hidden states of the last layer (before the output dropout) and every layer's final states."""
        x = self.dropouts[0](self.embedding(token_ids), training=training)
        k, final = self.states_per_layer, []
        for i, rnn in enumerate(self.rnns):
            initial = list(states[i * k : (i + 1) * k]) if states is not None else None
            x, *state = rnn(x, initial_state=initial, training=training, mask=mask)
            final.extend(state)
            if i < len(self.rnns) - 1:
                x = self.dropouts[i + 1](x, training=training)
        return x, final

    def logits(self, hidden: Any) -> Any:
        if self.tie_embeddings:
            return ops.matmul(hidden, ops.transpose(self.embedding.embeddings)) + self.output_bias
        return self.projection(hidden)

    def call(self, token_ids: Any, training: bool | None = None) -> Any:
        """Logits; in training with `sampled_softmax`, the last hidden states (`compute_loss` samples)."""
        if training and self.carried:
            hidden, final = self.run(token_ids, [v.value for v in self.carried], training=True)
            for variable, state in zip(self.carried, final, strict=True):
                variable.assign(ops.stop_gradient(state))  # truncated BPTT: no gradient into the past
        else:
            hidden, _ = self.run(token_ids, training=training)
        hidden = self.dropouts[-1](hidden, training=training)
        return hidden if training and self.sampled_softmax else self.logits(hidden)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The compiled loss on logits, or in training with `sampled_softmax` the sampled softmax."""
        if not (training and self.sampled_softmax):
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        if self.tie_embeddings:
            weights, bias = self.embedding.embeddings, self.output_bias
        else:
            weights, bias = ops.transpose(self.projection.kernel), self.projection.bias
        loss = window_lm.sampled_softmax_loss(y_pred, y, weights, bias, self.sampling_log_q, self.sampled_softmax,
                                              self.seed_generator)
        return loss + ops.sum(self.losses) if self.losses else loss

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "layer_sizes": list(self.layer_sizes),
                "cell": self.cell, "embedding_dim": self.embedding_dim, "dropout": self.dropout,
                "tie_embeddings": self.tie_embeddings, "carry_batch_size": self.carry_batch_size,
                "sampled_softmax": self.sampled_softmax, "seed": self.seed}


def build_network(config: RNNLMConfig, vocabulary_size: int) -> RNNLanguageNetwork:
    """The Keras network for `config`, built (weights created)."""
    network = RNNLanguageNetwork(vocabulary_size, config.layer_sizes, cell=config.cell,
                                 embedding_dim=config.embedding_dim or config.hidden_dim, dropout=config.dropout,
                                 tie_embeddings=config.tie_embeddings,
                                 carry_batch_size=config.batch_size if config.carry_state else 0,
                                 sampled_softmax=config.sampled_softmax, seed=config.seed)
    network(np.zeros((1, 2), dtype="int32"))
    return network


def unigram_log_probs(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """log p(w) of the tokens in `ids`, +1 smoothed, float32: the output bias an LM starts from.

    Example:
        >>> p = np.exp(unigram_log_probs(np.array([4, 4, 4, 5]), 6))
        >>> round(float(p.sum()), 6), round(float(p[4] / p[5]), 6)
        (1.0, 2.0)
    """
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocabulary_size).astype(np.float64) + 1.0
    return np.log(counts / counts.sum()).astype(np.float32)


# The language model ----------------------------------------------------------------------------


class RNNLM(window_lm.WindowLM):
    """A trained recurrent LM: scores text with a carried state, generates one step per token.

    Example:
        >>> import lmzoo, tempfile
        >>> model = lmzoo.train("rnnlm", lmzoo.load_corpus("lee"), tempfile.mkdtemp(), preset="quick", steps=20)
        >>> len(model.generate("The ", max_length=5, num_return_sequences=2, sampler="top_k", seed=0))
        2
    """

    family = "rnnlm"
    config_cls = RNNLMConfig
    network_cls = RNNLanguageNetwork
    config: RNNLMConfig
    network: RNNLanguageNetwork

    @classmethod
    def expected_network(cls, config: RNNLMConfig, vocabulary_size: int) -> dict:
        return {"vocabulary_size": vocabulary_size, "layer_sizes": config.layer_sizes, "cell": config.cell,
                "tie_embeddings": config.tie_embeddings}

    def _function(self, name: str) -> Any:
        """The compiled scoring and stepping functions, built on first use."""
        if name not in self._functions:
            network, jit = self.network, self.config.jit_compile

            def score_chunk(x: Any, y: Any, states: list[Any]) -> tuple[Any, list[Any]]:
                hidden, final = network.run(x, states, training=False)
                log_probs = ops.log_softmax(network.logits(hidden), axis=-1)
                return ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(y, -1), axis=-1), -1), final

            def step(x: Any, states: list[Any]) -> tuple[Any, list[Any]]:
                hidden, final = network.run(x, states, training=False)
                return ops.log_softmax(network.logits(hidden[:, -1]), axis=-1), final

            if name == "window":
                self._functions[name] = window_lm.target_log_prob_fn(lambda x: network(x, training=False), jit)
            else:
                self._functions[name] = window_lm.compile_fn(score_chunk if name == "score_chunk" else step, jit)
        return self._functions[name]

    # scoring
    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(ids[i] | <s>, ids[:i]) in nats, float64: the state is carried over the whole text.

        The text is read in chunks of `score_chunk` tokens (the last one padded), one compiled
        call each; only the target's log-probability leaves the compiled function.
        """
        ids = np.asarray(ids, dtype=np.int32)
        n, chunk = len(ids), self.config.score_chunk
        inputs = np.concatenate([[BOS], ids[:-1]]).astype(np.int32) if n else ids
        score, states = self._function("score_chunk"), self.network.zero_states(1)
        out = np.empty(n, dtype=np.float64)
        for start in range(0, n, chunk):
            x = np.full((1, chunk), PAD, np.int32)
            y = np.full((1, chunk), PAD, np.int32)
            piece = slice(start, min(n, start + chunk))
            x[0, : piece.stop - start], y[0, : piece.stop - start] = inputs[piece], ids[piece]
            scores, states = score(ops.convert_to_tensor(x), ops.convert_to_tensor(y), states)
            out[piece] = ops.convert_to_numpy(scores)[0, : piece.stop - start]
        return out

    def window_log_probs(self, ids: Sequence[int], context: int | None = None, stride: int | None = None) -> np.ndarray:
        """The rolling-window score (`window_lm.rolling_log_probs`): each window starts from a zero state."""
        return window_lm.rolling_log_probs(self._function("window"), ids, context=context or self.config.context,
                                           stride=stride)

    # generation
    def next_log_probs_uncached(self, ids: Sequence[int]) -> np.ndarray:
        """log p(next | <s>, ids) by a full forward pass over the prefix (the reference path)."""
        x = np.asarray([[BOS, *ids]], dtype=np.int32)
        logits = ops.convert_to_numpy(self.network(x, training=False))[0, -1].astype(np.float64)
        return logits - np.logaddexp.reduce(logits)

    def stepper(self) -> Any:
        """A `next_log_probs(ids)` that remembers the state after every prefix it has seen.

        A prefix one token longer than a known one costs one recurrent step, so greedy,
        sampling and beam search all pay one step per new token.
        """
        step = self._function("step")
        known: dict[tuple[int, ...], tuple[list[Any], np.ndarray]] = {}

        def next_log_probs(ids: Sequence[int]) -> np.ndarray:
            key = (BOS, *map(int, ids))
            cut = len(key)
            while cut > 0 and key[:cut] not in known:
                cut -= 1
            states, log_probs = known[key[:cut]] if cut else (self.network.zero_states(1), None)
            for i in range(cut, len(key)):
                scores, states = step(ops.convert_to_tensor([[key[i]]], "int32"), states)
                log_probs = ops.convert_to_numpy(scores)[0].astype(np.float64)
                known[key[: i + 1]] = (states, log_probs)
            return log_probs

        return next_log_probs

    def next_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(next | <s>, ids) over the vocabulary (a fresh stepper: no memory between calls)."""
        return self.stepper()(ids)

    def generate_ids(self, prompt_ids: Sequence[int], *, max_length: int = 64, num_return_sequences: int = 1,
                     sampler: str = "greedy", seed: int | None = None, **options: Any) -> list[list[int]]:
        """New token ids for each continuation of `prompt_ids` (stopping after `</s>`)."""
        return sampling.generate(self.stepper(), list(prompt_ids), max_new_tokens=max_length, eos_id=EOS,
                                 sampler=sampler, num_return_sequences=num_return_sequences, seed=seed, **options)

    # fine-tuning
    def backbone(self) -> keras.Model:
        """ids (batch, time) int32, `<pad>` = 0 → hidden states (batch, time, units), sharing the LM's weights.

        Everything up to (not including) the output layer; `<pad>` steps are masked and give zeros.
        """
        ids = keras.Input((None,), dtype="int32", name="token_ids")
        mask = ops.not_equal(ids, PAD)
        hidden, _ = self.network.run(ids, training=None, mask=mask)
        hidden = hidden * ops.expand_dims(ops.cast(mask, hidden.dtype), -1)
        backbone = keras.Model(ids, hidden, name=f"{self.config.cell}_backbone")
        backbone.causal = True  # each state has read only the tokens before it (pooling="last" may use it)
        return backbone



# Training --------------------------------------------------------------------------------------


def prepare(model: RNNLM, run: RunDir, train_ids: np.ndarray, valid_ids: list[int]) -> window_lm.TrainingPlan:
    """This family's part of `window_lm.train_window_lm`: output bias, sampled-softmax proposal, layout, callbacks.

    The bias and the proposal are set before the checkpoint is restored (which overwrites them
    when resuming).
    """
    config, network, vocabulary_size = model.config, model.network, model.tokenizer.vocabulary_size()
    if config.unigram_bias:
        network.output_bias_variable.assign(unigram_log_probs(train_ids, vocabulary_size))
    if config.sampled_softmax:
        network.sampling_log_q.assign(window_lm.sampling_log_probs(train_ids, vocabulary_size))
    plan = window_lm.TrainingPlan(contiguous=config.carry_state)
    keep_best = KeepBestOnValid(run, lambda: -np.mean(model.token_log_probs(valid_ids)))
    if config.select_on_valid:
        plan.callbacks.append(keep_best)
        plan.after_fit = keep_best.restore_best
    if config.time_budget_seconds:
        plan.callbacks.append(StopAtDeadline(config.time_budget_seconds, reserve=lambda: keep_best.last_seconds))
    return plan


def train(config: RNNLMConfig, corpus: Corpus, run: RunDir) -> RNNLM:
    """Fit a tokenizer and a recurrent LM on `corpus.train` (resuming from a checkpoint)."""
    return window_lm.train_window_lm(config, corpus, run, build_network, prepare, model_cls=RNNLM)


FAMILY = Family(
    name="rnnlm",
    summary="recurrent LM (LSTM or GRU), truncated BPTT, dropout, tied embeddings, carried-state scoring",
    config_cls=RNNLMConfig,
    presets=PRESETS,
    train=train,
    load=RNNLM.load,
)
