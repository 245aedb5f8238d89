"""General-purpose compressors as the "no model at all" floor for bits per character.

A language model is a compressor: its bits per character is the length of the code it would
give the text (Shannon; Delétang et al. 2024, "Language modeling is compression"). gzip, bz2
and xz know nothing of language, yet they learn from the text they have already seen. Given the
training text as a preamble, the bits they spend on the test text are

    (len(compress(train + test)) − len(compress(train))) × 8 / characters(test),

a figure every learner can check by hand with the standard library, and one every trained
model must beat. They are not language models: they predict nothing, so they sit in the
results with `kind = "compressor"`, never ranked among the models.

Example:
    >>> train, test = "the cat sat on the mat. " * 50, "the cat sat on the hat. " * 4
    >>> compression_bits_per_char(train, test, "gzip") < compression_bits_per_char("", test, "gzip")
    True
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: zlib.compress(data, 9),
    "bz2": lambda data: bz2.compress(data, 9),
    "xz": lambda data: lzma.compress(data, preset=9),
}


def compression_bits_per_char(train: str, test: str, method: str) -> float:
    """Bits per character of `test` coded by `method` after `train` (UTF-8 bytes, level 9).

    gzip's window is 32 KiB and bz2's block 900 kB, so of a long training text they use only
    its end; xz's dictionary (64 MiB at preset 9) holds all of it. That is part of the lesson:
    the better compressor is the one with the longer memory.
    """
    if method not in COMPRESSORS:
        raise ValueError(f"unknown compressor '{method}'; one of {', '.join(COMPRESSORS)}")
    if not test:
        raise ValueError("the test text is empty")
    compress = COMPRESSORS[method]
    prefix = train.encode("utf-8")
    extra = len(compress(prefix + test.encode("utf-8"))) - len(compress(prefix))
    return 8.0 * extra / len(test)


def compression_rows(train: str, test: str) -> list[dict]:
    """One results row per compressor: bits/char of the test text given the training text."""
    return [{"model": method, "kind": "compressor", "bits_per_char": compression_bits_per_char(train, test, method)}
            for method in COMPRESSORS]
