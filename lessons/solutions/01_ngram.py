"""Solution to lesson 01's build-it exercise: an interpolated (Jelinek-Mercer) word bigram, p(w | v) =
λ c(v w) / c(v) + (1 - λ) p_add-k(w), with λ and k chosen on the validation text, checked with
`lmzoo.lesson.check_bigram` against the library's add-0.01 bigram on lee's test text. The tests run it."""

import math

import numpy as np

from lmzoo.datasets import fit_tokenizer, load_corpus
from lmzoo.datasets.tokenizers import BOS, PAD
from lmzoo.lesson import check_bigram
from lmzoo.models.ngram import NGramConfig, NGramLM, sentence_stream

corpus = load_corpus("lee")
tokenizer = fit_tokenizer("word", corpus.train, word_split=corpus.word_split)
V = tokenizer.vocabulary_size()
stream, real, _ = sentence_stream(np.asarray(tokenizer.encode(corpus.train)))
at = np.flatnonzero(real)
pairs = np.zeros((V, V))
np.add.at(pairs, (stream[at - 1], stream[at]), 1)
context_counts = pairs.sum(axis=1)


def interpolated(lam: float, k: float):
    unigram = np.bincount(stream[at], minlength=V) + k
    unigram[[PAD, BOS]] = 0  # never predicted
    unigram = unigram / unigram.sum()

    def next_log_probs(previous: int) -> np.ndarray:
        seen = context_counts[previous]
        mle = pairs[previous] / seen if seen else unigram  # an unseen context backs off to the unigram
        with np.errstate(divide="ignore"):
            return np.log(lam * mle + (1 - lam) * unigram)

    return next_log_probs


def perplexity(next_log_probs, text: str) -> float:
    s, r, _ = sentence_stream(np.asarray(tokenizer.encode(text)))
    a = np.flatnonzero(r)
    rows = {p: next_log_probs(p) for p in np.unique(s[a - 1])}
    return math.exp(-np.mean([rows[p][w] for p, w in zip(s[a - 1], s[a], strict=True)]))


lam, k = min(((lam, k) for lam in (0.3, 0.5, 0.7, 0.9) for k in (0.1, 1.0)),
             key=lambda p: perplexity(interpolated(*p), corpus.valid))
print(f"chosen on valid: λ = {lam:.1f}, k = {k}")
add_k = NGramLM.from_ids(NGramConfig(order=2, smoothing="add-k", add_k=0.01), tokenizer, tokenizer.encode(corpus.train))
target = float(-add_k.token_log_probs(tokenizer.encode(corpus.test)).mean() / math.log(2))
check_bigram(interpolated(lam, k), tokenizer, corpus.test, target=target)
