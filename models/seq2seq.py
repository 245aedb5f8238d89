"""GRU seq2seq autoencoder: an encoder squeezes a sentence into a latent vector, a decoder writes it back.

The network is the shared `lmzoo.models.layers.GRUEncoderDecoder` with one embedding table on both
sides: a GRU encoder (optionally bidirectional) whose final state is the sentence's latent vector, a GRU
decoder started from it, optional additive attention over the encoder states, and an output layer tied
to the embedding table. It trains with teacher forcing, or scheduled sampling with a decaying ratio;
it decodes greedily (batched, `sampling.generate_batch`) or by beam search over cached decoder states.
Sentences longer than `context` words follow `overlong`. Design notes: `benchmarks/results/NOTES.md`.

Implements Reconstructor, ConditionalScorer, Embedder and `generate` (reconstructs the prompt, or
interpolates); not a language model: its NLL is conditional on the sentence itself.

References: Sutskever et al. 2014; Cho et al. 2014; Bahdanau et al. 2015 (additive attention);
Bengio et al. 2015 (scheduled sampling); Bowman et al. 2016 (latent-space interpolation).

Example:
    >>> Seq2SeqConfig(attention=True).context
    40
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict, require_at_least_one
from lmzoo.datasets.batching import padded_sentences
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    BOS,
    EOS,
    PAD,
    VocabularyTokenizer,
    fit_tokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import distribute, sampling, schedules
from lmzoo.models.callbacks import training_callbacks
from lmzoo.models.layers.recurrent import AdditiveAttention, GRUEncoderDecoder
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

if TYPE_CHECKING:
    import tensorflow as tf
    from gensim.models import KeyedVectors


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Hyper-parameters of the seq2seq autoencoder (all settable with `--set key=value`).

    Args:
        embedding_dim, latent_dim: the embedding width; the GRU width (the latent vector's size).
        bidirectional: a bidirectional encoder (each direction holds half of `latent_dim`).
        attention, attention_dim: additive attention over the encoder states, and its width.
        teacher_forcing_ratio, teacher_forcing_final: the chance of feeding the true previous token;
            None keeps it constant, else it moves linearly to `teacher_forcing_final`.
        feed: what the decoder is fed otherwise: its "argmax" or a "sample".
        context, overlong: words per sentence (not counting `</s>`); longer ones are cut ("truncate")
            or left out of training and refused at inference ("skip"). Was `max_length`.
        min_count, max_vocabulary, lowercase: the word tokenizer.
        max_sentences: a cap on training sentences (None: all).
        batch_size, epochs, learning_rate, learning_rate_decay, clipnorm: Adam; "cosine" decays to 10%.
        checkpoint_every_n_steps: steps per resumable chunk (one metrics.jsonl record each).
        monitor_sentences: held-out sentences decoded greedily at each checkpoint (0: off).
        distribute: `lmzoo.models.distribute`'s strategy; `batch_size` is the global batch.
        seed: weights, shuffling and scheduled sampling.

    Example:
        >>> Seq2SeqConfig(latent_dim=64, attention=True).attention
        True
    """

    embedding_dim: int = 64
    latent_dim: int = 128
    bidirectional: bool = False
    attention: bool = False
    attention_dim: int = 64
    teacher_forcing_ratio: float = 1.0
    teacher_forcing_final: float | None = None  # None: constant ratio; else linear decay to this
    feed: Literal["argmax", "sample"] = "argmax"  # what "the model's own prediction" means
    context: int = 40  # words per sentence, not counting </s>: the encoder's input window
    overlong: Literal["truncate", "skip"] = "truncate"
    min_count: int = 2
    max_vocabulary: int | None = 20000
    lowercase: bool = False
    max_sentences: int | None = None  # cap on training sentences (None: all)
    batch_size: int = 32
    epochs: float = 5.0
    learning_rate: float = 3e-3
    learning_rate_decay: Literal["none", "cosine"] = "none"  # cosine: down to 10% by the last step
    clipnorm: float = 1.0
    checkpoint_every_n_steps: int = 100
    monitor_sentences: int = 64  # held-out sentences decoded greedily at each checkpoint (0: off)
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"  # lmzoo.models.distribute; batch is global
    seed: int = 0
    RENAMED: ClassVar[dict[str, str]] = {"max_length": "context"}  # run directories written before the rename

    def validate(self) -> None:
        require_at_least_one(self, ("embedding_dim", "latent_dim", "attention_dim", "context", "batch_size",
                     "checkpoint_every_n_steps"))
        if self.bidirectional and self.latent_dim % 2:
            raise LmzooError(f"latent_dim={self.latent_dim} must be even with bidirectional=True",
                             "each direction holds half of the latent vector")
        for name in ("teacher_forcing_ratio", "teacher_forcing_final"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise LmzooError(f"{name}={value} must be in [0, 1]")
        if self.epochs <= 0 or self.learning_rate <= 0:
            raise LmzooError("epochs and learning_rate must be > 0")
        if self.max_sentences is not None and self.max_sentences < 1:
            raise LmzooError(f"max_sentences={self.max_sentences} must be >= 1 or None")

    @property
    def scheduled_sampling(self) -> bool:
        """True when some decoder steps are fed predictions, which needs the step loop."""
        final = self.teacher_forcing_ratio if self.teacher_forcing_final is None else self.teacher_forcing_final
        return min(self.teacher_forcing_ratio, final) < 1.0


PRESETS = {
    # lee: ~2,000 training sentences; quick trains in a few seconds, default within a minute.
    "quick": Seq2SeqConfig(embedding_dim=32, latent_dim=64, context=20, max_sentences=400,
                           epochs=2.0, batch_size=32, checkpoint_every_n_steps=25, monitor_sentences=16),
    "default": Seq2SeqConfig(embedding_dim=64, latent_dim=128, context=40, epochs=6.0,
                             batch_size=32, checkpoint_every_n_steps=100),
}


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="lmzoo")
class Seq2SeqNetwork(GRUEncoderDecoder):
    """The Keras encoder-decoder. Input and target are the same (batch, time) ids: words then `</s>`.

    `call(ids, training)` returns next-token logits (batch, time, vocabulary) for the targets
    `ids`, with the decoder fed `<s>` + `ids[:, :-1]`; during training with scheduled sampling
    some of those inputs are replaced by the model's own predictions.

    Example:
        >>> net = Seq2SeqNetwork(vocabulary_size=20, embedding_dim=8, latent_dim=16)
        >>> tuple(net(np.array([[5, 6, 3, 0]])).shape)
        (1, 4, 20)
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 64, latent_dim: int = 128,
                 bidirectional: bool = False, attention: bool = False, attention_dim: int = 64,
                 teacher_forcing_ratio: float = 1.0, scheduled_sampling: bool = False,
                 feed: str = "argmax", seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocabulary_size, self.embedding_dim, self.latent_dim = vocabulary_size, embedding_dim, latent_dim
        self.bidirectional, self.use_attention, self.attention_dim = bidirectional, attention, attention_dim
        self.scheduled_sampling, self.feed, self.seed = scheduled_sampling, feed, seed
        self.initial_teacher_forcing_ratio = teacher_forcing_ratio
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        if bidirectional:
            self.encoder = keras.layers.Bidirectional(
                keras.layers.GRU(latent_dim // 2, return_sequences=True, return_state=True), name="encoder")
        else:
            self.encoder = keras.layers.GRU(latent_dim, return_sequences=True, return_state=True, name="encoder")
        self.decoder = keras.layers.GRU(latent_dim, return_sequences=True, return_state=True, name="decoder")
        self.attention = AdditiveAttention(attention_dim, name="attention") if attention else None
        self.output_projection = keras.layers.Dense(embedding_dim, name="output_projection")
        # Read by the step loop; a callback moves it along the schedule (restored on resume).
        self.teacher_forcing_ratio = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(teacher_forcing_ratio), trainable=False,
            name="teacher_forcing_ratio")
        self.output_bias = self.add_weight(shape=(vocabulary_size,), initializer="zeros", name="output_bias")
        self.seed_generator = keras.random.SeedGenerator(seed)

    # The shared encoder–decoder reads the one embedding table on both sides (an autoencoder).
    @property
    def source_embedding(self) -> keras.layers.Embedding:
        return self.embedding

    @property
    def target_embedding(self) -> keras.layers.Embedding:
        return self.embedding

    def encoder_layers(self) -> list[keras.layers.Layer]:
        return [self.encoder]

    def decoder_layers(self) -> list[keras.layers.GRU]:
        return [self.decoder]

    def build(self, input_shape):
        # Run every sublayer once so that all weights exist before loading or restoring them.
        ids = ops.convert_to_tensor(np.array([[4 % self.vocabulary_size, EOS]], dtype="int32"))
        self._teacher_forced(ids, self.encode_ids(ids))
        self.built = True

    def encode_ids(self, ids) -> dict:
        """`encode` plus `latent` (B, H): the top encoder layer's final state, the sentence's vector."""
        enc = self.encode(ids)
        return {**enc, "latent": enc["finals"][-1]}

    def attend_over(self, memory: dict) -> dict:
        if self.attention is None:
            return memory
        return {**memory, "keys": self.attention.project_keys(memory["states"]),
                "values": ops.concatenate([memory["states"], memory["embedded"]], axis=-1)}

    def output_logits(self, hidden, memory):
        """Decoder state(s) -> logits over the vocabulary (tied to the embedding table), attention weights."""
        weights = None
        if self.attention is not None:
            context, weights = self.attention(hidden, memory["keys"], memory["values"], memory["mask"])
            hidden = ops.concatenate([hidden, context], axis=-1)
        projected = self.output_projection(hidden)
        logits = ops.matmul(projected, ops.transpose(self.embedding.embeddings)) + self.output_bias
        return logits, weights

    def _teacher_forced(self, targets, enc):
        """Fast path: all decoder inputs are the true previous tokens; one whole-sequence GRU call."""
        targets = ops.cast(targets, "int32")
        inputs = ops.concatenate([ops.full_like(targets[:, :1], BOS), targets[:, :-1]], axis=1)
        return self.decode(inputs, [enc["latent"]], enc)

    def scheduled_decode(self, targets, enc, ratio):
        """Decode with scheduled sampling: per step and per sentence, feed the truth with prob. `ratio`.

        Returns the logits (B, T, V) and the token actually fed at each step (B, T), so that a test
        can check by construction what the decoder saw. Ratio 0 feeds only the model's own
        predictions (free running); ratio 1 equals `_teacher_forced`.
        """
        targets = ops.cast(targets, "int32")
        batch = ops.shape(targets)[0]
        truth = ops.transpose(ops.concatenate([ops.full_like(targets[:, :1], BOS), targets[:, :-1]], axis=1))
        time_batch = ops.shape(truth)
        coins = keras.random.uniform(time_batch, seed=self.seed_generator) < ratio
        draws = keras.random.uniform(time_batch, seed=self.seed_generator)

        def step(carry, x):
            state, predicted, _, _ = carry
            true_token, coin, draw = x
            fed = ops.where(coin, true_token, predicted)
            logits, (state,), _ = self.decode_step(fed, [state], enc)
            if self.feed == "sample":  # inverse-CDF draw from the model's distribution
                cdf = ops.cumsum(ops.softmax(logits, axis=-1), axis=-1)
                nxt = ops.sum(ops.cast(cdf < draw[:, None], "int32"), axis=-1)
                nxt = ops.minimum(nxt, self.vocabulary_size - 1)
            else:
                nxt = ops.cast(ops.argmax(logits, axis=-1), "int32")
            # keras.ops.scan on TensorFlow stacks outputs shaped like the carry: return it twice.
            new = (state, nxt, logits, fed)
            return new, new

        init = (enc["latent"], ops.full((batch,), BOS, dtype="int32"),
                ops.zeros((batch, self.vocabulary_size), dtype=enc["latent"].dtype),
                ops.full((batch,), BOS, dtype="int32"))
        _, (_, _, logits, fed) = ops.scan(step, init, (truth, coins, draws))
        return ops.transpose(logits, (1, 0, 2)), ops.transpose(fed)

    def call(self, ids, training=False):
        enc = self.encode_ids(ids)
        if training and self.scheduled_sampling:
            logits, _ = self.scheduled_decode(ids, enc, self.teacher_forcing_ratio)
        else:
            logits, _ = self._teacher_forced(ids, enc)
        return logits

    def target_log_probs(self, ids):
        """log p(ids[b, t] | sentence, ids[b, :t]) teacher-forced, 0 at padding; shape (B, T)."""
        ids = ops.cast(ids, "int32")
        logits, _ = self._teacher_forced(ids, self.encode_ids(ids))
        log_probs = ops.take_along_axis(ops.log_softmax(logits, axis=-1), ids[:, :, None], axis=-1)[..., 0]
        return ops.where(ops.not_equal(ids, PAD), log_probs, ops.zeros_like(log_probs))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Mean over real tokens of the batch: padding never enters the sum or the count. Under a
        # tf.distribute strategy the count is the whole batch's, so the replicas' shares add up.
        mask = ops.cast(ops.not_equal(y, PAD), "float32")
        per_token = ops.sparse_categorical_crossentropy(y, y_pred, from_logits=True)
        return ops.sum(per_token * mask) / ops.maximum(distribute.global_sum(ops.sum(mask)), 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "latent_dim": self.latent_dim,
                "bidirectional": self.bidirectional, "attention": self.use_attention,
                "attention_dim": self.attention_dim,
                "teacher_forcing_ratio": self.initial_teacher_forcing_ratio,
                "scheduled_sampling": self.scheduled_sampling, "feed": self.feed, "seed": self.seed}


def build_network(config: Seq2SeqConfig, vocabulary_size: int, total_steps: int = 1) -> Seq2SeqNetwork:
    """The Keras network for `config`, built and compiled (Adam with gradient clipping).

    The learning-rate schedule follows the optimizer step, so a resumed run continues it.
    """
    keras.utils.set_random_seed(config.seed)
    net = Seq2SeqNetwork(vocabulary_size, config.embedding_dim, config.latent_dim, config.bidirectional,
                         config.attention, config.attention_dim, config.teacher_forcing_ratio,
                         config.scheduled_sampling, config.feed, config.seed)
    net.build((None, None))
    rate = config.learning_rate
    if config.learning_rate_decay == "cosine":
        rate = schedules.cosine_decay(rate, total_steps, alpha=0.1)
    # TensorFlow runs the step as a graph without XLA. On JAX, jit_compile=False would run every step
    # eagerly, tracing and compiling each GRU scan again at every call, so there the step is jitted.
    net.compile(optimizer=keras.optimizers.Adam(rate, clipnorm=config.clipnorm),
                jit_compile=keras.config.backend() == "jax")
    return net


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


def sentence_ids(tokenizer: VocabularyTokenizer, sentences: Sequence[str], context: int,
                 overlong: str, *, training: bool = False) -> list[list[int]]:
    """Word ids of each sentence (without `</s>`), with the `overlong` rule applied.

    Training drops empty sentences and, with overlong="skip", long ones; inference raises for
    both, naming the sentence, because its output must line up with its input.

    Example:
        >>> tok = fit_tokenizer("word", "a b c", eos_per_line=False)
        >>> sentence_ids(tok, ["a b c", "c zzz"], 2, "truncate")
        [[4, 5], [6, 1]]
    """
    out = []
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise LmzooError(f"sentence {i} is {type(sentence).__name__}, not a string", "pass a list of strings")
        ids = [t for t in tokenizer.encode(sentence) if t != EOS]
        if not ids:
            if training:
                continue
            raise LmzooError(f"sentence {i} is empty", "give sentences with at least one word")
        if len(ids) > context:
            if overlong == "skip":
                if training:
                    continue
                raise LmzooError(f"sentence {i} has {len(ids)} words, more than context={context} "
                                 "(overlong='skip')", "shorten it, or train with --set overlong=truncate")
            ids = ids[:context]
        out.append(ids)
    return out


def pad_ids(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Rows + `</s>`, right-padded with `<pad>` into an int32 matrix: the batch the network reads.

    Example:
        >>> pad_ids([[4, 5], [6]]).tolist()
        [[4, 5, 3], [6, 3, 0]]
    """
    width = max(len(r) for r in rows) + 1
    out = np.zeros((len(rows), width), dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row) + 1] = [*row, EOS]
    return out


_pad = pad_ids  # the short name this module's code uses


def training_batches(rows: Sequence[Sequence[int]], batch_size: int, *, seed: int = 0, shuffle: bool = True,
                     width: int | None = None) -> tf.data.Dataset:
    """(ids, ids) batches; sentences of similar length share a batch so that padding stays small.

    Within pools of 32 batches the sentences are sorted by length; batch order is reshuffled
    every pass. `width` pads every batch to that many columns: the scheduled-sampling loop
    (`keras.ops.scan`) needs a time dimension known when the graph is traced.
    """
    import tensorflow as tf  # the input pipeline is tf.data, as in lmzoo.datasets.batching

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows)) if shuffle else np.arange(len(rows))
    pool = batch_size * 32
    ordered = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        ordered.extend(sorted(chunk, key=lambda i: len(rows[i])))
    ds = padded_sentences([rows[i] for i in ordered], batch_size, add_eos=True)
    if width is not None:
        ds = ds.map(lambda ids: tf.ensure_shape(tf.pad(ids, [[0, 0], [0, width - tf.shape(ids)[1]]]), [None, width]))
    ds = ds.map(lambda ids: (ids, ids))
    if shuffle:
        ds = ds.shuffle(math.ceil(len(rows) / batch_size), seed=seed, reshuffle_each_iteration=True)
    return ds


# ----------------------------------------------------------------------------------------------
# The model users hold
# ----------------------------------------------------------------------------------------------


class Seq2SeqAutoencoder:
    """A trained seq2seq autoencoder with its tokenizer: reconstruct, encode, interpolate, score.

    Example:
        >>> from lmzoo import train, load_corpus
        >>> import tempfile
        >>> model = train("seq2seq", load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
        >>> model.encode(["The fire spread quickly."]).shape
        (1, 64)
    """

    family = "seq2seq"
    generate_options = ("interpolate_to", "steps")  # beyond the samplers' options (see `generate`)

    def __init__(self, config: Seq2SeqConfig, tokenizer: VocabularyTokenizer, network: Seq2SeqNetwork):
        self.config, self.tokenizer, self.network = config, tokenizer, network

    def num_params(self) -> int:
        return int(self.network.count_params())

    def ids(self, sentences: Sequence[str]) -> list[list[int]]:
        """Word ids per sentence (unknown words are `<unk>`), with the config's overlong rule."""
        if isinstance(sentences, str):
            raise LmzooError("sentences must be a list of strings, not one string", "wrap it: [sentence]")
        return sentence_ids(self.tokenizer, sentences, self.config.context, self.config.overlong)

    def _batches(self, rows: list[list[int]], size: int = 256):
        for start in range(0, len(rows), size):
            yield start, rows[start : start + size]

    # uses -----------------------------------------------------------------------------------
    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """Sentence embeddings: the latent vector of each sentence, shape (n, latent_dim)."""
        rows = self.ids(sentences)
        parts = [ops.convert_to_numpy(self.network.encode_ids(_pad(batch))["latent"]) for _, batch in self._batches(rows)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, self.config.latent_dim), np.float32)

    def nearest_sentences(self, query: str, candidates: Sequence[str], topn: int = 5) -> list[tuple[str, float]]:
        """The `topn` candidates whose latent vectors are closest to the query's, by cosine.

        Example:
            >>> model.nearest_sentences("Fire crews arrived.", ["Crews arrived.", "Shares fell."], topn=1)  # doctest: +SKIP
            [('Crews arrived.', 0.93)]
        """
        vectors = self.encode([query, *candidates])
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        similarity = unit[1:] @ unit[0]
        order = np.argsort(-similarity, kind="stable")[:topn]
        return [(candidates[i], float(similarity[i])) for i in order]

    def _greedy(self, state, enc: dict | None, max_new: int, attention: bool = False):
        """Batched greedy decoding from initial decoder `state`; ids per row (without `</s>`).

        With `attention=True` it also returns the weights of every step, (batch, steps, source).
        """
        batch, weights = int(state.shape[0]), []
        step = self.network.next_token_step(enc, batch, weights if attention else None)
        news = sampling.generate_batch(step, [state], batch, max_new_tokens=max_new, eos_id=EOS)
        rows = [new[:-1] if new and new[-1] == EOS else new for new in news]
        return (rows, np.stack(weights, axis=1)) if attention else rows

    def _check_enc_for(self, what: str) -> None:
        if self.config.attention:
            raise LmzooError(f"{what} needs the bottleneck model: an attention decoder also reads the "
                             "encoder states, which a latent vector alone does not give",
                             "train with --set attention=False")

    def decode_latents(self, latents: np.ndarray, max_length: int | None = None) -> list[str]:
        """Greedy decoding of latent vectors (bottleneck model only)."""
        self._check_enc_for("decoding a latent vector")
        latents = ops.convert_to_tensor(np.asarray(latents, dtype=np.float32))
        rows = self._greedy(latents, None, max_length or self.config.context + 1)
        return [self.tokenizer.decode(r) for r in rows]

    def interpolate(self, a: str, b: str, steps: int = 5) -> list[str]:
        """Decode `steps` points on the straight line between the latents of sentences `a` and `b`.

        Example:
            >>> model.interpolate("the fire spread", "the talks ended", steps=3)  # doctest: +SKIP
            ['the fire spread', 'the fire ended', 'the talks ended']
        """
        if not isinstance(steps, int) or steps < 2:
            raise LmzooError(f"steps={steps} must be an integer >= 2")
        self._check_enc_for("interpolation")
        za, zb = self.encode([a, b])
        alphas = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.decode_latents((1 - alphas) * za + alphas * zb)

    def _prefix_scorer(self, row: list[int]):
        """next_log_probs(prefix) for one sentence, caching the decoder state after every prefix.

        Each prefix costs one GRU cell step from its parent's state instead of a rerun from `<s>`.
        """
        enc = self.network.encode_ids(_pad([row]))
        cache: dict[tuple[int, ...], tuple[np.ndarray, Any]] = {}

        def after(prefix: tuple[int, ...]) -> tuple[np.ndarray, Any]:
            if prefix not in cache:
                state = [enc["latent"]] if len(prefix) == 1 else after(prefix[:-1])[1]
                logits, new_state, _ = self.network.decode_step(np.array(prefix[-1:], np.int32), state, enc)
                log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))[0].astype(np.float64)
                cache[prefix] = (log_probs, new_state)
            return cache[prefix]

        return lambda prefix: after(tuple(prefix))[0]

    def reconstruct(self, sentences: Sequence[str], *, num_beams: int = 1, length_penalty: float = 1.0,
                    max_length: int | None = None) -> list[str]:
        """Encode each sentence and decode it back (greedy, or beam search with `num_beams` > 1).

        `max_length` caps the decoded tokens (default: the config's context + 1 for `</s>`).

        Example:
            >>> model.reconstruct(["The fire spread quickly."])  # doctest: +SKIP
            ['The fire spread quickly .']
        """
        sampling.check_sampling_options("beam", num_beams=num_beams)
        limit = max_length if max_length is not None else self.config.context + 1
        rows = self.ids(sentences)
        if num_beams == 1:
            out = []
            for _, batch in self._batches(rows):
                enc = self.network.encode_ids(_pad(batch))
                out.extend(self._greedy(enc["latent"], enc, limit))
        else:
            out = [[t for t in sampling.beam_search(self._prefix_scorer(row), [BOS], num_beams=num_beams,
                                                    max_new_tokens=limit, eos_id=EOS,
                                                    length_penalty=length_penalty)[0] if t != EOS]
                   for row in rows]
        return [self.tokenizer.decode(r) for r in out]

    def attention_weights(self, sentence: str) -> tuple[list[str], list[str], np.ndarray]:
        """Greedy reconstruction of one sentence with its attention weights (attention model only).

        Returns (source tokens incl. `</s>`, output tokens, weights of shape (outputs, sources)).
        """
        if not self.config.attention:
            raise LmzooError("this model has no attention", "train with --set attention=True")
        row = self.ids([sentence])[0]
        enc = self.network.encode_ids(_pad([row]))
        (out,), weights = self._greedy(enc["latent"], enc, self.config.context + 1, attention=True)
        source = [self.tokenizer.id_to_token(t) for t in [*row, EOS]]
        target = [self.tokenizer.id_to_token(t) for t in [*out, EOS]][: weights.shape[1]]
        return source, target, weights[0, : len(target)]

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **options: Any) -> list[str]:
        """Reconstruct `prompt` (an autoencoder has nothing to continue), or interpolate.

        Any sampler of `lmzoo.models.sampling` works on the decoder ("beam" gives the
        `num_return_sequences` best reconstructions). With `interpolate_to="another sentence"` it
        returns the greedy decodings along the latent path instead (`steps`, default 5).

        Example:
            >>> model.generate("The fire spread.", sampler="beam", num_beams=4)  # doctest: +SKIP
            ['The fire spread .']
        """
        if "interpolate_to" in options:
            return self.interpolate(prompt, str(options.pop("interpolate_to")), steps=options.pop("steps", 5))
        row = self.ids([prompt])[0]
        news = sampling.generate(self._prefix_scorer(row), [BOS], max_new_tokens=max_length, eos_id=EOS,
                                 sampler=sampler, num_return_sequences=num_return_sequences, seed=seed, **options)
        return [self.tokenizer.decode([t for t in new if t != EOS]) for new in news]

    # harness ------------------------------------------------------------------------------------
    def conditional_log_probs(self, sentences: Sequence[str]) -> list[np.ndarray]:
        """Teacher-forced log p(token | the sentence's encoding, previous tokens), words then `</s>`."""
        rows = self.ids(sentences)
        out: list[np.ndarray] = []
        for _, batch in self._batches(rows):
            log_probs = ops.convert_to_numpy(self.network.target_log_probs(_pad(batch))).astype(np.float64)
            out.extend(log_probs[i, : len(row) + 1] for i, row in enumerate(batch))
        return out

    def word_vectors(self) -> KeyedVectors:
        """The input embedding table as gensim KeyedVectors (specials left out)."""
        from gensim.models import KeyedVectors

        table = ops.convert_to_numpy(self.network.embedding.embeddings)
        vectors = KeyedVectors(table.shape[1])
        vectors.add_vectors(self.tokenizer.vocabulary[4:], table[4:])
        return vectors

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file("seq2seq.keras"))

    def backbone(self) -> keras.Model:
        """The Backbone protocol: the encoder's states (batch, time, latent_dim), weights shared."""
        return Seq2SeqEncoderBackbone(self.network)


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------


class TeacherForcingSchedule(keras.callbacks.Callback):
    """Moves the ratio linearly from `start` to `final` over `total_steps` optimizer steps.

    It reads the optimizer step, so a resumed run continues the schedule where it stopped.

    Example:
        >>> schedule = TeacherForcingSchedule(1.0, 0.5, total_steps=1000)
    """

    def __init__(self, start: float, final: float, total_steps: int):
        super().__init__()
        self.start, self.final, self.total_steps = start, final, max(1, total_steps)

    def ratio_at(self, step: int) -> float:
        return self.start + (self.final - self.start) * min(1.0, step / self.total_steps)

    def on_train_batch_begin(self, batch, logs=None):
        step = int(ops.convert_to_numpy(self.model.optimizer.iterations))
        self.model.teacher_forcing_ratio.assign(self.ratio_at(step))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["teacher_forcing_ratio"] = float(ops.convert_to_numpy(self.model.teacher_forcing_ratio))


class ReconstructionMonitor(keras.callbacks.Callback):
    """Adds free-running (greedy) token accuracy and exact match on held-out sentences to the logs.

    Teacher-forced loss hides exposure bias; this is what decoding really achieves.
    """

    def __init__(self, model: Seq2SeqAutoencoder, rows: list[list[int]]):
        super().__init__()
        self.zoo_model, self.rows = model, rows

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.rows:
            return
        enc = self.zoo_model.network.encode_ids(_pad(self.rows))
        outputs = self.zoo_model._greedy(enc["latent"], enc, self.zoo_model.config.context + 1)
        correct = total = exact = 0
        for ref, hyp in zip(self.rows, outputs, strict=True):
            ref, hyp = [*ref, EOS], [*hyp, EOS]
            correct += sum(a == b for a, b in zip(ref, hyp, strict=False))
            total += len(ref)
            exact += ref == hyp
        logs["free_running_token_accuracy"] = correct / total
        logs["free_running_exact_match"] = exact / len(self.rows)


def train(config: Seq2SeqConfig, corpus: Corpus, run: RunDir,
          extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> Seq2SeqAutoencoder:
    """Fit the tokenizer and the autoencoder on `corpus.sentences("train")`; resumes from a checkpoint.

    Training runs in chunks of `checkpoint_every_n_steps` optimizer steps (Keras "epochs" of that
    many steps over the repeated data), each ending with a resumable backup, a metrics.jsonl record
    (loss, val_loss, free-running accuracy, teacher-forcing ratio) and so an interrupted run
    restarts at its last chunk boundary with weights, optimizer state and step restored. The last
    chunk is cut short, so training runs exactly ceil(epochs × steps per pass) steps.

    Example:
        >>> from lmzoo import load_corpus
        >>> import tempfile
        >>> model = train(PRESETS["quick"], load_corpus("lee"), RunDir(tempfile.mkdtemp()))
        >>> model.family
        'seq2seq'
    """
    run = distribute.worker_run(run, config.distribute)
    tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split, min_count=config.min_count,
                              max_size=config.max_vocabulary, lowercase=config.lowercase, eos_per_line=False)
    sentences = corpus.sentences("train")[: config.max_sentences]
    rows = sentence_ids(tokenizer, sentences, config.context, config.overlong, training=True)
    if not rows:
        raise LmzooError(f"no training sentences left of {len(sentences)} (overlong={config.overlong}, "
                         f"context={config.context})", "raise context or use overlong=truncate")
    valid = sentence_ids(tokenizer, corpus.sentences("valid")[:256], config.context, config.overlong,
                         training=True)
    run.write_json("data.json", {"train_sentences": len(rows), "skipped_or_empty": len(sentences) - len(rows),
                                 "valid_sentences": len(valid), "vocabulary_size": tokenizer.vocabulary_size()})
    steps_per_pass = math.ceil(len(rows) / config.batch_size)
    chunk = config.checkpoint_every_n_steps
    total_steps = max(1, math.ceil(config.epochs * steps_per_pass))  # the last chunk may be shorter
    chunks = math.ceil(total_steps / chunk)
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        network = build_network(config, tokenizer.vocabulary_size(), total_steps=total_steps)
        model = Seq2SeqAutoencoder(config, tokenizer, network)
        tokens_per_step = sum(len(r) + 1 for r in rows) / steps_per_pass
        final = config.teacher_forcing_ratio if config.teacher_forcing_final is None else config.teacher_forcing_final
        callbacks = [
            TeacherForcingSchedule(config.teacher_forcing_ratio, final, total_steps),
            *([ReconstructionMonitor(model, valid[: config.monitor_sentences])] if config.monitor_sentences else []),
            *training_callbacks(run, checkpoint_every_n_steps="epoch", tokens_per_step=int(tokens_per_step),
                                total_steps=total_steps),
            *extra_callbacks,
        ]
        width = config.context + 1 if config.scheduled_sampling else None
        data = training_batches(rows, config.batch_size, seed=config.seed, width=width).repeat()
        validation = training_batches(valid, 64, shuffle=False) if valid else None
        with run.timed() as timing:
            network.fit(data, epochs=chunks, steps_per_epoch=chunk, validation_data=validation,
                        callbacks=callbacks, shuffle=False, verbose=0)
            timing["tokens_seen"] = int(int(ops.convert_to_numpy(network.optimizer.iterations)) * tokens_per_step)
    model.save(run)
    run.mark_complete()
    return model


def load(run: RunDir) -> Seq2SeqAutoencoder:
    """Reload a finished run (`.keras` file, safe mode)."""
    config = from_dict(Seq2SeqConfig, run.read_config()["config"])
    network = keras.saving.load_model(run.file("seq2seq.keras"), safe_mode=True)
    return Seq2SeqAutoencoder(config, load_tokenizer(run.tokenizer_path), network)


FAMILY = Family(
    name="seq2seq",
    summary="GRU seq2seq sentence autoencoder (latent bottleneck, optional Bahdanau attention)",
    config_cls=Seq2SeqConfig,
    presets=PRESETS,
    train=train,
    load=load,
)


@keras.saving.register_keras_serializable(package="lmzoo")
class Seq2SeqEncoderBackbone(keras.Model):
    """The autoencoder's encoder as a backbone: ids (batch, time) → GRU states (batch, time, latent_dim).

    Example:
        >>> net = Seq2SeqNetwork(vocabulary_size=20, embedding_dim=8, latent_dim=16)
        >>> tuple(Seq2SeqEncoderBackbone(net)(np.array([[5, 6, 3, 0]])).shape)
        (1, 4, 16)
    """

    def __init__(self, network: Seq2SeqNetwork, **kwargs: Any):
        super().__init__(**kwargs)
        self.network = network
        self.causal = not network.bidirectional  # a forward GRU state has read only the words before it

    def build(self, input_shape: Any) -> None:
        if not self.network.built:  # every weight, the decoder's too, so that a copy has them all
            self.network.build(input_shape)
        self.built = True

    def call(self, ids: Any, training: bool | None = None) -> Any:
        return self.network.encode_ids(ids)["states"]

    def get_config(self) -> dict:
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config: dict) -> Seq2SeqEncoderBackbone:
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("network")), **config)
