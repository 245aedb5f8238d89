"""Word2Vec in Keras: skip-gram and CBOW with negative sampling, plus a gensim baseline family.

- `word2vec`: a `keras.Model` with two embedding tables trained on the negative-sampling loss
  (`model.py`: the loss and the one-row-per-window layout that makes the step fast), fed by a
  numpy pair stream (`data.py`: subsampling, dynamic windows and noise as word2vec.c and gensim 4
  do them); `steps_per_execution` XLA-compiled steps per call, and no silent fall-back off XLA.
- `word2vec-gensim`: gensim's `Word2Vec` on exactly the same sentences, vocabulary and settings, so
  that the comparison is one loop (`benchmarks/word2vec.py` races the two).
Both implement Embedder (`word_vectors()` returns gensim KeyedVectors) and export to the word2vec
text and binary formats and to TSV for the TensorBoard projector. Files: `config.py`, `data.py`,
`model.py`, `vectors.py` (queries, export, loading), `training.py`, `gensim_baseline.py`.

References: Mikolov et al. 2013a, 2013b (arXiv:1301.3781, 1310.4546); Goldberg & Levy 2014 (1402.3722).

Example:
    >>> from lmzoo import load_corpus, train
    >>> import tempfile
    >>> model = train("word2vec", load_corpus("lee"), tempfile.mkdtemp(), preset="quick")
    >>> model.word_vectors().vector_size, model.similarity("fire", "fire") > 0.99
    (32, True)
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
