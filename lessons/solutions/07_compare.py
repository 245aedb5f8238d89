"""Solution to lesson 07's build-it exercise: a word bigram's open-vocabulary bits per character by
hand (token costs plus the spelling of every unknown word and the layout between words, / ln 2 /
characters), checked with
`lmzoo.lesson.check_open_bits` against the harness. The tests run this file (tests/test_lessons.py)."""

import math
import tempfile

import numpy as np

import lmzoo
from lmzoo.lesson import check_open_bits
from lmzoo.spelling import SpellingModel

corpus = lmzoo.load_corpus("lee")
spelling = SpellingModel.fit(corpus.train)
with tempfile.TemporaryDirectory() as tmp:
    bigram = lmzoo.train("ngram", corpus, tmp, order=2)
    ids = bigram.tokenizer.encode(corpus.test)
    layout = spelling.layout(bigram.tokenizer)
    nats = (-np.sum(bigram.token_log_probs(ids))
            + sum(spelling.cost(w) for w in bigram.tokenizer.unknown_pieces(corpus.test))
            + sum(layout.cost(context, gap) for context, gap in bigram.tokenizer.layout_gaps(corpus.test)))
    check_open_bits(nats / math.log(2) / len(corpus.test), bigram, corpus.test, spelling)
