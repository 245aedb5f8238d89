"""The `word2vec` family: `Word2Vec` (model + tokenizer), `train` with `fit` over the pair stream, `load`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    SPECIALS,
    WordTokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import distribute, schedules
from lmzoo.models.callbacks import training_callbacks
from lmzoo.models.word2vec.config import PRESETS, Word2VecConfig
from lmzoo.models.word2vec.data import PairStream, _EpochCounter, fit_word_tokenizer
from lmzoo.models.word2vec.model import SkipGramNegativeSampling
from lmzoo.models.word2vec.vectors import _keyed_vectors, _VectorsMixin, load_vectors
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

if TYPE_CHECKING:
    from gensim.models import KeyedVectors


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


def learning_rate(config: Word2VecConfig, total_steps: int) -> schedules.Schedule:
    """word2vec's rate: `learning_rate` falling linearly to `min_learning_rate` over `total_steps`."""
    return schedules.linear_decay(config.learning_rate, config.min_learning_rate, total_steps)


def train(config: Word2VecConfig, corpus: Corpus, run: RunDir) -> Word2Vec:
    """Fit the tokenizer, stream pairs, and train with `fit`; resumes from the run's backup."""
    run = distribute.worker_run(run, config.distribute)
    tokenizer = fit_word_tokenizer(config, corpus)
    stream = PairStream(tokenizer, corpus.train, config)
    keras.utils.set_random_seed(config.seed)
    # The loss is a sum over pairs, so replicas' summed gradients are the whole batch's as is.
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        model = SkipGramNegativeSampling(tokenizer.vocabulary_size(), config.dimension, config.arch, config.negatives,
                                         config.shared_noise, config.init_scale, config.skipgram_rows, name="word2vec")
        # `fit` runs whole executions of steps_per_execution steps: round the epoch up to them. Under a
        # distribution strategy one step a call: a multi-step call that outruns the pair stream at an
        # epoch's end waits forever for its replicas' batches there.
        per_call = min(config.steps_per_execution if config.distribute == "none" else 1, stream.expected_steps())
        steps = math.ceil(stream.expected_steps() / per_call) * per_call
        # Plain SGD on a summed loss is word2vec's per-pair update; the rate falls linearly to the end.
        model.compile(optimizer=keras.optimizers.SGD(learning_rate(config, steps * config.epochs)),
                      jit_compile=config.jit_compile, steps_per_execution=per_call)
        if model.jit_compile != config.jit_compile:  # Keras turns XLA off with a mere warning
            raise LmzooError(f"jit_compile={config.jit_compile} was asked for but Keras compiled with {model.jit_compile}",
                             "set --set jit_compile=false to train without XLA")
        by_predicted = stream.rows_by_predicted
        true_words = 1 if by_predicted else 2 * config.window
        model({"inputs": np.full((1, 2 * config.window) if by_predicted else (1,), len(SPECIALS), np.int32),
               "targets": np.full((1, true_words + stream.noise_per_row(true_words)), len(SPECIALS),
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
