"""Token ids for tasks: sentences without their end-of-line `</s>`, padded rows, and the tokenizer check."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmzoo.datasets.tokenizers import BOS, EOS, PAD, UNK, VocabularyTokenizer
from lmzoo.errors import LmzooError


def encode(tokenizer: VocabularyTokenizer, text: str) -> list[int]:
    """Ids of one sentence without the end-of-line `</s>` that word tokenizers add."""
    ids = tokenizer.encode(text.replace("\n", " "))
    return ids[:-1] if ids and ids[-1] == EOS else ids


def pad(rows: Sequence[Sequence[int]], length: int) -> np.ndarray:
    out = np.full((len(rows), length), PAD, np.int32)
    for i, row in enumerate(rows):
        out[i, : min(len(row), length)] = row[:length]
    return out


def check_tokenizer(tokenizer: VocabularyTokenizer, texts: Sequence[str], limit: float, what: str) -> float:
    """The share of `<unk>` in `texts`; above `limit` the pre-trained tokenizer does not fit the task."""
    ids = [i for text in texts[:2000] for i in encode(tokenizer, text)]
    if not ids:
        raise LmzooError(f"the {what} encode to no tokens with the pre-trained run's tokenizer", "check the data")
    rate = float(np.mean(np.asarray(ids) == UNK))
    if rate > limit:
        raise LmzooError(
            f"tokenizer mismatch: {rate:.0%} of the {what} tokens are unknown to the pre-trained run's "
            f"{tokenizer.kind} tokenizer (limit max_unknown_rate={limit})",
            "pre-train on text in the task's language(s), e.g. its training split, or raise max_unknown_rate")
    return rate


def translation_rows(tokenizer: VocabularyTokenizer, pairs: Sequence[tuple[str, str]],
                     context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decoder-only training rows `<s> source </s> target </s>`: inputs, next-token targets, loss weights.

    The weights are 1 exactly where the next token belongs to the target (its final `</s>` included).

    Example:
        >>> from lmzoo.datasets.tokenizers import CharTokenizer
        >>> x, y, w = translation_rows(CharTokenizer.fit("ab"), [("a", "b")], context=6)
        >>> x.tolist(), y.tolist(), w.tolist()
        ([[2, 4, 3, 5, 0, 0]], [[4, 3, 5, 3, 0, 0]], [[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    """
    inputs, targets, weights = [], [], []
    for source, target in pairs:
        prompt = [BOS, *encode(tokenizer, source)][: context - 2] + [EOS]
        answer = [*encode(tokenizer, target), EOS]
        row = (prompt + answer)[: context + 1]
        inputs.append(row[:-1])
        targets.append(row[1:])
        weights.append([0.0] * (len(prompt) - 1) + [1.0] * (len(row) - len(prompt)))
    return pad(inputs, context), pad(targets, context), float_pad(weights, context)


def float_pad(rows: Sequence[Sequence[float]], length: int) -> np.ndarray:
    out = np.zeros((len(rows), length), np.float32)
    for i, row in enumerate(rows):
        out[i, : min(len(row), length)] = row[:length]
    return out

