"""The spelling model that makes bits per character an open-vocabulary figure.

A word model that reads an unknown word emits `<unk>` and pays only −log p(`<unk>`): it never
pays for the word's letters, so its "bits per character" is not a code length for the text and
looks better than a character model's, which pays for every letter. Open-vocabulary scoring
(Mielke et al. 2019, "What kind of language is hard to language-model?", §2; the convention of
Hwang & Sung 2017 and Kawakami et al. 2017) closes the gap: every token that is the unknown id
also pays the cost of spelling the piece of text it stands for,

    −log p_spell(c_1 … c_n </w>),

under a character model fitted on the **training split only**. This module is that model: an
interpolated Witten-Bell character n-gram (order 3 by default) over the distinct words of the
training text (word types: unknown words are rare, and rare words are spelled like types, not
like frequent tokens), with an end-of-word symbol. Its base distribution is uniform over the
training characters, the end-of-word symbol and one escape symbol; a character never seen in
training is the escape followed by a uniform choice among the remaining Unicode code points, so
every string has a finite cost.

Example:
    >>> model = SpellingModel.fit("the cat sat on the mat")
    >>> round(model.cost("cat") / math.log(2), 2)  # bits to spell a seen word
    3.59
    >>> model.cost("dog") > model.cost("cat")
    True
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

END = "\x00"  # end of word (never a character of the text: corpora with NUL bytes are refused)
ESCAPE = "\x01"  # a character not seen in training
START = "\x02"  # start of word: the first letters of words have their own distribution
UNICODE_CODE_POINTS = 0x110000


class SpellingModel:
    """An interpolated Witten-Bell character n-gram over word types, with an end-of-word symbol.

    P(c | h) = (n(h, c) + T(h) · P(c | h')) / (n(h) + T(h)), where n counts what followed the
    context h, T(h) is the number of distinct symbols seen after h, and h' drops h's oldest
    character; unseen contexts back off entirely. The order-0 base is uniform.
    """

    def __init__(self, counts: dict[str, Counter], alphabet: set[str], order: int):
        self.counts, self.alphabet, self.order = counts, alphabet, order
        self._symbols = len(alphabet) + 2  # + end of word + escape
        self._totals = {h: (sum(c.values()), len(c)) for h, c in counts.items()}
        self._cache: dict[str, float] = {}

    @classmethod
    def fit(cls, text: str | Iterable[str], order: int = 3) -> SpellingModel:
        """Fit on the distinct whitespace-separated words of `text` (or on an iterable of words)."""
        if order < 1:
            raise ValueError(f"order={order} must be >= 1")
        words = set(text.split()) if isinstance(text, str) else set(text)
        counts: dict[str, Counter] = defaultdict(Counter)
        alphabet: set[str] = set()
        for word in words:
            alphabet.update(word)
            padded = START + word + END
            for i in range(1, len(padded)):  # START is never predicted
                for n in range(min(order, i + 1)):  # contexts of length 0 .. order-1
                    counts[padded[i - n : i]][padded[i]] += 1
        return cls(dict(counts), alphabet, order)

    def _probability(self, history: str, symbol: str) -> float:
        p = 1.0 / self._symbols
        for n in range(min(len(history), self.order - 1) + 1):
            context = history[len(history) - n :]
            if context not in self.counts:
                break  # a longer context that was never seen adds nothing
            total, types = self._totals[context]
            p = (self.counts[context][symbol] + types * p) / (total + types)
        return p

    def cost(self, word: str) -> float:
        """−log p_spell(word + end of word), in nats."""
        if word not in self._cache:
            nats, history = 0.0, START
            for char in word:
                if char in self.alphabet:
                    nats -= math.log(self._probability(history, char))
                else:  # the escape symbol, then which of the unseen code points
                    nats -= math.log(self._probability(history, ESCAPE))
                    nats += math.log(UNICODE_CODE_POINTS - len(self.alphabet))
                history += char
            nats -= math.log(self._probability(history, END))
            self._cache[word] = nats
        return self._cache[word]

    def to_dict(self) -> dict:
        """What the harness records about the spelling model (for results files)."""
        return {"kind": "interpolated Witten-Bell character n-gram over training word types",
                "order": self.order, "alphabet": len(self.alphabet)}


__all__ = ["SpellingModel"]
