"""`SkipGramNegativeSampling`: the Keras model, two embedding tables and the negative-sampling loss.

The centre ("input") vectors become the word vectors; the context ("output") vectors are used only
for training. For a positive pair (centre c, context o) and k noise words n_1..n_k drawn from the
unigram distribution to the power 0.75 (Mikolov et al. 2013b),

    loss = -log σ(u_o · v_c) - Σ_i log σ(-u_{n_i} · v_c),

summed over the pairs of a batch, so that plain SGD makes word2vec.c's and gensim's per-pair update.
CBOW predicts the centre from the mean of its context vectors and, as word2vec.c does, passes the
whole error back to every context vector.
A batch row is one centre with its whole window (up to 2·window context words, padded with `<pad>`)
plus k noise words that serve as the negatives of every pair of that window (word2vec.c and gensim
draw k per pair). Each shared noise term is counted once per pair it stands for, so the loss and its
gradient equal word2vec's on average; only their variance differs. A row then touches 1 + 2·window + k
embedding rows (16 for about 5 pairs at window 5, k = 5) where one row per pair touches 2 + k per
pair (35): the step is a gather and a scatter, and this is what makes it fast. Its cost: the centre's
vector gets its window's summed update at once (word2vec_ablation.json). `skipgram_rows="predicted"`
makes a row one predicted word and the window of input words that predict it, as gensim loops: each
input vector gets its own pair's update, for 4x the dot products.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
from keras import ops

from lmzoo.datasets.tokenizers import (
    PAD,
)

if TYPE_CHECKING:
    pass


@keras.saving.register_keras_serializable(package="lmzoo")
class SkipGramNegativeSampling(keras.Model):
    """Skip-gram or CBOW scorer: centre ("input") and context ("output") embedding tables.

    Called on `{"inputs": ..., "targets": (batch, t + k)}` it returns the logits u_t · v for
    each target; `compute_loss` turns them into the negative-sampling loss, summed over the
    batch. The first t targets of a row are its true words (`<pad>` where a window is short),
    the last k (`negatives`) its noise words, each a negative for every true word of the row.
    For skip-gram v is the centre's vector and the true words its context; for CBOW, `inputs`
    is (batch, 2·window) context ids padded with 0, v is their mean and t = 1 (the centre).
    `shared_noise=False`: t·k noise words follow, k for each true word. `skipgram_rows="predicted"`:
    `inputs` as for CBOW, targets (centre, k noise), logits (batch, 2·window, 1 + k), one row per input.

    Example:
        >>> import numpy as np
        >>> m = SkipGramNegativeSampling(vocabulary_size=10, dimension=4, negatives=2)
        >>> tuple(m({"inputs": np.array([4]), "targets": np.array([[5, 0, 6, 7]])}).shape)
        (1, 4)
    """

    def __init__(self, vocabulary_size: int, dimension: int, arch: str = "skipgram", negatives: int = 5,
                 shared_noise: bool = True, init_scale: float = 0.5, skipgram_rows: str = "input", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.dimension, self.arch, self.negatives = vocabulary_size, dimension, arch, negatives
        self.shared_noise, self.init_scale, self.skipgram_rows = shared_noise, init_scale, skipgram_rows
        # Skip-gram rows by predicted word: each of the row's context words is an input scored on its own.
        self.skipgram_by_predicted = arch == "skipgram" and skipgram_rows == "predicted"
        # Input vectors uniform in ±init_scale/dim (word2vec.c 0.5, gensim 1), output vectors zero.
        self.centre = keras.layers.Embedding(
            vocabulary_size, dimension, name="centre",
            embeddings_initializer=keras.initializers.RandomUniform(-init_scale / dimension, init_scale / dimension))
        self.context = keras.layers.Embedding(vocabulary_size, dimension, name="context", embeddings_initializer="zeros")
        # Per-pair loss summed in float64, so the logged epoch loss never saturates (gensim #2735).
        self.pair_loss = keras.metrics.Mean(name="loss", dtype="float64")

    def call(self, inputs):
        targets = self.context(inputs["targets"])  # (batch, t + k, dim)
        if self.skipgram_by_predicted:  # inputs (batch, 2 * window): pair j is (input word j, the row's centre)
            return ops.einsum("bkd,bjd->bjk", targets, self.centre(inputs["inputs"]))  # (batch, 2 * window, 1 + k)
        if self.arch == "cbow":
            words = inputs["inputs"]  # (batch, 2 * window)
            mask = ops.cast(ops.not_equal(words, PAD), targets.dtype)[:, :, None]
            summed = ops.sum(self.centre(words) * mask, axis=1)  # (batch, dim)
            mean = summed / ops.maximum(ops.sum(mask, axis=1), 1.0)
            # Forward: the mean. Backward: each context word gets the full error, not error/count,
            # which is the update word2vec.c and gensim (cbow_mean=1) make.
            hidden = summed + ops.stop_gradient(mean - summed)
        else:
            hidden = self.centre(inputs["inputs"])  # (batch, dim)
        return ops.einsum("bkd,bd->bk", targets, hidden)  # (batch, t + k)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.skipgram_by_predicted:
            return self._predicted_rows_loss(x, y_pred)
        k, width = self.negatives, x["targets"].shape[1]
        t = width - k if self.shared_noise else width // (1 + k)  # true words per row
        words, noise = x["targets"][:, :t], x["targets"][:, t:]
        real = ops.not_equal(words, PAD)  # (batch, t): the row's true words
        # A noise word is not a negative of a pair whose true word it is (gensim skips those).
        if self.shared_noise:
            # Noise word i is a negative of every pair of its row: its term counts once per pair it stands for.
            uses = ops.sum(ops.cast(ops.logical_and(real[:, :, None], ops.not_equal(words[:, :, None], noise[:, None, :])),
                                    y_pred.dtype), axis=1)  # (batch, k)
        else:  # noise words j·k .. j·k + k - 1 are pair j's own, as in word2vec.c and gensim
            own = ops.logical_and(real[:, :, None], ops.not_equal(words[:, :, None], ops.reshape(noise, (-1, t, k))))
            uses = ops.cast(ops.reshape(own, (-1, t * k)), y_pred.dtype)  # (batch, t·k)
        real = ops.cast(real, y_pred.dtype)
        # -log σ(s) = softplus(-s) for a true word; -log σ(-s) = softplus(s) for a noise word.
        per_row = ops.sum(ops.softplus(-y_pred[:, :t]) * real, axis=1) + ops.sum(ops.softplus(y_pred[:, t:]) * uses, axis=1)
        return self._summed(per_row, real)

    def _predicted_rows_loss(self, x, y_pred):
        """Skip-gram rows by predicted word: input word j of the row against the centre and the row's k noise
        words, a noise word equal to the centre skipped (y_pred is (batch, 2·window, 1 + k))."""
        real = ops.cast(ops.not_equal(x["inputs"], PAD), y_pred.dtype)  # (batch, 2·window)
        counted = ops.cast(ops.not_equal(x["targets"][:, 1:], x["targets"][:, :1]), y_pred.dtype)  # (batch, k)
        per_pair = ops.softplus(-y_pred[:, :, 0]) + ops.sum(ops.softplus(y_pred[:, :, 1:]) * counted[:, None, :], axis=2)
        return self._summed(ops.sum(per_pair * real, axis=1), real)

    def _summed(self, per_row, real):
        """The batch's loss, summed over its pairs; logs the mean per pair."""
        pairs = ops.sum(real, axis=1)
        self.pair_loss.update_state(per_row / ops.maximum(pairs, 1.0), sample_weight=pairs)  # the mean per pair
        return ops.sum(per_row)

    @property
    def metrics(self):
        return [self.pair_loss]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "dimension": self.dimension,
                "arch": self.arch, "negatives": self.negatives, "shared_noise": self.shared_noise, "init_scale": self.init_scale,
                "skipgram_rows": self.skipgram_rows}
