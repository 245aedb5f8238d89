"""Solutions to lesson 01b's build-it exercises (3 and 4): the count bigram and the neural bigram,
each checked with `lmzoo.lesson.check_bigram` against the library's add-k bigram on lee's test text.
The tests run this file in quick mode (tests/test_lessons.py)."""

import tempfile

import keras
import numpy as np

import lmzoo
from lmzoo.datasets import load_corpus
from lmzoo.datasets.tokenizers import BOS, fit_tokenizer
from lmzoo.harness import score_text
from lmzoo.lesson import bigram_table, check_bigram


def count_bigram(ids: np.ndarray, vocabulary_size: int, k: float) -> np.ndarray:
    """p(next | previous) from pair counts with add-k smoothing."""
    counts = np.full((vocabulary_size, vocabulary_size), k)
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return counts / counts.sum(axis=1, keepdims=True)


corpus = load_corpus("lee")
chars = fit_tokenizer("char", corpus.train)
V = chars.vocabulary_size()
train = np.array([BOS, *chars.encode(corpus.train)])

# The target: the library's own add-k bigram (lmzoo.models.ngram), an independent implementation.
with tempfile.TemporaryDirectory() as tmp:
    library = lmzoo.train("ngram", corpus, tmp, overwrite=True, tokenizer="char", order=2, smoothing="add-k", add_k=0.1)
    target = score_text(library, corpus.test)["bits_per_char"]

# Exercise 3.
check_bigram(count_bigram(train, V, 0.1), chars, corpus.test, target=target)

# Exercise 4: one-hot x matrix = an Embedding(V, V) row of logits.
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((), dtype="int32"), keras.layers.Embedding(V, V)])
model.compile(optimizer=keras.optimizers.AdamW(0.05, weight_decay=1e-4),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(train[:-1], train[1:], batch_size=1024, epochs=2, verbose=0)
check_bigram(bigram_table(model, V), chars, corpus.test, target=target, tolerance=0.03)
