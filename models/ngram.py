"""N-gram language models: vectorised counting, then MLE, add-k, Kneser-Ney or stupid backoff.

Every model, whatever its smoothing (`NGramConfig.smoothing`), is stored in *backoff form*, the form
an ARPA file holds: one log-probability for each n-gram seen in training and one backoff weight for
each context. p(w | h) is the probability of the longest seen n-gram `h' w` (h' a suffix of h) times
the backoff weights of the longer contexts skipped; for interpolated Kneser-Ney the stored
probabilities are the interpolated ones, as SRILM and KenLM write them. Scoring and sampling both go
through `NGramLM._log_probs`, so the sampler draws from the very numbers the scorer reports.
Sentences and vocabulary follow SRILM and KenLM (`sentence_stream`, `NGramLM`). Implements
LanguageModel, Generator and Embedder (PPMI + SVD vectors from the counts); ARPA I/O: `models/arpa.py`.

References: Kneser & Ney 1995; Chen & Goodman 1998 (TR-10-98); Brants et al. 2007 (stupid backoff);
Levy et al. 2015 (PPMI, SVD).

Example:
    >>> from lmzoo.datasets.tokenizers import fit_tokenizer
    >>> tok = fit_tokenizer("word", "a b a b\\nb a\\n", word_split="whitespace")
    >>> lm = NGramLM.from_text(NGramConfig(order=2, smoothing="mle"), tok, "a b a b\\nb a\\n")
    >>> [round(float(p), 3) for p in np.exp(lm.token_log_probs(tok.encode("a b")))]
    [0.5, 0.667, 0.333]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from lmzoo.config import from_dict
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
from lmzoo.models import sampling
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

Smoothing = Literal["mle", "add-k", "kneser-ney", "modified-kneser-ney", "stupid-backoff"]
SMOOTHINGS: tuple[str, ...] = ("mle", "add-k", "kneser-ney", "modified-kneser-ney", "stupid-backoff")
NORMALISED: tuple[str, ...] = SMOOTHINGS[:4]


@dataclass(frozen=True)
class NGramConfig:
    """Settings of an n-gram model.

    Args:
        order: n, the longest n-gram counted (1 is a unigram model).
        smoothing: how counts become the stored backoff form:
            "mle": relative frequency in the longest context seen; unseen words get probability 0,
            so held-out perplexity is usually infinite (that is the point it makes).
            "add-k": (c(h w) + k) / (c(h) + k·V) at the highest order; an unseen context is
            uniform. Laplace is k=1.
            "kneser-ney": interpolated, one discount per order, D = n1 / (n1 + 2 n2).
            "modified-kneser-ney": interpolated, discounts D1, D2, D3+ per order (Chen & Goodman);
            lower orders use continuation counts N1+(• w), except n-grams starting with `<s>`
            (nothing precedes it), and the unigrams are interpolated with the uniform distribution.
            A zero count of counts (tiny corpora) falls back to the single estimate, then 0.5.
            "stupid-backoff": relative frequency, else `backoff_alpha` × the shorter context's score
            (at contexts seen in training); unnormalised, so it generates but has no perplexity.
        add_k: k of "add-k".
        discount: "kneser-ney" only: a fixed D for every order instead of n1 / (n1 + 2 n2).
        backoff_alpha: the factor of "stupid-backoff" (Brants et al. use 0.4).
        tokenizer: "word", "char" or "subword".
        min_count: words seen fewer times in training become `<unk>`.
        embedding_dim: dimension of the PPMI + SVD word vectors.
        embedding_window: their symmetric co-occurrence window, at most order - 1 (distance d
            counts the (d+1)-grams by their first and last word).
        seed: seeds the randomized SVD of the word vectors.

    Example:
        >>> NGramConfig(order=5, smoothing="kneser-ney").order
        5
    """

    order: int = 3
    smoothing: Smoothing = "modified-kneser-ney"
    add_k: float = 1.0
    discount: float | None = None
    backoff_alpha: float = 0.4
    tokenizer: Literal["word", "char", "subword"] = "word"
    min_count: int = 1
    embedding_dim: int = 100
    embedding_window: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise LmzooError(f"order={self.order!r} must be an integer >= 1", "use e.g. --set order=3")
        if self.smoothing not in SMOOTHINGS:
            raise LmzooError(f"unknown smoothing '{self.smoothing}'", f"use one of {', '.join(SMOOTHINGS)}")
        if self.smoothing == "add-k" and not self.add_k > 0:
            raise LmzooError(f"add_k={self.add_k} must be > 0", "use smoothing=mle for k=0")
        if self.discount is not None and (self.smoothing != "kneser-ney" or not 0 < self.discount <= 1):
            raise LmzooError(f"discount={self.discount} needs smoothing=kneser-ney and 0 < discount <= 1",
                             "leave discount unset to estimate it from the counts of counts")
        if not 0 < self.backoff_alpha <= 1:
            raise LmzooError(f"backoff_alpha={self.backoff_alpha} must be in (0, 1]")
        if self.min_count < 1 or self.embedding_dim < 1 or self.embedding_window < 1:
            raise LmzooError("min_count, embedding_dim and embedding_window must be >= 1")


PRESETS = {
    "quick": NGramConfig(order=3, smoothing="modified-kneser-ney", embedding_dim=50),
    "default": NGramConfig(order=3, smoothing="modified-kneser-ney"),
}


def sentence_stream(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert `<s>` before every sentence; return (stream, is_real_token, position_in_sentence).

    A sentence ends after each `</s>` (the word tokenizer appends one per line); when `ids` ends with
    `</s>` a final `<s>` opens the next sentence (the context for generating after it). Position 0 is
    the `<s>` itself. As in SRILM and KenLM, no n-gram crosses a sentence start, and the first word's
    longest context is `<s>` alone (not n-1 copies). With the character tokenizer there is no `</s>`:
    the text is one running sequence after a single `<s>`, and a newline is an ordinary character.

    Example:
        >>> stream, real, pos = sentence_stream(np.array([5, 3, 6]))
        >>> stream.tolist(), real.tolist(), pos.tolist()
        ([2, 5, 3, 2, 6], [False, True, True, False, True], [0, 1, 2, 0, 1])
    """
    ids = np.asarray(ids, dtype=np.int64)
    starts = np.concatenate([[0], np.flatnonzero(ids == EOS) + 1])
    stream = np.insert(ids, starts, BOS)
    bos_at = starts + np.arange(len(starts))
    real = np.ones(len(stream), dtype=bool)
    real[bos_at] = False
    sentence = np.cumsum(~real) - 1
    pos = np.arange(len(stream)) - bos_at[sentence]
    return stream, real, pos


def discount_table(used: np.ndarray, modified: bool) -> np.ndarray:
    """Discounts for counts 0, 1, 2, 3+ from the counts of counts (Chen & Goodman, eq. 26).

    Y = n1 / (n1 + 2 n2); D_c = c - (c + 1) Y n_{c+1} / n_c for modified KN, else D = Y.

    Example:
        >>> discount_table(np.array([1, 1, 1, 1, 2, 2, 3, 4]), modified=True).tolist()
        [0.0, 0.5, 1.25, 1.0]
    """
    n = [int(np.count_nonzero(used == i)) for i in range(1, 5)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] > 0 and n[1] > 0 else 0.5
    if not modified or min(n) == 0:
        return np.array([0.0, y, y, y])
    d = [i - (i + 1) * y * n[i] / n[i - 1] for i in (1, 2, 3)]
    return np.array([0.0, *(max(0.0, x) for x in d)])


class Level(NamedTuple):
    """One order k of a walk: target positions `at`, their (k-1)-gram context rows, their k-gram rows."""

    at: np.ndarray
    contexts: np.ndarray
    rows: np.ndarray


class NGramLM:
    """An n-gram language model in backoff form, fitted by counting or read from ARPA.

    Tables are stored per order k as sorted int64 keys `parent_index * V + word`, where
    `parent_index` is the row of the (k-1)-gram context in the order k-1 table (order 1 is dense:
    key = word id), with a log-probability (nats) for each row and a log backoff weight for each
    row used as a context. Lookups go through a hash index per order (`KeyIndex`, built at the
    first lookup) over whole arrays of positions.
    `</s>` is predicted and counted; `<s>` and `<pad>` are never predicted; `<unk>` is an ordinary
    word. The predicted vocabulary is every id except `<pad>` and `<s>` (the PTB convention of
    ../shared/corpora/README.md).

    Example:
        >>> from lmzoo.datasets.tokenizers import fit_tokenizer
        >>> tok = fit_tokenizer("word", "a b a b\\nb a\\n", word_split="whitespace")
        >>> lm = NGramLM.from_text(NGramConfig(order=2), tok, "a b a b\\nb a\\n")
        >>> round(float(np.exp(lm.next_log_probs(tok.encode("a")[:1])).sum()), 6)
        1.0
    """

    family = "ngram"
    export_formats = ("arpa",)

    def __init__(
        self,
        config: NGramConfig,
        tokenizer: VocabularyTokenizer,
        keys: list[np.ndarray],
        log_probs: list[np.ndarray],
        log_backoffs: list[np.ndarray],
        counts: list[np.ndarray] | None = None,
    ):
        if not len(keys) == len(log_probs) == len(log_backoffs) == config.order:
            raise LmzooError(f"n-gram tables hold {len(keys)} orders but the config says order={config.order}")
        self.config, self.tokenizer = config, tokenizer
        self.vocab_size = tokenizer.vocabulary_size()
        self.keys, self.log_probs, self.log_backoffs, self.counts = keys, log_probs, log_backoffs, counts
        self._vectors: KeyedVectors | None = None

    # ------------------------------------------------------------------ fitting
    @classmethod
    def from_text(cls, config: NGramConfig, tokenizer: VocabularyTokenizer, text: str) -> NGramLM:
        """Count and smooth the n-grams of `text` (encoded with `tokenizer`)."""
        return cls.from_ids(config, tokenizer, tokenizer.encode(text))

    @classmethod
    def from_ids(cls, config: NGramConfig, tokenizer: VocabularyTokenizer, ids: Sequence[int]) -> NGramLM:
        """Count and smooth the n-grams of an id sequence."""
        ids = np.asarray(ids, dtype=np.int64)
        if not np.any((ids != BOS) & (ids != PAD)):
            raise LmzooError("the training text is empty (no tokens to count)", "give a corpus with text in its train split")
        vocab_size = tokenizer.vocabulary_size()
        keys, counts, suffixes = count_ngrams(ids, config.order, vocab_size)
        log_probs, log_backoffs = estimate(keys, counts, suffixes, config, vocab_size)
        return cls(config, tokenizer, keys, log_probs, log_backoffs, counts)

    def num_params(self) -> int:
        """Stored numbers: one probability per n-gram plus one backoff weight per context."""
        contexts = sum(int(np.count_nonzero(b)) for b in self.log_backoffs)
        return sum(len(p) for p in self.log_probs) + contexts

    # ------------------------------------------------------------------ lookups and scoring
    @functools.cached_property
    def indexes(self) -> list[KeyIndex | None]:
        """A hash index per order, built at the first lookup (order 1 is dense: None)."""
        return [None] + [KeyIndex(keys, self.vocab_size) for keys in self.keys[1:]]

    def _lookup(self, order: int, parent: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Row of each (context row `parent`, word) in the order-`order` table, or -1."""
        return self.indexes[order - 1].rows(parent, words)

    def _walk(self, stream: np.ndarray, pos: np.ndarray, upto: int) -> list[Level]:
        """The n-grams of `stream` for k = 2..upto, one `Level` each, shortest first.

        Level k holds the positions t whose (k-1)-gram context (ending at t-1, not crossing `<s>`)
        was seen in training, that context's row, and the row of the k-gram ending at t (-1 if
        unseen). Only the positions whose context was seen are looked up, so each order searches
        fewer than the one before (at order 5 on PTB test, 15% of the tokens).
        """
        levels = []
        at = np.flatnonzero(pos > 0)
        context = stream[at - 1]  # order 1 is dense: the row of a 1-gram is its word id
        after = np.append(pos, 0)  # past the end, as at a sentence start, no n-gram continues
        for k in range(2, upto + 1):
            rows = self._lookup(k, context, stream[at])
            levels.append(Level(at, context, rows))
            seen = np.flatnonzero(rows >= 0)
            at, context = at[seen] + 1, rows[seen]
            inside = np.flatnonzero(after[at] > 0)
            at, context = at[inside], context[inside]
        return levels

    def _log_probs(self, words: np.ndarray, levels: list[Level]) -> np.ndarray:
        """log p(words[t] | its context) in nats, the one formula behind scoring and sampling.

        `levels[k-2]` (k = 2..order) names the targets t whose (k-1)-gram context was seen, that
        context's row and the row of the k-gram (context, word). The longest seen n-gram gives the
        probability; each longer seen context skipped on the way down adds its log backoff weight.
        """
        out = self.log_probs[0][words]
        longest = np.ones(len(words), dtype=np.int64)  # order 1 is always seen: its table is dense
        for k, level in enumerate(levels, 2):
            seen = np.flatnonzero(level.rows >= 0)
            out[level.at[seen]] = self.log_probs[k - 1][level.rows[seen]]
            longest[level.at[seen]] = k
        backoff = np.zeros(len(words))
        with np.errstate(invalid="ignore"):
            for k in range(len(levels) + 1, 1, -1):  # longest context first
                level = levels[k - 2]
                skipped = np.flatnonzero(longest[level.at] < k)
                backoff[level.at[skipped]] += self.log_backoffs[k - 2][level.contexts[skipped]]
            return out + backoff

    def _check_ids(self, ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise LmzooError(f"token id out of range 0..{self.vocab_size - 1}", "encode text with this model's tokenizer")
        return ids

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(ids[i] | ids[:i]) in nats; a new sentence (context `<s>`) starts after each `</s>`.

        Example:
            >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
            >>> lm = NGramLM.from_text(NGramConfig(order=2, smoothing="mle"), tok, "a b\\n")
            >>> np.exp(lm.token_log_probs(tok.encode("a b"))).tolist()
            [1.0, 1.0, 1.0]
        """
        if self.config.smoothing == "stupid-backoff":
            raise LmzooError("stupid backoff is unnormalised; it has no perplexity",
                             "use kneser-ney or modified-kneser-ney to score text (stupid backoff can still generate)")
        ids = self._check_ids(ids)
        if len(ids) == 0:
            return np.zeros(0)
        stream, real, pos = sentence_stream(ids)
        return self._log_probs(stream, self._walk(stream, pos, self.config.order))[real]

    def next_log_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """log p(w | prefix) for every id w (nats); `<pad>` and `<s>` get -inf.

        Stupid backoff's scores are renormalised here so that they can be sampled.
        """
        ids = self._check_ids(prefix)
        eos = np.flatnonzero(ids == EOS)
        ids = ids[eos[-1] + 1:] if len(eos) else ids  # only the current sentence matters
        stream, _, pos = sentence_stream(ids)
        contexts = [stream[-1]]  # the rows of the 1-, 2-, ... grams that end the prefix, while seen
        for level in self._walk(stream, pos, self.config.order - 1):
            if not (len(level.at) and level.at[-1] == len(stream) - 1 and level.rows[-1] >= 0):
                break
            contexts.append(level.rows[-1])
        words = np.arange(self.vocab_size, dtype=np.int64)
        levels = []
        for k, context in enumerate(contexts[: self.config.order - 1], 2):
            parent = np.full(self.vocab_size, context)
            levels.append(Level(words, parent, self._lookup(k, parent, words)))
        log_probs = self._log_probs(words, levels)
        if self.config.smoothing == "stupid-backoff":
            finite = log_probs[np.isfinite(log_probs)]
            log_probs = log_probs - (finite.max() + np.log(np.exp(finite - finite.max()).sum()))
        return log_probs

    def longest_match(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For each token: the order of the longest n-gram ending at it that was seen in training,
        and the longest order it could have (capped by the sentence start and the model order).

        Example:
            >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
            >>> lm = NGramLM.from_text(NGramConfig(order=3), tok, "a b\\n")
            >>> [m.tolist() for m in lm.longest_match(tok.encode("b a"))]
            [[1, 1, 1], [2, 3, 3]]
        """
        ids = self._check_ids(ids)
        stream, real, pos = sentence_stream(ids)
        # the unigram table is dense: a word is seen when it was counted (or, read from ARPA, has mass)
        seen = self.counts[0][stream] > 0 if self.counts is not None else np.isfinite(self.log_probs[0][stream])
        matched = seen.astype(np.int64)
        for k, level in enumerate(self._walk(stream, pos, self.config.order), 2):
            matched[level.at[level.rows >= 0]] = k
        return matched[real], np.minimum(pos[real] + 1, self.config.order)

    def unseen_share(self, ids: Sequence[int]) -> dict[int, float]:
        """Share of the n-grams of `ids` never seen in training, for each order 1..order.

        An order-k n-gram exists at a token when the sentence gives it k-1 words of context
        (`<s>` counts as one); the share is taken over those tokens.

        Example:
            >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
            >>> NGramLM.from_text(NGramConfig(order=2), tok, "a b\\n").unseen_share(tok.encode("a a"))
            {1: 0.0, 2: 0.6666666666666666}
        """
        matched, possible = self.longest_match(ids)
        out = {}
        for k in range(1, self.config.order + 1):
            has = possible >= k
            out[k] = float(np.mean(matched[has] < k)) if has.any() else math.nan
        return out

    # ------------------------------------------------------------------ generation
    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **options: Any) -> list[str]:
        """Continue `prompt` until `</s>` or `max_length` new tokens.

        Example:
            >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
            >>> NGramLM.from_text(NGramConfig(order=2), tok, "a b\\n").generate("a", max_length=5)
            ['b\\n']
        """
        ids = encode_prompt(self.tokenizer, prompt)  # continued, not closed with </s>
        news = sampling.generate(self.next_log_probs, ids, max_new_tokens=max_length, eos_id=EOS, sampler=sampler,
                                 num_return_sequences=num_return_sequences, seed=seed, **options)
        return [self.tokenizer.decode(new) for new in news]

    # ------------------------------------------------------------------ embeddings
    def ngram_tokens(self, order: int) -> np.ndarray:
        """The word ids of every row of the order-`order` table, shape (rows, order).

        Example:
            >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
            >>> NGramLM.from_text(NGramConfig(order=2), tok, "a b\\n").ngram_tokens(2).tolist()  # <s> a, a b, b </s>
            [[2, 4], [4, 5], [5, 3]]
        """
        tokens = np.arange(self.vocab_size, dtype=np.int64)[:, None]
        for k in range(2, order + 1):
            keys = self.keys[k - 1]
            tokens = np.column_stack([tokens[keys // self.vocab_size], keys % self.vocab_size])
        return tokens

    def word_vectors(self) -> KeyedVectors:
        """PPMI + truncated SVD word vectors from the n-gram counts (a count-based baseline).

        Co-occurrence at distance d (1..embedding_window, at most order-1) is the count of the
        (d+1)-grams by their first and last word, both directions. PPMI uses context-distribution
        smoothing 0.75; vectors are U·sqrt(S) (Levy et al. 2015). Special tokens are left out.
        """
        if self._vectors is not None:
            return self._vectors
        from gensim.models import KeyedVectors
        from scipy import sparse

        if self.counts is None:
            raise LmzooError("this n-gram model has no counts (it was read from ARPA)", "train it with `lmzoo train ngram`")
        window = min(self.config.embedding_window, self.config.order - 1)
        if window < 1:
            raise LmzooError("an order-1 model has no co-occurrence counts for word vectors", "train with order >= 2")
        rows, cols, vals = [], [], []
        for k in range(2, window + 2):
            tokens = self.ngram_tokens(k)
            first, last, count = tokens[:, 0], tokens[:, -1], self.counts[k - 1]
            keep = (first > EOS) & (last > EOS)
            rows += [first[keep], last[keep]]
            cols += [last[keep], first[keep]]
            vals += [count[keep], count[keep]]
        size = self.vocab_size
        matrix = sparse.csr_matrix((np.concatenate(vals).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(size, size))
        words = np.flatnonzero(np.asarray(matrix.sum(axis=1)).ravel() > 0)
        if len(words) < 3:
            raise LmzooError(f"only {len(words)} words co-occur in the training counts", "train on more text")
        matrix = matrix[words][:, words].tocoo()
        total = matrix.sum()
        row_p = np.asarray(matrix.sum(axis=1)).ravel() / total
        smoothed = np.asarray(matrix.sum(axis=0)).ravel() ** 0.75
        col_p = smoothed / smoothed.sum()
        pmi = np.log(matrix.data / total) - np.log(row_p[matrix.row]) - np.log(col_p[matrix.col])
        ppmi = sparse.csr_matrix((np.maximum(pmi, 0.0), (matrix.row, matrix.col)), shape=matrix.shape)
        dim = min(self.config.embedding_dim, len(words) - 2)
        u, s = randomized_svd(ppmi, dim, seed=self.config.seed)
        vectors = (u * np.sqrt(s)).astype(np.float32)
        keyed = KeyedVectors(dim)
        keyed.add_vectors([self.tokenizer.id_to_token(int(i)) for i in words], vectors)
        self._vectors = keyed
        return keyed

    # ------------------------------------------------------------------ saving
    def arrays(self) -> dict[str, np.ndarray]:
        """All tables as named arrays (what `save` writes to ngram.npz)."""
        out = {}
        for k in range(1, self.config.order + 1):
            out[f"keys_{k}"] = self.keys[k - 1]
            out[f"log_probs_{k}"] = self.log_probs[k - 1]
            out[f"log_backoffs_{k}"] = self.log_backoffs[k - 1]
            if self.counts is not None:
                out[f"counts_{k}"] = self.counts[k - 1]
        return out

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        np.savez(run.file("ngram.npz"), **self.arrays())

    def export(self, format: str, path: Path) -> None:
        """Write the model in an interchange format; only "arpa" (log10, backoff form)."""
        if format not in self.export_formats:
            raise LmzooError(f"unknown export format '{format}'", f"valid: {', '.join(self.export_formats)}")
        from lmzoo.models.arpa import write_arpa

        write_arpa(self, path)


def _orthonormal(columns: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the columns by CholeskyQR2 (two Gram-matrix passes).

    Only matrix products and a small `eigh`: LAPACK's QR ran 5-10x slower on this shared machine.
    """
    for _ in range(2):
        values, vectors = np.linalg.eigh(columns.T @ columns)
        values = np.maximum(values, values.max() * 1e-12)
        columns = columns @ (vectors / np.sqrt(values))
    return columns


def randomized_svd(matrix: Any, rank: int, seed: int = 0, oversample: int = 10, power_iterations: int = 2
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Top-`rank` left singular vectors and values of a (sparse) matrix (Halko et al. 2011).

    A random range finder with power iterations, deterministic for a given seed: well under a
    second for a 7,000-word PPMI matrix where ARPACK's `svds` took 10-20 s here.

    Example:
        >>> u, s = randomized_svd(np.diag([5.0, 3.0, 1.0, 0.5]), rank=2)
        >>> s.round(6).tolist(), np.abs(u[:, 0]).round(6).tolist()
        ([5.0, 3.0], [1.0, 0.0, 0.0, 0.0])
    """
    rng = np.random.default_rng(seed)
    basis = _orthonormal(matrix @ rng.standard_normal((matrix.shape[1], min(rank + oversample, matrix.shape[1]))))
    for _ in range(power_iterations):  # sharpen the spectrum, re-orthonormalising each time
        basis = _orthonormal(matrix @ _orthonormal(matrix.T @ basis))
    small = np.asarray((matrix.T @ basis).T)  # basis.T @ matrix, (rank + oversample) x columns
    values, vectors = np.linalg.eigh(small @ small.T)  # left singular vectors of the small matrix
    top = np.argsort(-values)[:rank]
    return basis @ vectors[:, top], np.sqrt(np.maximum(values[top], 0.0))


class KeyIndex:
    """A hash index over one order's sorted n-gram keys: the row of each (context row, word) key.

    Open addressing with linear probing, as KenLM's probing tables, over 2-4 slots per key (a power
    of two; Fibonacci hashing, Knuth §6.4). Built vectorised: the keys of home slot h fill the run of
    free slots from start[h] = max(h, end of run h-1), so the table never wraps and ends in an empty
    slot. A lookup probes every query at once, one gather a round. It replaced `np.searchsorted`
    over the sorted keys, about 5x slower on PTB test.

    Example:
        >>> index = KeyIndex(np.array([7, 12]), vocab_size=5)
        >>> index.rows(np.array([1, 2, -1]), np.array([2, 2, 2])).tolist()
        [0, 1, -1]
    """

    MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / the golden ratio

    def __init__(self, keys: np.ndarray, vocab_size: int):
        self.vocab_size = vocab_size
        bits = max(int(2 * len(keys)).bit_length(), 1)
        self.shift = np.uint64(64 - bits)
        home = self._home(keys)
        counts = np.bincount(home, minlength=1 << bits)
        before = np.cumsum(counts) - counts  # keys of lower home slots
        start = before + np.maximum.accumulate(np.arange(len(counts)) - before)
        # One row per slot, (key, row): a probe reads both from one cache line. -1 marks an empty slot.
        self.slots = np.full((int(start[-1] + counts[-1]) + 1, 2), -1, dtype=np.int64)
        # Each round places one key of every home slot still holding some (the one whose write won).
        pending, claim, offset = np.arange(len(keys)), np.full(len(counts), -1, dtype=np.int64), 0
        while len(pending):
            claim[home[pending]] = pending
            won = claim[home[pending]] == pending
            slot = start[home[pending[won]]] + offset
            self.slots[slot, 0], self.slots[slot, 1] = keys[pending[won]], pending[won]
            pending, offset = pending[~won], offset + 1

    def _home(self, keys: np.ndarray) -> np.ndarray:
        unsigned = np.asarray(keys, dtype=np.int64).view(np.uint64)  # keys >= 0: the same bits
        return ((unsigned * self.MULTIPLIER) >> self.shift).view(np.int64)

    def rows(self, parent: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Row of each (`parent` row, word) key in the table, -1 where absent or `parent` < 0."""
        if len(parent) and parent.min() < 0:  # an unseen context has no n-grams: look up only the rest
            out = np.full(len(words), -1, dtype=np.int64)
            known = np.flatnonzero(parent >= 0)
            out[known] = self.rows(parent[known], words[known])
            return out
        query = np.asarray(parent, dtype=np.int64) * self.vocab_size + words  # int64: keys pass 2^31
        slot = self._home(query)
        # The first probe, which every query takes, is written out: 15% faster than compressing
        # every array in the loop below. 2-d fancy indexing is 20x slower than `take`.
        stored = self.slots.take(slot, axis=0)
        out = np.where(stored[:, 0] == query, stored[:, 1], -1)
        probe = np.flatnonzero((out < 0) & (stored[:, 0] >= 0))  # an empty slot ends a probe: the key is absent
        query, slot = query[probe], slot[probe] + 1
        while len(probe):
            stored = self.slots.take(slot, axis=0)
            hit = stored[:, 0] == query
            out[probe[hit]] = stored[hit, 1]
            again = ~hit & (stored[:, 0] >= 0)
            probe, query, slot = probe[again], query[again], slot[again] + 1
        return out


def count_ngrams(ids: np.ndarray, order: int, vocab_size: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Count every n-gram of order 1..`order` of `ids` with `np.unique` over int64 keys.

    Returns per order: sorted keys (`parent_row * V + word`; order 1 is `arange(V)`), raw counts,
    and the row of each n-gram's suffix (its last k-1 words) in the order k-1 table (order 1: empty).

    Example:
        >>> keys, counts, suffixes = count_ngrams(np.array([5, 5, 3]), order=2, vocab_size=6)
        >>> [divmod(int(k), 6) for k in keys[1]], counts[1].tolist()  # (<s>, 5), (5, </s>), (5, 5)
        ([(2, 5), (5, 3), (5, 5)], [1, 1, 1])
    """
    stream, _, pos = sentence_stream(ids)
    keys = [np.arange(vocab_size, dtype=np.int64)]
    counts = [np.bincount(stream, minlength=vocab_size).astype(np.int64)]
    suffixes = [np.zeros(0, dtype=np.int64)]
    previous = stream  # row of the (k-1)-gram ending at each position; order 1 rows are ids
    for k in range(2, order + 1):
        parent = np.concatenate([[-1], previous[:-1]])
        valid = (pos + 1 >= k) & (parent >= 0)
        unique, inverse, count = np.unique(parent[valid] * vocab_size + stream[valid], return_inverse=True, return_counts=True)
        suffix = np.empty(len(unique), dtype=np.int64)
        suffix[inverse] = previous[valid]
        rows = np.full(len(stream), -1, dtype=np.int64)
        rows[valid] = inverse
        keys.append(unique)
        counts.append(count.astype(np.int64))
        suffixes.append(suffix)
        previous = rows
    return keys, counts, suffixes


def estimate(
    keys: list[np.ndarray], counts: list[np.ndarray], suffixes: list[np.ndarray], config: NGramConfig, vocab_size: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Smoothed log-probabilities of every counted n-gram and log backoff weights of every context.

    Example:
        >>> tables = count_ngrams(np.array([4, 5, 3, 4, 3]), order=2, vocab_size=6)
        >>> log_probs, _ = estimate(*tables, NGramConfig(order=2, smoothing="mle"), vocab_size=6)
        >>> np.exp(log_probs[0]).round(2).tolist()  # unigram MLE: <unk> 0, </s> 2/5, w4 2/5, w5 1/5
        [0.0, 0.0, 0.0, 0.4, 0.4, 0.2]
    """
    order, smoothing = config.order, config.smoothing
    predicted = np.ones(vocab_size, dtype=bool)
    predicted[[PAD, BOS]] = False
    n_predicted = int(predicted.sum())
    parents = [np.zeros(vocab_size, dtype=np.int64)] + [k // vocab_size for k in keys[1:]]
    first = [np.arange(vocab_size, dtype=np.int64)]
    for k in range(2, order + 1):
        first.append(first[-1][parents[k - 1]])
    kneser_ney = smoothing in ("kneser-ney", "modified-kneser-ney")
    probs: list[np.ndarray] = []
    log_backoffs: list[np.ndarray] = []
    for k in range(1, order + 1):
        used = counts[k - 1].astype(np.float64)
        if kneser_ney and k < order:
            continuation = np.bincount(suffixes[k], minlength=len(keys[k - 1])).astype(np.float64)
            used = np.where(first[k - 1] == BOS, used, continuation)
        if k == 1:
            used[~predicted] = 0.0
        parent = parents[k - 1]
        n_contexts = 1 if k == 1 else len(keys[k - 2])
        total = np.bincount(parent, weights=used, minlength=n_contexts)
        seen = total > 0
        lower = np.where(predicted, 1.0 / n_predicted, 0.0) if k == 1 else probs[-1][suffixes[k - 1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            if smoothing in ("mle", "stupid-backoff"):
                prob = used / total[parent]
                backoff = np.where(seen, 0.0 if smoothing == "mle" else config.backoff_alpha, 1.0)
            elif smoothing == "add-k":
                if k == order:
                    denominator = total + config.add_k * n_predicted
                    prob = (used + config.add_k) / denominator[parent]
                    backoff = config.add_k * n_predicted / denominator
                else:  # lower orders only serve contexts never seen: uniform
                    prob = np.full(len(used), 1.0 / n_predicted)
                    backoff = np.ones(n_contexts)
            else:
                if smoothing == "kneser-ney" and config.discount is not None:
                    table = np.array([0.0, config.discount, config.discount, config.discount])
                else:
                    table = discount_table(used, modified=smoothing == "modified-kneser-ney")
                discount = np.minimum(table[np.minimum(used, 3).astype(np.int64)], used)
                mass = np.bincount(parent, weights=discount, minlength=n_contexts)
                prob = (used - discount + mass[parent] * lower) / total[parent]
                backoff = np.where(seen, mass / np.where(seen, total, 1.0), 1.0)
        if k == 1:
            prob = np.where(predicted, prob, 0.0)
        else:
            with np.errstate(divide="ignore"):
                log_backoffs.append(np.log(backoff))
        probs.append(prob)
    log_backoffs.append(np.zeros(len(keys[-1])))
    with np.errstate(divide="ignore"):
        log_probs = [np.log(p) for p in probs]
    return log_probs, log_backoffs


def train(config: NGramConfig, corpus: Corpus, run: RunDir) -> NGramLM:
    """Fit the tokenizer on the train split, count and smooth, save to the run directory."""
    options = {"min_count": config.min_count} if config.tokenizer != "subword" else {}
    tokenizer = fit_tokenizer(config.tokenizer, corpus.train, word_split=corpus.word_split, **options)
    with run.timed() as timing:
        ids = tokenizer.encode(corpus.train)
        model = NGramLM.from_ids(config, tokenizer, ids)
        timing["tokens_seen"] = len(ids)
    model.save(run)
    run.mark_complete()
    return model


def load(run: RunDir) -> NGramLM:
    """Rebuild a trained n-gram model from its run directory."""
    config = from_dict(NGramConfig, run.read_config()["config"])
    path = run.file("ngram.npz")
    if not path.exists():
        raise LmzooError(f"'{path}' is missing", "retrain the run with `lmzoo train ngram`")
    with np.load(path, allow_pickle=False) as data:
        tables = {name: [data[f"{name}_{k}"] for k in range(1, config.order + 1)]
                  for name in ("keys", "log_probs", "log_backoffs")}
        counts = [data[f"counts_{k}"] for k in range(1, config.order + 1)] if "counts_1" in data else None
    return NGramLM(config, load_tokenizer(run.tokenizer_path), tables["keys"], tables["log_probs"],
                   tables["log_backoffs"], counts)


FAMILY = Family(
    name="ngram",
    summary="count-based n-gram LM: MLE, add-k, (modified) Kneser-Ney, stupid backoff; ARPA export",
    config_cls=NGramConfig,
    presets=PRESETS,
    train=train,
    load=load,
)
