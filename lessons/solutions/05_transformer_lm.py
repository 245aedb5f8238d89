"""Solution to lesson 05's build-it exercise: a learned relative-position bias, one trainable weight per
distance between query and key (clipped at `max_distance`), added to the attention scores together with
the causal mask, checked with `lmzoo.lesson.check_position_bias`. The tests run this file."""

import keras
import numpy as np
from keras import ops

from lmzoo.lesson import check_position_bias


class LearnedPositionBias(keras.layers.Layer):
    """scores (…, query, key) + b, b[i, j] = w[min(i - j, max_distance - 1)] for j <= i, -1e9 above."""

    def __init__(self, max_distance: int, **kwargs):
        super().__init__(**kwargs)
        self.max_distance = max_distance

    def build(self, scores_shape):
        self.distance_bias = self.add_weight(shape=(self.max_distance,), initializer="zeros", name="distance_bias")

    def call(self, scores):
        length = ops.shape(scores)[-1]
        distance = ops.arange(length)[:, None] - ops.arange(length)[None, :]  # i - j
        bias = ops.take(self.distance_bias, ops.clip(distance, 0, self.max_distance - 1))
        return scores + ops.where(distance >= 0, bias, ops.full_like(bias, -1e9))

    def get_config(self):
        return {**super().get_config(), "max_distance": self.max_distance}


check_position_bias(LearnedPositionBias(max_distance=8))
# Used as lesson 04's bias: softmax(QKᵀ/√d_k + b) V, here on random scores for 5 queries.
weights = ops.softmax(LearnedPositionBias(max_distance=8)(np.random.default_rng(0).normal(size=(1, 1, 5, 5))), axis=-1)
print(np.round(ops.convert_to_numpy(weights)[0, 0], 2))
