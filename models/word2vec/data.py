"""Corpus statistics and the pair stream: subsampling, dynamic windows, noise words, batches in numpy.

The rules follow word2vec.c and gensim 4: words below `min_count` are dropped from the sentences
before windows are taken; word w is kept with probability (sqrt(f/t) + 1)·t/f, where f is its count
and t = sample × (total count); each centre draws its window reach uniformly from 1..window; noise
words come from unigram^0.75 by the alias method, and one equal to the positive target is not
counted as a negative (gensim skips it too).
`PairStream` turns a chunk of about 32k words at a time into one array of batches, and
`tf.data.Dataset.from_generator` prefetches those arrays in a background thread while the steps run,
so the pairs of the whole corpus are never held in memory (the corpus is kept once, as int32 ids).
Lines longer than `MAX_SENTENCE_WORDS` are cut into pieces first: gensim silently drops the words
of a text past 10,000, and the stream's memory is bounded by its chunk only if no line is longer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import keras
import numpy as np

from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    EOS,
    PAD,
    SPECIALS,
    WordTokenizer,
    fit_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models.word2vec.config import CHUNK_TOKENS, MAX_SENTENCE_WORDS, Word2VecConfig

if TYPE_CHECKING:
    import tensorflow as tf


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


def window_examples(ids: np.ndarray, sentence: np.ndarray, reach: np.ndarray, window: int,
                    context_reach: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each centre with its window: a (n, 2·window) context matrix padded with `<pad>`, and centres.

    The same (centre, context) pairs as `skipgram_pairs`, grouped by centre; CBOW predicts the
    centre from the row, skip-gram predicts every word of the row from the centre. Centres with
    no context word in their line are skipped. With `context_reach` a word at distance d joins
    the row when its own reach is >= d rather than the centre's: the pairs of `skipgram_pairs`
    with centre and context swapped.

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
        valid = inside & (sentence[j] == sentence) & ((reach[j] if context_reach else reach) >= abs(d))
        columns.append(np.where(valid, ids[j], PAD))
    context = np.stack(columns, axis=1).astype(np.int32) if columns else np.zeros((0, 0), np.int32)
    has_context = (context != PAD).any(axis=1)
    return context[has_context], ids[has_context]


class _EpochCounter(keras.callbacks.Callback):
    """Tells the stream which epoch `fit` is on (also after a resume), so each epoch differs."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


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
    def rows_by_predicted(self) -> bool:
        """A row is a predicted word (the centre) and its window of inputs: CBOW, or skipgram_rows=predicted."""
        return self.config.arch == "cbow" or self.config.skipgram_rows == "predicted"

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
        contexts, centres = window_examples(ids, sentence, reach, window, context_reach=self.config.reach_of == "context")
        inputs, words = (contexts, centres) if self.rows_by_predicted else (centres, contexts)
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
        size = self.config.batch_size
        rng = np.random.default_rng([self.config.seed, first_epoch, 1])  # the noise stream
        left_inputs, left_words = None, None
        for epoch in itertools.count(first_epoch):
            for inputs, words in self.epoch_examples(epoch):
                if left_words is not None:
                    inputs, words = np.concatenate([left_inputs, inputs]), np.concatenate([left_words, words])
                n = len(words) // size
                if n:
                    true_words = words[: n * size].reshape(n, size, -1)
                    noise = self.negatives(rng, (n, size, self.noise_per_row(true_words.shape[2])))
                    yield {"inputs": inputs[: n * size].reshape(n, size, *inputs.shape[1:]),
                           "targets": np.concatenate([true_words, noise], axis=2)}
                left_inputs, left_words = inputs[n * size :], words[n * size :]

    def noise_per_row(self, true_words: int) -> int:
        """k noise words shared by a row's pairs, or k for each of its `true_words` slots."""
        return self.config.negatives * (1 if self.config.shared_noise else true_words)

    def batches(self, first_epoch: int = 0) -> Iterator[dict[str, np.ndarray]]:
        """The batches of `blocks`, one at a time."""
        for block in self.blocks(first_epoch):
            for i in range(len(block["targets"])):
                yield {name: value[i] for name, value in block.items()}

    def dataset(self, epoch_source: _EpochCounter) -> tf.data.Dataset:
        """A tf.data pipeline over `blocks`, prefetched so the numpy work overlaps the steps."""
        import tensorflow as tf

        size, window = self.config.batch_size, 2 * self.config.window
        by_predicted = self.rows_by_predicted
        true_words = 1 if by_predicted else window
        signature = {"inputs": tf.TensorSpec((None, size, window) if by_predicted else (None, size), tf.int32),
                     "targets": tf.TensorSpec((None, size, true_words + self.noise_per_row(true_words)), tf.int32)}
        # The generator starts when fit first asks for data, so a resumed run starts at its epoch.
        # One generator call per chunk (tens of batches), not per batch: the Python handoff
        # per element is what from_generator costs.
        blocks = tf.data.Dataset.from_generator(lambda: self.blocks(epoch_source.epoch), output_signature=signature)
        return blocks.prefetch(2).unbatch().prefetch(2 * self.config.steps_per_execution)


def fit_word_tokenizer(config: Word2VecConfig, corpus: Corpus) -> WordTokenizer:
    # An empty vocabulary raises LmzooError here, saying how many distinct words min_count dropped.
    return fit_tokenizer("word", corpus.train, word_split=corpus.word_split, min_count=config.min_count,
                         lowercase=config.lowercase)
