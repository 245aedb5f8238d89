"""gzip, bz2 and xz as the no-model floor: the bits they spend on a test text after a training text."""

import random

import pytest

from lmzoo.compression import COMPRESSORS, compression_bits_per_char, compression_rows


def test_repeated_text_costs_fewer_bits_than_random_text():
    rng = random.Random(0)
    alphabet = "abcdefghijklmnopqrstuvwxyz "
    noise = "".join(rng.choice(alphabet) for _ in range(4000))
    repeated = "the cat sat on the mat. " * 170
    train = "".join(rng.choice(alphabet) for _ in range(2000))  # the same preamble for both
    for method in COMPRESSORS:
        low, high = (compression_bits_per_char(train, text, method) for text in (repeated, noise))
        assert low < 0.5 < 4.0 < high, (method, low, high)  # 27 letters: log2(27) = 4.75 bits at best


def test_xz_pays_far_less_when_the_training_text_holds_the_test_text():
    rng = random.Random(1)
    words = ["river", "budget", "minister", "storm", "cricket", "court", "fire", "talks", "police", "market"]
    test = " ".join(rng.choice(words) for _ in range(800))
    other = " ".join(rng.choice(words) for _ in range(800))
    seen = compression_bits_per_char(other + "\n" + test + "\n" + other, test, "xz")
    unseen = compression_bits_per_char(other, test, "xz")
    assert seen < unseen / 10, (seen, unseen)


def test_rows_are_marked_as_compressors_and_bad_input_is_refused():
    rows = compression_rows("some training text " * 20, "a test text")
    assert [r["model"] for r in rows] == list(COMPRESSORS) and {r["kind"] for r in rows} == {"compressor"}
    with pytest.raises(ValueError, match="unknown compressor"):
        compression_bits_per_char("a", "b", "zip")
    with pytest.raises(ValueError, match="empty"):
        compression_bits_per_char("a", "", "gzip")
