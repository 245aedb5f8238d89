"""tf.data pipelines: next-token windows and padded sentence batches."""

import numpy as np
import pytest

from lmzoo.datasets.batching import lm_windows, padded_sentences
from lmzoo.errors import LmzooError


def test_lm_windows_are_shifted_by_one_and_cover_every_target_once():
    ids = np.arange(101)
    targets = []
    for x, y in lm_windows(ids, context=10, batch_size=3, drop_remainder=False, seed=1):
        np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
        np.testing.assert_array_equal(x.numpy() + 1, y.numpy())
        targets.extend(y.numpy().ravel())
    assert sorted(targets) == list(range(1, 101))


def test_lm_windows_needs_enough_text():
    with pytest.raises(LmzooError, match="fewer than context"):
        lm_windows([1, 2, 3], context=8, batch_size=1)


def test_padded_sentences():
    batches = list(padded_sentences([[5, 6, 7, 8], [9]], batch_size=2, add_bos=True, max_length=4))
    assert batches[0].numpy().tolist() == [[2, 5, 6, 7], [2, 9, 3, 0]]
