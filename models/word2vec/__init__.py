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

Example:
    >>> from lmzoo import load_corpus, train
    >>> import tempfile
    >>> model = train("word2vec", load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
    >>> model.word_vectors().vector_size, model.similarity("fire", "fire") > 0.99
    (32, True)

Files: `config.py` (Word2VecConfig, PRESETS), `data.py` (corpus statistics, PairStream), `model.py`
(SkipGramNegativeSampling), `vectors.py` (queries, export, loading), `training.py` (the `word2vec`
family), `gensim_baseline.py` (the `word2vec-gensim` family).
"""

from lmzoo.models.word2vec.config import (
    CHUNK_TOKENS,
    EXPORT_FORMATS,
    MAX_SENTENCE_WORDS,
    PRESETS,
    Word2VecConfig,
)
from lmzoo.models.word2vec.data import (
    PairStream,
    alias_table,
    encode_sentences,
    fit_word_tokenizer,
    keep_probabilities,
    noise_distribution,
    sentence_words,
    skipgram_pairs,
    window_examples,
)
from lmzoo.models.word2vec.gensim_baseline import (
    GENSIM_FAMILY,
    GensimWord2Vec,
    gensim_load,
    gensim_train,
)
from lmzoo.models.word2vec.model import SkipGramNegativeSampling
from lmzoo.models.word2vec.training import FAMILY, Word2Vec, load, train
from lmzoo.models.word2vec.vectors import (
    analogy,
    check_words,
    export_vectors,
    load_vectors,
    similarity,
)

__all__ = ["CHUNK_TOKENS", "EXPORT_FORMATS", "FAMILY", "GENSIM_FAMILY", "MAX_SENTENCE_WORDS", "PRESETS", "GensimWord2Vec",
           "PairStream", "SkipGramNegativeSampling", "Word2Vec", "Word2VecConfig", "alias_table", "analogy",
           "check_words", "encode_sentences", "export_vectors", "fit_word_tokenizer", "gensim_load", "gensim_train",
           "keep_probabilities", "load", "load_vectors", "noise_distribution", "sentence_words", "similarity",
           "skipgram_pairs", "train", "window_examples"]
