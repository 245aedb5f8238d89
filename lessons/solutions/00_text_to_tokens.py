"""Solution to lesson 00's build-it exercise: a character tokenizer in a few lines, checked with
`lmzoo.lesson.check_tokenizer` on lee's training text. The tests run this file (tests/test_lessons.py)."""

from lmzoo.datasets import load_corpus
from lmzoo.lesson import check_tokenizer

text = load_corpus("lee").train
vocabulary = sorted(set(text))
index = {ch: i for i, ch in enumerate(vocabulary)}


def encode(s: str) -> list[int]:
    return [index[ch] for ch in s]


def decode(ids: list[int]) -> str:
    return "".join(vocabulary[i] for i in ids)


check_tokenizer(encode, decode, text)
