"""Recurrent language models: a stack of LSTM or GRU layers over token embeddings, in Keras.

The generation between counting and attention: an n-gram forgets everything beyond its order,
a recurrent network carries a fixed-size state through the whole text (Mikolov et al. 2010),
and gated cells (LSTM, GRU) keep gradients alive over tens of steps.

Network (`RNNLanguageNetwork`): embedding → dropout → [LSTM|GRU → dropout] × `num_layers` →
output layer. Dropout sits only on the non-recurrent connections, between layers (Zaremba et
al. 2014); the recurrent connections are left intact. With `tie_embeddings` the output layer is
the transposed embedding matrix plus a bias (Press & Wolf 2017; Inan et al. 2017; used by Merity
et al. 2017), and the last recurrent layer has `embedding_dim` units so the shapes agree.

Training (`lmzoo.models.window_lm`, shared with the Transformer): windows of `context` tokens,
backpropagation truncated at the window. Two data layouts:
- `carry_state=False`: windows at uniformly random offsets, each read from a zero state (as
  the Transformer trains). Simple, but the model never learns to use more than `context` tokens.
- `carry_state=True`: Zaremba et al.'s layout: the text is cut into `batch_size` parallel
  streams read left to right, and the final state of each batch is the initial state of the
  next (gradients stop at the window boundary). The model learns to use the whole history.
  Measured on PTB: trained this way with AdamW for a third of an epoch, the LSTM's cell states
  grew to thousands along the streams and scoring from a fresh state at `<s>` gave perplexity
  19,848 (benchmarks/results/rnnlm_ptb_first_run_carry.json); with Zaremba's SGD recipe (below)
  the same layout scores as expected (benchmarks/rnnlm_ptb.py).
The output bias starts at the training text's log unigram frequencies (`unigram_bias`; Karpathy's
"init well"): from a zero bias, a word-level GRU LM on MR's 200k training words learned the unigram
through its recurrent state instead, driving 81% of its states past |0.95| to one constant, where the
gates pass no gradient; after 800 steps it was at 5.92 nats on validation against the unigram's 6.05,
and its states told sentences apart no better than chance. Started at the unigram, the same LM
reached 5.05 nats in 400 steps with about 1% of its states saturated (benchmarks/finetune.py;
tests/test_finetune.py checks a tiny word LM stays unsaturated).
AdamW (weight decay on matrices only) or plain SGD, both with global-norm gradient clipping and
nanoGPT's warm-up + cosine learning rate. SGD wants a large step: Zaremba et al.'s learning rate 1
applies to the loss *summed* over 35 time steps (clip 5); on Keras's mean loss the same largest step
is learning rate 20 with clip 0.25 (PyTorch's word_language_model example uses exactly these).
`sampled_softmax=K` trains the output layer on the target and K shared negatives drawn from the
training unigram^0.75, each logit corrected by -log(K q) (Jean et al. 2015; `window_lm.
sampled_softmax_loss`): with a 10,000-word vocabulary the full softmax is most of a CPU step, and
sampling 1,024 made PTB steps about 3x faster. The logged training loss is then the sampled loss
(not a cross-entropy); validation and every score use the full softmax. XLA (`jit_compile=True`) is available but off by
default: on this project's 2-core CPU it made a training step of Keras's LSTM (a `tf.while_loop`
of small matrix products) about twice as slow, and unrolling it cost minutes of compile time. Each chunk of `eval_every` steps
ends with a validation loss (windows from a zero state), a metrics.jsonl record and a resumable
checkpoint; a resumed run continues the data stream at the restored optimizer step.

Scoring: `token_log_probs` carries the state over the whole text (chunk by chunk, the target
log-probabilities picked inside the compiled function), so every token is predicted from its
entire history: an RNN's exact likelihood, cheaper than rolling windows, which would recompute
each context from a zero state. `window_log_probs` gives the rolling-window figure (the
Transformer's scorer) for comparison. The text is read after one `<s>`.

Generation: `lmzoo.models.sampling.generate` (greedy, temperature, top-k, top-p, beam) over
`next_log_probs`, which keeps the recurrent state of every prefix it has seen, so each new token
costs one recurrent step. The prompt is read after `<s>`; a word/subword prompt is continued,
not closed with `</s>` (`lmzoo.datasets.tokenizers.encode_prompt`).

Conventions: ids 0-3 are `<pad>`, `<unk>`, `<s>`, `</s>`; `<pad>` (0) is only ever padding.
`backbone()` is a Keras model from int32 ids (batch, time) to hidden states (batch, time,
units) that shares the LM's weights (everything up to the output layer) for fine-tuning;
`<pad>` positions are masked (the state passes through them) and their outputs set to zero.

Implements: LanguageModel, Generator, Embedder (the input embedding table); `backbone()`.

References: Mikolov et al. 2010, "Recurrent neural network based language model"; Hochreiter &
Schmidhuber 1997 (LSTM); Cho et al. 2014 (GRU); Zaremba, Sutskever & Vinyals 2014, "Recurrent
neural network regularization" (PTB "small": 2 × 200 LSTM, 35-step BPTT, 114.5 test
perplexity); Merity, Keskar & Socher 2017, "Regularizing and optimizing LSTM language models"
(weight tying, dropout placement); Press & Wolf 2017, "Using the output embedding to improve
language models"; Jean, Cho, Memisevic & Bengio 2015, "On using very large target vocabulary for
neural machine translation" (sampled softmax).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict, require_at_least_one
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    BOS,
    EOS,
    PAD,
    VocabularyTokenizer,
    encode_prompt,
    fit_tokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import distribute, sampling, window_lm
from lmzoo.models.callbacks import KeepBestOnValid, StopAtDeadline
from lmzoo.protocols import Family
from lmzoo.runs import RunDir


@dataclass(frozen=True)
class RNNLMConfig:
    """Every setting of a recurrent LM run.

    Example:
        >>> RNNLMConfig(hidden_dim=200, tie_embeddings=True).layer_sizes
        (200, 200)
    """

    cell: Literal["lstm", "gru"] = "lstm"
    tokenizer: Literal["char", "word", "subword"] = "char"
    vocabulary_size: int = 2000  # subword tokenizer only
    min_count: int = 1  # char and word tokenizers
    num_layers: int = 2
    hidden_dim: int = 256
    embedding_dim: int | None = None  # default hidden_dim
    dropout: float = 0.0  # between layers only (Zaremba et al. 2014)
    tie_embeddings: bool = False
    sampled_softmax: int = 0  # training negatives per step (0: the full softmax); scoring is always exact
    unigram_bias: bool = True  # the output bias starts at the training text's log unigram frequencies
    context: int = 64  # tokens per training window (the truncated-BPTT length)
    carry_state: bool = False  # contiguous streams with the state carried across batches
    batch_size: int = 32
    steps: int = 1000
    optimizer: Literal["adamw", "sgd"] = "adamw"
    learning_rate: float = 3e-3
    min_learning_rate: float = 3e-4
    warmup_steps: int = 50
    weight_decay: float = 0.01  # adamw only; matrices, not biases
    clipnorm: float = 1.0  # global gradient norm (0: none)
    eval_every: int = 250  # steps per Keras epoch: validation, metrics and checkpoint
    eval_batches: int | None = None  # validation batches per evaluation (None: the whole split)
    # After each chunk, score the whole valid split with the state carried (as test is scored) and
    # keep the best weights: the saved model is the best-valid one (callbacks.KeepBestOnValid).
    select_on_valid: bool = False
    time_budget_seconds: float = 0.0  # stop training after this much wall time (0: none); see StopAtDeadline
    score_chunk: int = 256  # tokens per compiled call when scoring with a carried state
    jit_compile: bool = False  # XLA made the Keras LSTM loop 2x slower on a 2-core CPU (measured): opt in
    tensorboard: bool = False
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"  # lmzoo.models.distribute; batch is global
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
        if self.steps < 0 or self.warmup_steps < 0:
            raise LmzooError(f"steps={self.steps} and warmup_steps={self.warmup_steps} must be >= 0")
        if not 0 <= self.dropout < 1:
            raise LmzooError(f"dropout={self.dropout} must be in [0, 1)")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise LmzooError(f"need 0 < min_learning_rate={self.min_learning_rate} <= learning_rate={self.learning_rate}")
        if self.clipnorm < 0:
            raise LmzooError(f"clipnorm={self.clipnorm} must be >= 0 (0: no clipping)")
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


class RNNLM:
    """A trained recurrent LM: scores text with a carried state, generates one step per token.

    Example:
        >>> import lmzoo, tempfile
        >>> model = lmzoo.train("rnnlm", lmzoo.load_corpus("lee"), tempfile.mkdtemp(), preset="quick", steps=20)
        >>> len(model.generate("The ", max_length=5, num_return_sequences=2, sampler="top_k", seed=0))
        2
    """

    family = "rnnlm"

    def __init__(self, config: RNNLMConfig, tokenizer: VocabularyTokenizer, network: RNNLanguageNetwork):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self._functions: dict[str, Any] = {}

    def num_params(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.network.trainable_weights))

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

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1, sampler: str = "greedy",
                 seed: int | None = None, **options: Any) -> list[str]:
        """Continue `prompt`; returns the new text of each sequence."""
        news = self.generate_ids(encode_prompt(self.tokenizer, prompt), max_length=max_length,
                                 num_return_sequences=num_return_sequences, sampler=sampler, seed=seed, **options)
        return [self.tokenizer.decode(new) for new in news]

    # embeddings and fine-tuning
    def word_vectors(self) -> Any:
        """The input embedding table as gensim KeyedVectors (characters for a char tokenizer)."""
        from gensim.models import KeyedVectors

        table = ops.convert_to_numpy(self.network.embedding.embeddings)
        vectors = KeyedVectors(table.shape[1])
        vectors.add_vectors(self.tokenizer.vocabulary[4:], table[4:])
        return vectors

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

    def causal_network(self) -> keras.Model:
        """The CausalNetwork protocol: this LM's own network (ids → next-token logits, from a zero state)."""
        return self.network

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file(MODEL_FILE))


MODEL_FILE = "model.keras"


# Training --------------------------------------------------------------------------------------


def train(config: RNNLMConfig, corpus: Corpus, run: RunDir) -> RNNLM:
    """Fit a tokenizer and a recurrent LM on `corpus.train` (resuming from a checkpoint)."""
    run = distribute.worker_run(run, config.distribute)
    if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise LmzooError("tensorboard=True needs the tensorboard package", "pip install tensorboard, or drop the flag")
    keras.utils.set_random_seed(config.seed)
    options = {"vocabulary_size": config.vocabulary_size} if config.tokenizer == "subword" else {"min_count": config.min_count}
    tokenizer = fit_tokenizer(config.tokenizer, corpus.train, word_split=corpus.word_split, **options)
    tokenizer.save(run.tokenizer_path)
    train_ids = np.asarray([BOS, *tokenizer.encode(corpus.train)], dtype=np.int32)
    needed = config.context * (config.batch_size if config.carry_state else 1) + 2
    if len(train_ids) < needed:
        raise LmzooError(f"the training text has {len(train_ids)} tokens, fewer than the {needed} one batch needs",
                         "use a smaller context or batch_size, or more text")
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        network = build_network(config, tokenizer.vocabulary_size())
        if config.unigram_bias:  # before restore_checkpoint, which overwrites it when resuming
            network.output_bias_variable.assign(unigram_log_probs(train_ids, tokenizer.vocabulary_size()))
        if config.sampled_softmax:
            network.sampling_log_q.assign(window_lm.sampling_log_probs(train_ids, tokenizer.vocabulary_size()))
        network.compile(optimizer=window_lm.make_optimizer(config, network.trainable_variables),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=config.jit_compile)
        start = window_lm.restore_checkpoint(run, network)
        if config.carry_state:
            data = window_lm.contiguous_windows(train_ids, config.context, config.batch_size, start_step=start)
        else:
            data = window_lm.random_windows(train_ids, config.context, config.batch_size, config.seed, start_step=start)
        valid_ids = tokenizer.encode(corpus.valid)
        valid = window_lm.validation_windows(valid_ids, config.context, config.batch_size, config.eval_batches)
        model = RNNLM(config, tokenizer, network)
        keep_best = KeepBestOnValid(run, lambda: -np.mean(model.token_log_probs(valid_ids)))
        extra = [keep_best] if config.select_on_valid else []
        if config.time_budget_seconds:
            extra.append(StopAtDeadline(config.time_budget_seconds, reserve=lambda: keep_best.last_seconds))
        window_lm.fit_windows(network, run, data, steps=config.steps, eval_every=config.eval_every,
                              tokens_per_step=config.batch_size * config.context, valid_data=valid,
                              tensorboard=config.tensorboard, callbacks=extra)
        if config.select_on_valid:
            keep_best.restore_best()
    model.save(run)
    run.mark_complete()
    return model


def load(run: RunDir) -> RNNLM:
    """Reload a finished run; a corrupt or mismatched model file gives a clear LmzooError."""
    config = from_dict(RNNLMConfig, run.read_config()["config"])
    tokenizer = load_tokenizer(run.tokenizer_path)
    expected = {"vocabulary_size": tokenizer.vocabulary_size(), "layer_sizes": config.layer_sizes, "cell": config.cell,
                "tie_embeddings": config.tie_embeddings}
    network = window_lm.load_network(run, MODEL_FILE, "rnnlm", expected, RNNLanguageNetwork)
    return RNNLM(config, tokenizer, network)


FAMILY = Family(
    name="rnnlm",
    summary="recurrent LM (LSTM or GRU), truncated BPTT, dropout, tied embeddings, carried-state scoring",
    config_cls=RNNLMConfig,
    presets=PRESETS,
    train=train,
    load=load,
)
