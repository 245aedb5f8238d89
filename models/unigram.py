"""Unigram language model with add-k smoothing: the baseline that proves the harness.

p(w) = (count(w) + k) / (N + k·V), over the tokenizer's vocabulary without `<pad>` and `<s>`
(so `</s>` and `<unk>` are predicted like any word). It ignores context entirely, which is
exactly why every real model must beat it.

Implements: LanguageModel, Generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lmzoo.config import from_dict
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
from lmzoo.models import sampling
from lmzoo.protocols import Family
from lmzoo.runs import RunDir


@dataclass(frozen=True)
class UnigramConfig:
    """Settings of the unigram model.

    Args:
        add_k: k of add-k smoothing, (count(w) + k) / (N + k·V); 0 is the MLE.
        tokenizer: "word", "char" or "subword".
        min_count: words seen fewer times in training become `<unk>`.
        seed: recorded with the run (`--seed`); fitting a unigram model draws nothing at random.

    Example:
        >>> UnigramConfig(add_k=0.5).add_k
        0.5
    """

    add_k: float = 1.0
    tokenizer: Literal["word", "char", "subword"] = "word"
    min_count: int = 1
    seed: int = 0

    def validate(self) -> None:
        if self.add_k < 0:
            raise LmzooError(f"add_k={self.add_k} must be >= 0")


PRESETS = {"quick": UnigramConfig(), "default": UnigramConfig()}


class UnigramLM:
    """Add-k unigram probabilities over a fitted tokenizer.

    Example:
        >>> from lmzoo.datasets.tokenizers import fit_tokenizer
        >>> tokenizer = fit_tokenizer("word", "a a b\\n")
        >>> model = UnigramLM(UnigramConfig(add_k=0.0), tokenizer, np.array([0, 0, 0, 1, 2, 1]))
        >>> [round(float(p), 3) for p in np.exp(model.token_log_probs(tokenizer.encode("a b")))]
        [0.5, 0.25, 0.25]
    """

    family = "unigram"

    def __init__(self, config: UnigramConfig, tokenizer: VocabularyTokenizer, counts: np.ndarray):
        self.config, self.tokenizer, self.counts = config, tokenizer, counts
        weights = counts.astype(np.float64) + config.add_k
        weights[[PAD, BOS]] = 0.0  # never predicted
        with np.errstate(divide="ignore"):
            self.log_probs = np.log(weights / weights.sum())

    def num_params(self) -> int:
        return int(len(self.counts))

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        return self.log_probs[np.asarray(ids, dtype=np.int64)]

    def next_log_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """The same distribution after any prefix: a unigram model has no context."""
        return self.log_probs

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **options) -> list[str]:
        ids = self.tokenizer.encode(prompt)
        news = sampling.generate(self.next_log_probs, ids, max_new_tokens=max_length, eos_id=EOS,
                                 sampler=sampler, num_return_sequences=num_return_sequences, seed=seed, **options)
        return [self.tokenizer.decode(new) for new in news]

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        np.savez(run.file("unigram.npz"), counts=self.counts)


def train(config: UnigramConfig, corpus: Corpus, run: RunDir) -> UnigramLM:
    tokenizer = fit_tokenizer(config.tokenizer, corpus.train, word_split=corpus.word_split,
                              **({"min_count": config.min_count} if config.tokenizer != "subword" else {}))
    with run.timed() as timing:
        ids = np.asarray(tokenizer.encode(corpus.train), dtype=np.int64)
        counts = np.bincount(ids, minlength=tokenizer.vocabulary_size())
        timing["tokens_seen"] = len(ids)
    model = UnigramLM(config, tokenizer, counts)
    model.save(run)
    run.mark_complete()
    return model


def load(run: RunDir) -> UnigramLM:
    config = from_dict(UnigramConfig, run.read_config()["config"])
    with np.load(run.file("unigram.npz"), allow_pickle=False) as data:
        counts = data["counts"]
    return UnigramLM(config, load_tokenizer(run.tokenizer_path), counts)


FAMILY = Family(
    name="unigram",
    summary="unigram baseline with add-k smoothing (proves the harness)",
    config_cls=UnigramConfig,
    presets=PRESETS,
    train=train,
    load=load,
)
