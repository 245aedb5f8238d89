"""Word2Vec in Keras: skip-gram and CBOW with negative sampling, plus a gensim baseline family.

Two families live here:

- `word2vec`: a `keras.Model` with two embedding tables, the centre ("input") vectors that
  become the word vectors and the context ("output") vectors used only for training. The
  loss is the negative-sampling objective of Mikolov et al. (2013b): for a positive pair
  (centre c, context o) and k noise words n_1..n_k drawn from the unigram distribution to
  the power 0.75,

      loss = -log σ(u_o · v_c) - Σ_i log σ(-u_{n_i} · v_c),

  summed over the pairs of a batch (so that plain SGD makes the same per-pair update as
  word2vec.c and gensim). CBOW predicts the centre from the mean of its context vectors and,
  as word2vec.c does, passes the whole error back to every context vector.
  A batch row is one centre occurrence with its whole window: for skip-gram, the centre and
  its (up to 2·window) context words, padded with `<pad>`, plus k noise words that serve as
  the negatives of every pair of that window (word2vec.c and gensim draw k per pair). Each
  shared noise word's term is counted once per pair it stands for, so over the noise draws
  the loss and its gradient equal word2vec's on average; only their variance differs. This
  is what makes the Keras step fast: the step is a gather and a scatter of embedding rows,
  and a row touches 1 + 2·window + k of them (16 for about 5 pairs with window 5 and k = 5)
  where one row per pair touches 2 + k per pair (35). `benchmarks/word2vec.py` times both
  layouts' step in one run and races gensim (PTB WordSim353, 3 seeds: 0.166 against 0.178).
  If Keras turns off the XLA compilation the config asks for, training fails rather than
  running slower unsaid.
  Training data is streamed: `PairStream` turns a chunk of about 32k words at a time into
  batches with numpy (subsampling of frequent words, a dynamic window, negatives drawn from
  unigram^0.75 by the alias method), one array of all the chunk's batches at once, and
  `tf.data.Dataset.from_generator` prefetches those arrays in a background thread while the
  steps run, so the pairs of the whole corpus are never held in memory (the corpus itself is
  kept once, as int32 ids). `fit` runs `steps_per_execution` steps per XLA-compiled call.
- `word2vec-gensim`: gensim's `Word2Vec` trained on exactly the same sentences and
  vocabulary with the same hyper-parameters, so that the comparison is one loop. It is fed
  a list of token lists, as gensim's users feed it, so it runs as fast as gensim itself.
  With `workers` > 1 gensim's threads race and a seed does not fix the vectors: such a run
  records `reproducible: false` in its `training.json`; `workers=1` is reproducible.

Lines longer than `MAX_SENTENCE_WORDS` are cut into pieces of at most that many words
before either family sees them: gensim silently drops the words of a text past 10,000, and
the pair stream's memory is bounded by its chunk size only if no line is longer.

Both implement the Embedder protocol (`word_vectors()` returns gensim KeyedVectors) and
export to the word2vec text and binary formats and to TSV for the TensorBoard projector.

The rules follow word2vec.c and gensim 4: words below `min_count` are dropped from the
sentences before windows are taken; word w is kept with probability
(sqrt(f/t) + 1)·t/f, where f is its count and t = sample × (total count); each centre draws
its window reach uniformly from 1..window; a noise word equal to the positive target is not
counted as a negative (gensim skips it too); the learning rate falls linearly from
`learning_rate` to `min_learning_rate`.

References:
    Mikolov et al. 2013a, Efficient Estimation of Word Representations in Vector Space,
    https://arxiv.org/abs/1301.3781. Mikolov et al. 2013b, Distributed Representations of
    Words and Phrases and their Compositionality, https://arxiv.org/abs/1310.4546.
    Goldberg & Levy 2014, word2vec Explained, https://arxiv.org/abs/1402.3722.
"""

from __future__ import annotations

import itertools
import math
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict, require_at_least_one
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    EOS,
    PAD,
    SPECIALS,
    WordTokenizer,
    fit_tokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import distribute
from lmzoo.models.callbacks import training_callbacks
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

if TYPE_CHECKING:
    import tensorflow as tf
    from gensim.models import KeyedVectors

EXPORT_FORMATS = ("word2vec", "word2vec-binary", "projector")
CHUNK_TOKENS = 32768  # tokens turned into pairs at a time: bounds the pipeline's memory
# gensim's MAX_WORDS_IN_BATCH: it silently ignores the words of one text past this many.
MAX_SENTENCE_WORDS = 10_000


@dataclass(frozen=True)
class Word2VecConfig:
    """Hyper-parameters shared by the Keras and the gensim family (gensim's names in brackets).

    Example:
        >>> Word2VecConfig(arch="cbow", window=2).window
        2
    """

    arch: Literal["skipgram", "cbow"] = "skipgram"  # [sg]
    dimension: int = 100  # [vector_size]
    window: int = 5  # largest distance between centre and context [window]
    negatives: int = 5  # noise words per positive pair [negative]
    ns_exponent: float = 0.75  # noise distribution: unigram ** ns_exponent [ns_exponent]
    sample: float = 1e-3  # subsampling threshold t; 0 keeps every word [sample]
    min_count: int = 5  # words seen fewer times are dropped [min_count]
    lowercase: bool = True  # WordSim353/SimLex-999 are lower case
    epochs: int = 5  # [epochs]
    # Centre occurrences (windows) per step: about 5 skip-gram pairs each with window 5 and
    # subsampling. The loss is a sum, so this is how many per-pair updates pile up in one step:
    # on PTB, WordSim353 over seeds 0-2 was 0.166 at 256 and 0.161 at 1,024 (gensim ~0.17).
    batch_size: int = 256
    learning_rate: float = 0.025  # per-pair SGD step at the start [alpha]
    min_learning_rate: float = 1e-4  # reached at the end, linearly [min_alpha]
    jit_compile: bool = True  # XLA-compile the Keras step
    steps_per_execution: int = 50  # steps per compiled call (fewer on a small corpus)
    workers: int = 2  # gensim's threads, > 1 is not reproducible (the Keras family ignores it)
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"  # Keras family: lmzoo.models.distribute
    seed: int = 0

    def validate(self) -> None:
        if self.window < 1:
            raise LmzooError(f"window={self.window} must be >= 1", "the window is how many words each side count as context; try --set window=5")
        require_at_least_one(self, ("dimension", "negatives", "min_count", "epochs", "batch_size", "steps_per_execution", "workers"))
        if not 0 <= self.sample < 1:
            raise LmzooError(f"sample={self.sample} must be in [0, 1)", "gensim's default is 1e-3; 0 turns subsampling off")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise LmzooError(f"need 0 < min_learning_rate ({self.min_learning_rate}) <= learning_rate ({self.learning_rate})")


PRESETS = {
    # lee (~48k training words): about 3 s.
    "quick": Word2VecConfig(dimension=32, epochs=3, min_count=3),
    # lee with the published setting (dim 100, window 5, 5 negatives); lee is small, so many
    # epochs and min_count 2 (WordSim353 OOV 68% instead of 79% at 3). About 8 s on 2 busy cores.
    "default": Word2VecConfig(dimension=100, epochs=30, min_count=2),
}


# Corpus statistics and the pair stream (numpy)


def encode_sentences(tokenizer: WordTokenizer, text: str,
                     max_words: int = MAX_SENTENCE_WORDS) -> tuple[np.ndarray, np.ndarray]:
    """The text as one flat int32 array of in-vocabulary word ids plus each line's length.

    Unknown words are dropped rather than mapped to `<unk>` (word2vec.c and gensim drop
    words below min_count before taking windows), and no `</s>` is added: windows never
    cross a line. A line longer than `max_words` counts as several lines of at most
    `max_words` each.

    Example:
        >>> tok = WordTokenizer.fit("a b a\\nb c", min_count=2)
        >>> [a.tolist() for a in encode_sentences(tok, "a x b\\nc")]
        [[4, 5], [2]]
        >>> encode_sentences(tok, "a b a b a", max_words=2)[1].tolist()
        [2, 2, 1]
    """
    index = tokenizer.index
    ids: list[int] = []
    lengths: list[int] = []
    for line in text.splitlines():
        row = [i for i in (index.get(w, PAD) for w in tokenizer.words(line)) if i > EOS]
        if row:
            ids.extend(row)
            lengths.extend(_piece_lengths(len(row), max_words))
    return np.asarray(ids, dtype=np.int32), np.asarray(lengths, dtype=np.int64)


def _piece_lengths(length: int, max_words: int) -> list[int]:
    full, rest = divmod(length, max_words)
    return [max_words] * full + ([rest] if rest else [])


def sentence_words(tokenizer: WordTokenizer, text: str, max_words: int = MAX_SENTENCE_WORDS) -> list[list[str]]:
    """The lines as lists of in-vocabulary words, long lines cut into pieces of `max_words`.

    This is what gensim is fed: the same words `encode_sentences` keeps, in the same pieces.

    Example:
        >>> tok = WordTokenizer.fit("a b a\\nb c", min_count=2)
        >>> sentence_words(tok, "a x b\\nc\\nb a b", max_words=2)
        [['a', 'b'], ['b', 'a'], ['b']]
    """
    index = tokenizer.index
    out = []
    for line in text.splitlines():
        words = [w for w in tokenizer.words(line) if index.get(w, PAD) > EOS]
        out += [words[i : i + max_words] for i in range(0, len(words), max_words)]
    return out


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each word under subsampling (gensim's and word2vec.c's formula).

    p_keep(w) = min(1, (sqrt(f_w / t) + 1) · t / f_w) with t = sample · Σ f. Words with no
    count get 0.

    Example:
        >>> keep_probabilities(np.array([0, 1000, 1]), sample=1e-3).round(3).tolist()
        [0.0, 0.033, 1.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return (counts > 0).astype(np.float64)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.where(counts > 0, np.minimum(keep, 1.0), 0.0)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution: counts ** exponent, normalised (specials get 0).

    Example:
        >>> noise_distribution(np.array([0, 0, 0, 0, 1, 16]), 0.75).round(3).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.111, 0.889]
    """
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    weights[: len(SPECIALS)] = 0.0
    return weights / weights.sum()


def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction): exact O(1) draws from a discrete distribution.

    Draw i uniformly, keep it with probability `keep[i]`, else take `alias[i]`. Two numpy
    draws per sample, against a binary search of the cumulative table per sample (gensim's
    way), which took most of the pipeline's time on PTB.

    Example:
        >>> keep, alias = alias_table(np.array([0.0, 0.25, 0.75]))
        >>> [round(float((keep[i] + (1 - keep) @ (alias == i)) / 3), 3) for i in range(3)]
        [0.0, 0.25, 0.75]
    """
    n = len(probabilities)
    scaled = np.asarray(probabilities, dtype=np.float64) * n / np.sum(probabilities)
    keep, alias = np.ones(n), np.arange(n, dtype=np.int32)
    # Smallest first (pop() takes from the end), so zero-probability words are paired while
    # large ones remain and can never be left over with keep = 1 by rounding.
    by_size = np.argsort(-scaled, kind="stable").tolist()
    small = [i for i in by_size if scaled[i] < 1.0]
    large = [i for i in by_size if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        keep[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # Leftovers are 1 up to rounding error.
    return keep, alias


def skipgram_pairs(ids: np.ndarray, sentence: np.ndarray, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, context) pair of already-subsampled text, with a per-centre window reach.

    `ids[i]` is the word at position i, `sentence[i]` its line number and `reach[i]` the
    window drawn for it as a centre; windows never cross a line.

    Example:
        >>> c, o = skipgram_pairs(np.array([7, 8, 9]), np.zeros(3, int), np.array([1, 1, 2]))
        >>> sorted(zip(c.tolist(), o.tolist()))
        [(7, 8), (8, 7), (8, 9), (9, 7), (9, 8)]
    """
    centres, contexts = [], []
    for d in range(1, int(reach.max(initial=0)) + 1):
        same = sentence[d:] == sentence[:-d]
        forward = same & (reach[:-d] >= d)  # centre at i, context at i + d
        backward = same & (reach[d:] >= d)  # centre at i + d, context at i
        centres += [ids[:-d][forward], ids[d:][backward]]
        contexts += [ids[d:][forward], ids[:-d][backward]]
    if not centres:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate(centres), np.concatenate(contexts)


def window_examples(ids: np.ndarray, sentence: np.ndarray, reach: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Each centre with its window: a (n, 2·window) context matrix padded with `<pad>`, and centres.

    The same (centre, context) pairs as `skipgram_pairs`, grouped by centre; CBOW predicts the
    centre from the row, skip-gram predicts every word of the row from the centre. Centres with
    no context word in their line are skipped.

    Example:
        >>> ctx, c = window_examples(np.array([7, 8, 9]), np.zeros(3, int), np.array([1, 1, 1]), 1)
        >>> ctx.tolist(), c.tolist()
        ([[0, 8], [7, 9], [8, 0]], [7, 8, 9])
    """
    n = len(ids)
    positions = np.arange(n)
    columns = []
    for d in [*range(-window, 0), *range(1, window + 1)]:
        j = positions + d
        inside = (j >= 0) & (j < n)
        j = np.clip(j, 0, max(n - 1, 0))
        valid = inside & (sentence[j] == sentence) & (reach >= abs(d))
        columns.append(np.where(valid, ids[j], PAD))
    context = np.stack(columns, axis=1).astype(np.int32) if columns else np.zeros((0, 0), np.int32)
    has_context = (context != PAD).any(axis=1)
    return context[has_context], ids[has_context]


class PairStream:
    """Streams training batches for one epoch at a time, built a chunk of sentences at a time.

    Each batch is a dict: `inputs` (centres, or CBOW context matrices) and `targets`: the true
    words (skip-gram: the centre's 2·window context words padded with `<pad>`; CBOW: the centre)
    followed by the row's `negatives` noise words.

    Example:
        >>> tok = WordTokenizer.fit("a b c a b c a b\\n" * 50)
        >>> stream = PairStream(tok, "a b c a b c a b\\n" * 50, Word2VecConfig(batch_size=8, min_count=1))
        >>> batch = next(stream.batches())
        >>> batch["inputs"].shape, batch["targets"].shape  # window 5 each side, 5 noise words
        ((8,), (8, 15))
    """

    def __init__(self, tokenizer: WordTokenizer, text: str, config: Word2VecConfig):
        self.config = config
        self.ids, self.lengths = encode_sentences(tokenizer, text)
        if len(self.ids) == 0:
            raise LmzooError("no in-vocabulary words to train on", "lower min_count or give more text")
        self.counts = np.bincount(self.ids, minlength=tokenizer.vocabulary_size()).astype(np.int64)
        self.keep = keep_probabilities(self.counts, config.sample)
        self.noise_keep, self.noise_alias = alias_table(noise_distribution(self.counts, config.ns_exponent))
        # Chunk boundaries (in sentences) so that each chunk holds about CHUNK_TOKENS words.
        ends = np.cumsum(self.lengths)
        cut = np.searchsorted(ends, np.arange(CHUNK_TOKENS, ends[-1], CHUNK_TOKENS), side="right")
        self.chunk_bounds = np.unique(np.concatenate([[0], cut, [len(self.lengths)]]))
        self.starts = np.concatenate([[0], ends])

    @property
    def words(self) -> int:
        """Training words per epoch before subsampling (what words/s counts)."""
        return len(self.ids)

    def expected_steps(self) -> int:
        """Expected batches per epoch, for the learning-rate schedule (exact up to edge effects).

        A batch row is a kept word with a kept neighbour in its line: all kept words of a line
        that keeps two or more (the expected kept count stands in for the drawn one).
        """
        kept = np.add.reduceat(self.keep[self.ids], self.starts[:-1].astype(np.int64))
        return max(1, math.ceil(kept[kept >= 1.5].sum() / self.config.batch_size))

    def expected_pairs(self) -> float:
        """Expected (centre, context) pairs per epoch: offset d is used with probability (w - d + 1) / w."""
        w = self.config.window
        kept = np.add.reduceat(self.keep[self.ids], self.starts[:-1].astype(np.int64))
        return float(sum((w - d + 1) / w * 2 * np.maximum(kept - d, 0).sum() for d in range(1, w + 1)))

    def negatives(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Noise words drawn from unigram ** ns_exponent (alias method)."""
        draws = rng.integers(0, len(self.noise_keep), size=shape, dtype=np.int32)
        return np.where(rng.random(shape) < self.noise_keep[draws], draws, self.noise_alias[draws])

    def subsample(self, rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
        """A mask keeping each occurrence of word w with probability `keep[w]`."""
        return rng.random(len(ids)) < self.keep[ids]

    def chunk_examples(self, rng: np.random.Generator, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        """Subsample one chunk of sentences and return its (inputs, true words), shuffled."""
        first, last = self.chunk_bounds[chunk], self.chunk_bounds[chunk + 1]
        ids = self.ids[self.starts[first] : self.starts[last]]
        sentence = np.repeat(np.arange(first, last), self.lengths[first:last])
        kept = self.subsample(rng, ids)
        ids, sentence = ids[kept], sentence[kept]
        window = self.config.window
        reach = window - rng.integers(0, window, size=len(ids))  # uniform in 1..window
        contexts, centres = window_examples(ids, sentence, reach, window)
        inputs, words = (contexts, centres) if self.config.arch == "cbow" else (centres, contexts)
        order = rng.permutation(len(words))
        return inputs[order], words[order]

    def epoch_examples(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass over the corpus, a chunk at a time; the same (seed, epoch) gives the same."""
        rng = np.random.default_rng([self.config.seed, epoch])
        for chunk in range(len(self.chunk_bounds) - 1):
            yield self.chunk_examples(rng, chunk)

    def blocks(self, first_epoch: int = 0) -> Iterator[dict[str, np.ndarray]]:
        """All full batches of a chunk at once, from pass `first_epoch` on, without end.

        Each block is a dict: `inputs` (n, batch) centres or (n, batch, 2·window) CBOW
        contexts, and `targets` (n, batch, 1 + negatives). Leftover pairs carry into the next
        chunk (and pass), so every batch has the same shape (the compiled step is traced
        once), and `fit` cuts the stream into epochs of `expected_steps()` steps, one pass
        each on average.
        """
        size, k = self.config.batch_size, self.config.negatives
        rng = np.random.default_rng([self.config.seed, first_epoch, 1])  # the noise stream
        left_inputs, left_words = None, None
        for epoch in itertools.count(first_epoch):
            for inputs, words in self.epoch_examples(epoch):
                if left_words is not None:
                    inputs, words = np.concatenate([left_inputs, inputs]), np.concatenate([left_words, words])
                n = len(words) // size
                if n:
                    true_words = words[: n * size].reshape(n, size, -1)
                    noise = self.negatives(rng, (n, size, k))
                    yield {"inputs": inputs[: n * size].reshape(n, size, *inputs.shape[1:]),
                           "targets": np.concatenate([true_words, noise], axis=2)}
                left_inputs, left_words = inputs[n * size :], words[n * size :]

    def batches(self, first_epoch: int = 0) -> Iterator[dict[str, np.ndarray]]:
        """The batches of `blocks`, one at a time."""
        for block in self.blocks(first_epoch):
            for i in range(len(block["targets"])):
                yield {name: value[i] for name, value in block.items()}

    def dataset(self, epoch_source: _EpochCounter) -> tf.data.Dataset:
        """A tf.data pipeline over `blocks`, prefetched so the numpy work overlaps the steps."""
        import tensorflow as tf

        size, k = self.config.batch_size, self.config.negatives
        window = 2 * self.config.window
        cbow = self.config.arch == "cbow"
        signature = {"inputs": tf.TensorSpec((None, size, window) if cbow else (None, size), tf.int32),
                     "targets": tf.TensorSpec((None, size, (1 if cbow else window) + k), tf.int32)}
        # The generator starts when fit first asks for data, so a resumed run starts at its epoch.
        # One generator call per chunk (tens of batches), not per batch: the Python handoff
        # per element is what from_generator costs.
        blocks = tf.data.Dataset.from_generator(lambda: self.blocks(epoch_source.epoch), output_signature=signature)
        return blocks.prefetch(2).unbatch().prefetch(2 * self.config.steps_per_execution)


class _EpochCounter(keras.callbacks.Callback):
    """Tells the stream which epoch `fit` is on (also after a resume), so each epoch differs."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


# The Keras model


@keras.saving.register_keras_serializable(package="lmzoo")
class SkipGramNegativeSampling(keras.Model):
    """Skip-gram or CBOW scorer: centre ("input") and context ("output") embedding tables.

    Called on `{"inputs": ..., "targets": (batch, t + k)}` it returns the logits u_t · v for
    each target; `compute_loss` turns them into the negative-sampling loss, summed over the
    batch. The first t targets of a row are its true words (`<pad>` where a window is short),
    the last k (`negatives`) its noise words, each a negative for every true word of the row.
    For skip-gram v is the centre's vector and the true words its context; for CBOW, `inputs`
    is (batch, 2·window) context ids padded with 0, v is their mean and t = 1 (the centre).

    Example:
        >>> m = SkipGramNegativeSampling(vocabulary_size=10, dimension=4, negatives=2)
        >>> tuple(m({"inputs": np.array([4]), "targets": np.array([[5, 0, 6, 7]])}).shape)
        (1, 4)
    """

    def __init__(self, vocabulary_size: int, dimension: int, arch: str = "skipgram", negatives: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.dimension, self.arch, self.negatives = vocabulary_size, dimension, arch, negatives
        # word2vec.c's initialisation: input vectors uniform in ±0.5/dim, output vectors zero.
        self.centre = keras.layers.Embedding(
            vocabulary_size, dimension, name="centre",
            embeddings_initializer=keras.initializers.RandomUniform(-0.5 / dimension, 0.5 / dimension))
        self.context = keras.layers.Embedding(vocabulary_size, dimension, name="context", embeddings_initializer="zeros")
        # Per-pair loss summed in float64, so the logged epoch loss never saturates (gensim #2735).
        self.pair_loss = keras.metrics.Mean(name="loss", dtype="float64")

    def call(self, inputs):
        targets = self.context(inputs["targets"])  # (batch, t + k, dim)
        if self.arch == "cbow":
            words = inputs["inputs"]  # (batch, 2 * window)
            mask = ops.cast(ops.not_equal(words, PAD), targets.dtype)[:, :, None]
            summed = ops.sum(self.centre(words) * mask, axis=1)  # (batch, dim)
            mean = summed / ops.maximum(ops.sum(mask, axis=1), 1.0)
            # Forward: the mean. Backward: each context word gets the full error, not error/count,
            # which is the update word2vec.c and gensim (cbow_mean=1) make.
            hidden = summed + ops.stop_gradient(mean - summed)
        else:
            hidden = self.centre(inputs["inputs"])  # (batch, dim)
        return ops.einsum("bkd,bd->bk", targets, hidden)  # (batch, t + k)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        k = self.negatives
        words, noise = x["targets"][:, :-k], x["targets"][:, -k:]
        real = ops.not_equal(words, PAD)  # (batch, t): the row's true words
        # Noise word i is a negative of every pair of its row, except a pair whose true word it is
        # (gensim skips those): its term counts once per pair it stands for.
        uses = ops.sum(ops.cast(ops.logical_and(real[:, :, None], ops.not_equal(words[:, :, None], noise[:, None, :])),
                                y_pred.dtype), axis=1)  # (batch, k)
        real = ops.cast(real, y_pred.dtype)
        # -log σ(s) = softplus(-s) for a true word; -log σ(-s) = softplus(s) for a noise word.
        per_row = ops.sum(ops.softplus(-y_pred[:, :-k]) * real, axis=1) + ops.sum(ops.softplus(y_pred[:, -k:]) * uses, axis=1)
        pairs = ops.sum(real, axis=1)
        self.pair_loss.update_state(per_row / ops.maximum(pairs, 1.0), sample_weight=pairs)  # the mean per pair
        return ops.sum(per_row)

    @property
    def metrics(self):
        return [self.pair_loss]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "dimension": self.dimension,
                "arch": self.arch, "negatives": self.negatives}


# Vectors: the Embedder protocol, export, queries


def _keyed_vectors(words: Sequence[str], vectors: np.ndarray) -> KeyedVectors:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(list(words), np.asarray(vectors, dtype=np.float32))
    return kv


def check_words(vectors: KeyedVectors, words: Sequence[str]) -> None:
    """Raise LmzooError naming every query word that is not in the vocabulary."""
    missing = [w for w in words if w not in vectors.key_to_index]
    if missing:
        raise LmzooError(f"not in the vocabulary: {', '.join(repr(w) for w in missing)}",
                         f"query words the model was trained on ({len(vectors.key_to_index)} words; lower min_count to keep rarer ones)")


def similarity(vectors: KeyedVectors, first: str, second: str) -> float:
    """Cosine similarity of two words, with a clear error for an unknown word.

    Example:
        >>> kv = _keyed_vectors(["a", "b"], np.array([[1.0, 0.0], [1.0, 1.0]]))
        >>> round(similarity(kv, "a", "b"), 3)
        0.707
    """
    check_words(vectors, [first, second])
    return float(vectors.similarity(first, second))


def analogy(vectors: KeyedVectors, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
    """3CosAdd: the words closest to b - a + c ("a is to b as c is to ?"), inputs excluded.

    Example:
        >>> kv = _keyed_vectors(["man", "king", "woman", "queen"],
        ...                     np.array([[1, 0, 0.1], [1, 1, 0], [0, 0, 1.1], [0, 1, 1]]))
        >>> analogy(kv, "man", "king", "woman")[0][0]
        'queen'
    """
    check_words(vectors, [a, b, c])
    return [(w, float(s)) for w, s in vectors.most_similar(positive=[b, c], negative=[a], topn=topn)]


def load_vectors(path: str | Path, dimension: int | None = None, binary: bool | None = None) -> KeyedVectors:
    """Read word2vec text or binary vectors, checking their dimension when `dimension` is given.

    `binary=None` guesses from the suffix (.bin is binary).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> _keyed_vectors(["a"], np.ones((1, 3))).save_word2vec_format(path)
        >>> load_vectors(path, dimension=3).vector_size
        3
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise LmzooError(f"vectors file '{path}' does not exist", "export one with `lmzoo export RUN --format word2vec`")
    binary = path.suffix == ".bin" if binary is None else binary
    try:
        with open(path, "rb") as f:
            header = f.readline().split()
        found = int(header[1])
        vectors = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except (ValueError, IndexError, UnicodeDecodeError, EOFError) as err:
        raise LmzooError(f"'{path}' is not a word2vec {'binary' if binary else 'text'} file ({err})",
                         "check the file and the binary flag") from None
    if dimension is not None and found != dimension:
        raise LmzooError(f"'{path}' holds {found}-dimensional vectors but {dimension} were expected",
                         f"train or load with --set dimension={found}")
    return vectors


def export_vectors(vectors: KeyedVectors, format: str, path: str | Path) -> None:
    """Write vectors as word2vec text, word2vec binary, or projector TSV (a folder).

    The projector folder holds `vectors.tsv` (one row of numbers per word) and
    `metadata.tsv` (the words, same order), which projector.tensorflow.org loads.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "proj"
        >>> export_vectors(_keyed_vectors(["a"], np.ones((1, 2))), "projector", out)
        >>> (out / "metadata.tsv").read_text()
        'a\\n'
    """
    if format not in EXPORT_FORMATS:
        raise LmzooError(f"unknown export format '{format}'", f"valid: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if format == "projector":
        path.mkdir(parents=True, exist_ok=True)
        np.savetxt(path / "vectors.tsv", vectors.vectors, delimiter="\t", fmt="%.6g")
        # The projector reads one label per line; a tab or newline inside a word would shift rows.
        words = [w.replace("\t", " ").replace("\n", " ") for w in vectors.index_to_key]
        (path / "metadata.tsv").write_text("".join(w + "\n" for w in words), encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        vectors.save_word2vec_format(str(path), binary=format == "word2vec-binary")


class _VectorsMixin:
    """Queries and export shared by both families (they differ only in where vectors live)."""

    export_formats = EXPORT_FORMATS

    def word_vectors(self) -> KeyedVectors:
        raise NotImplementedError

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The `topn` nearest words by cosine similarity."""
        vectors = self.word_vectors()
        check_words(vectors, [word])
        return [(w, float(s)) for w, s in vectors.most_similar(word, topn=topn)]

    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two vocabulary words."""
        return similarity(self.word_vectors(), first, second)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """"a is to b as c is to ?" by 3CosAdd."""
        return analogy(self.word_vectors(), a, b, c, topn)

    def export(self, format: str, path: str | Path) -> None:
        """Write the word vectors in one of `export_formats`."""
        export_vectors(self.word_vectors(), format, path)


class Word2Vec(_VectorsMixin):
    """A trained Keras Word2Vec: the Keras model plus its tokenizer; an Embedder.

    Example:
        >>> from lmzoo import load_corpus, train
        >>> import tempfile
        >>> model = train("word2vec", load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
        >>> model.word_vectors().vector_size
        32
    """

    family = "word2vec"

    def __init__(self, config: Word2VecConfig, tokenizer: WordTokenizer, model: SkipGramNegativeSampling):
        self.config, self.tokenizer, self.model = config, tokenizer, model
        self._vectors: KeyedVectors | None = None

    def num_params(self) -> int:
        return int(self.model.count_params())

    def word_vectors(self) -> KeyedVectors:
        if self._vectors is None:
            table = keras.ops.convert_to_numpy(self.model.centre.embeddings)
            self._vectors = _keyed_vectors(self.tokenizer.vocabulary[len(SPECIALS):], table[len(SPECIALS):])
        return self._vectors

    def import_vectors(self, path: str | Path) -> int:
        """Overwrite the centre vectors of words found in a word2vec file; returns how many.

        The file must have this model's dimension (else a clear LmzooError).
        """
        vectors = load_vectors(path, dimension=self.config.dimension)
        table = keras.ops.convert_to_numpy(self.model.centre.embeddings).copy()
        rows = [(i, w) for i, w in enumerate(self.tokenizer.vocabulary) if i >= len(SPECIALS) and w in vectors.key_to_index]
        for i, w in rows:
            table[i] = vectors[w]
        self.model.centre.embeddings.assign(table)
        self._vectors = None
        return len(rows)

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.model.save(run.file("word2vec.keras"))

    def backbone(self) -> keras.Model:
        """The Backbone protocol: the centre ("input") embedding table as a layer, weights shared."""
        backbone = keras.Sequential([keras.Input((None,), dtype="int32"), self.model.centre], name="word2vec_backbone")
        backbone.causal = False  # each state is one word's vector, with no context at all
        return backbone


def _fit_tokenizer(config: Word2VecConfig, corpus: Corpus) -> WordTokenizer:
    # An empty vocabulary raises LmzooError here, saying how many distinct words min_count dropped.
    return fit_tokenizer("word", corpus.train, word_split=corpus.word_split, min_count=config.min_count,
                         lowercase=config.lowercase)


def _linear_decay(config: Word2VecConfig, total_steps: int) -> keras.optimizers.schedules.LearningRateSchedule:
    return keras.optimizers.schedules.PolynomialDecay(config.learning_rate, decay_steps=total_steps,
                                                      end_learning_rate=config.min_learning_rate, power=1.0)


def train(config: Word2VecConfig, corpus: Corpus, run: RunDir) -> Word2Vec:
    """Fit the tokenizer, stream pairs, and train with `fit`; resumes from the run's backup."""
    run = distribute.worker_run(run, config.distribute)
    tokenizer = _fit_tokenizer(config, corpus)
    stream = PairStream(tokenizer, corpus.train, config)
    keras.utils.set_random_seed(config.seed)
    # The loss is a sum over pairs, so replicas' summed gradients are the whole batch's as is.
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        model = SkipGramNegativeSampling(tokenizer.vocabulary_size(), config.dimension, config.arch, config.negatives,
                                         name="word2vec")
        # `fit` runs whole executions of steps_per_execution steps: round the epoch up to them. Under a
        # distribution strategy one step a call: a multi-step call that outruns the pair stream at an
        # epoch's end waits forever for its replicas' batches there.
        per_call = min(config.steps_per_execution if config.distribute == "none" else 1, stream.expected_steps())
        steps = math.ceil(stream.expected_steps() / per_call) * per_call
        # Plain SGD on a summed loss is word2vec's per-pair update; the rate falls linearly to the end.
        model.compile(optimizer=keras.optimizers.SGD(_linear_decay(config, steps * config.epochs)),
                      jit_compile=config.jit_compile, steps_per_execution=per_call)
        if model.jit_compile != config.jit_compile:  # Keras turns XLA off with a mere warning
            raise LmzooError(f"jit_compile={config.jit_compile} was asked for but Keras compiled with {model.jit_compile}",
                             "set --set jit_compile=false to train without XLA")
        cbow = config.arch == "cbow"
        model({"inputs": np.full((1, 2 * config.window) if cbow else (1,), len(SPECIALS), np.int32),
               "targets": np.full((1, (1 if cbow else 2 * config.window) + config.negatives), len(SPECIALS),
                                  np.int32)})  # build before restoring
        epochs = _EpochCounter()
        with run.timed(tokens_per_pass=stream.words, passes=config.epochs):
            model.fit(stream.dataset(epochs), shuffle=False, epochs=config.epochs, steps_per_epoch=steps, verbose=0,
                      callbacks=[epochs, *training_callbacks(run)])
    result = Word2Vec(config, tokenizer, model)
    result.save(run)
    run.write_json("training.json", {"words_per_epoch": stream.words, "expected_steps_per_epoch": steps,
                                     "expected_pairs_per_epoch": round(stream.expected_pairs()),
                                     "steps": int(ops.convert_to_numpy(model.optimizer.iterations)),
                                     "jit_compile": bool(model.jit_compile)})
    run.mark_complete()
    return result


def load(run: RunDir) -> Word2Vec:
    config = from_dict(Word2VecConfig, run.read_config()["config"])
    model = keras.saving.load_model(run.file("word2vec.keras"), safe_mode=True, compile=False)
    return Word2Vec(config, load_tokenizer(run.tokenizer_path), model)


FAMILY = Family(
    name="word2vec",
    summary="Keras skip-gram/CBOW with negative sampling, subsampling and a dynamic window",
    config_cls=Word2VecConfig,
    presets=PRESETS,
    train=train,
    load=load,
)


# The gensim baseline: same sentences, same vocabulary, same hyper-parameters


def _stable_hash(text: str) -> int:
    """gensim seeds each word's initial vector with hashfxn(word + seed); Python's own `hash`
    of a string changes from process to process, so a seed alone would not fix the vectors."""
    return zlib.crc32(text.encode("utf-8"))


class GensimWord2Vec(_VectorsMixin):
    """gensim's Word2Vec vectors behind the same interface (the baseline family).

    Example:
        >>> from lmzoo import load_corpus, train
        >>> import tempfile
        >>> model = train("word2vec-gensim", load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
        >>> model.word_vectors().vector_size
        32
    """

    family = "word2vec-gensim"

    def __init__(self, config: Word2VecConfig, tokenizer: WordTokenizer, vectors: KeyedVectors):
        self.config, self.tokenizer, self.vectors = config, tokenizer, vectors

    def num_params(self) -> int:
        return 2 * self.vectors.vectors.size  # input vectors + gensim's syn1neg

    def word_vectors(self) -> KeyedVectors:
        return self.vectors

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.vectors.save_word2vec_format(str(run.file("vectors.bin")), binary=True)


def gensim_train(config: Word2VecConfig, corpus: Corpus, run: RunDir) -> GensimWord2Vec:
    """Train gensim's Word2Vec on the same words our tokenizer keeps, with the same settings."""
    if config.distribute != "none":
        raise LmzooError(f"word2vec-gensim trains with gensim's threads, not distribute={config.distribute!r}",
                         "use the word2vec family for distributed training, or distribute=none")
    from gensim.models import Word2Vec as GensimModel
    from gensim.models.callbacks import CallbackAny2Vec

    tokenizer = _fit_tokenizer(config, corpus)
    # A list of token lists, as gensim's users feed it (a Python generator re-read every epoch
    # made the baseline 2.4x slower than gensim itself).
    sentences = sentence_words(tokenizer, corpus.train)

    class EpochLog(CallbackAny2Vec):
        def __init__(self) -> None:
            self.start, self.previous, self.epoch = time.perf_counter(), 0.0, 0

        def on_epoch_end(self, model) -> None:
            self.epoch += 1
            total = float(model.get_latest_training_loss())
            # gensim's running tally is float32 and per call (gensim #2735): reported as is.
            run.log_metrics({"epoch": self.epoch, "seconds": time.perf_counter() - self.start,
                             "gensim_loss": total - self.previous})
            self.previous = total

    words = sum(len(s) for s in sentences)
    with run.timed(tokens_per_pass=words, passes=config.epochs):
        model = GensimModel(
            vector_size=config.dimension, window=config.window, negative=config.negatives,
            ns_exponent=config.ns_exponent, sample=config.sample, min_count=config.min_count,
            sg=int(config.arch == "skipgram"), hs=0, cbow_mean=1, alpha=config.learning_rate,
            min_alpha=config.min_learning_rate, epochs=config.epochs, workers=config.workers, seed=config.seed,
            hashfxn=_stable_hash, compute_loss=True,
        )
        # What the constructor does when given sentences, split to keep train()'s word counts.
        model.build_vocab(sentences)
        trained, seen = model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs,
                                    callbacks=[EpochLog()], compute_loss=True)
    result = GensimWord2Vec(config, tokenizer, model.wv)
    result.save(run)
    # `words_seen` counts every word gensim read (all epochs); `words_trained` those left after
    # subsampling. With workers > 1 the threads race: the same seed gives other vectors.
    run.write_json("training.json", {"words_per_epoch": words, "words_seen": int(seen), "words_trained": int(trained),
                                     "workers": config.workers, "reproducible": config.workers == 1})
    run.mark_complete()
    return result


def gensim_load(run: RunDir) -> GensimWord2Vec:
    config = from_dict(Word2VecConfig, run.read_config()["config"])
    vectors = load_vectors(run.file("vectors.bin"), dimension=config.dimension, binary=True)
    return GensimWord2Vec(config, load_tokenizer(run.tokenizer_path), vectors)


GENSIM_FAMILY = Family(
    name="word2vec-gensim",
    summary="gensim Word2Vec with the word2vec family's settings (baseline)",
    config_cls=Word2VecConfig,
    presets=PRESETS,
    train=gensim_train,
    load=gensim_load,
)
