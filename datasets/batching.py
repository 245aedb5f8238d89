"""tf.data pipelines fed from any tokenizer's ids: language-model windows and padded sentences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from lmzoo.datasets.tokenizers import BOS, EOS, PAD
from lmzoo.errors import LmzooError


def lm_windows(
    ids: Sequence[int] | np.ndarray,
    context: int,
    batch_size: int,
    *,
    stride: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Batches of (inputs, next-token targets), each `context` long.

    Window i starts at `i * stride` (default: `context`, i.e. non-overlapping), so
    every token is a target exactly once per epoch with the default stride.

    Example:
        >>> ds = lm_windows(list(range(10)), context=4, batch_size=1, shuffle=False)
        >>> [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds.take(1)]
        [([[0, 1, 2, 3]], [[1, 2, 3, 4]])]
    """
    ids = np.asarray(ids, dtype=np.int32)
    stride = stride or context
    if len(ids) < context + 1:
        raise LmzooError(
            f"the text has {len(ids)} tokens, fewer than context + 1 = {context + 1}",
            "use a shorter context or more text",
        )
    starts = np.arange(0, len(ids) - context, stride, dtype=np.int64)
    data = tf.constant(ids)
    ds = tf.data.Dataset.from_tensor_slices(starts)
    if shuffle:
        ds = ds.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda s: (data[s : s + context], data[s + 1 : s + context + 1]))
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def padded_sentences(
    sentences: Sequence[Sequence[int]],
    batch_size: int,
    *,
    max_length: int | None = None,
    add_bos: bool = False,
    add_eos: bool = True,
    shuffle: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of sentences padded with `<pad>` (id 0) to the longest in the batch.

    Sentences longer than `max_length` (after adding `<s>`/`</s>`) are cut to it.

    Example:
        >>> ds = padded_sentences([[5, 6], [7]], batch_size=2)
        >>> next(iter(ds)).numpy().tolist()
        [[5, 6, 3], [7, 3, 0]]
    """
    rows = []
    for sent in sentences:
        row = ([BOS] if add_bos else []) + list(sent) + ([EOS] if add_eos else [])
        rows.append(row[:max_length] if max_length else row)
    if not rows:
        raise LmzooError("no sentences to batch", "check the corpus split is not empty")
    ragged = tf.ragged.constant(rows, dtype=tf.int32)
    ds = tf.data.Dataset.from_tensor_slices(ragged)
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    ds = ds.ragged_batch(batch_size).map(lambda r: r.to_tensor(default_value=PAD))
    return ds.prefetch(tf.data.AUTOTUNE)
