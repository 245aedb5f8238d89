"""The `word2vec-gensim` family: gensim's Word2Vec on the same sentences, vocabulary and settings.

It is fed a list of token lists, as gensim's users feed it, so it runs as fast as gensim itself.
With `workers` > 1 gensim's threads race and a seed does not fix the vectors: such a run records
`reproducible: false` in its `training.json`; `workers=1` is reproducible.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING

from lmzoo.config import from_dict
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    WordTokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models.word2vec.config import PRESETS, Word2VecConfig
from lmzoo.models.word2vec.data import fit_word_tokenizer, sentence_words
from lmzoo.models.word2vec.vectors import _VectorsMixin, load_vectors
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

if TYPE_CHECKING:
    from gensim.models import KeyedVectors


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

    tokenizer = fit_word_tokenizer(config, corpus)
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
