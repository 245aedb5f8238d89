"""The spelling and layout models that make bits per character an open-vocabulary figure.

A word model that reads an unknown word pays only −log p(`<unk>`), never the word's letters, so its
"bits per character" is not a code length for the text. Open-vocabulary scoring (Mielke et al.
2019, §2; Hwang & Sung 2017; Kawakami et al. 2017) makes every unknown token also pay
−log p_spell(c_1 … c_n </w>) under `SpellingModel`, an interpolated Witten-Bell character 3-gram
fitted on the training split's word types only; an unseen character is an escape then a uniform
choice among the remaining code points, so every string has a finite cost.

Layout is paid for the same way: a word or subword tokenizer drops what lies between words (runs
of spaces, tabs, `_`, blank lines), so two texts that differ only there get the same ids, and the
longer a lower bits/char. `LayoutModel` (`SpellingModel.layout(tokenizer)`, fitted on the same
training text) codes each gap string given what the ids tell a decoder.

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
from typing import Any

from lmzoo.errors import LmzooError

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

    def __init__(self, counts: dict[str, Counter], alphabet: set[str], order: int, text: str | None = None):
        self.counts, self.alphabet, self.order, self.text = counts, alphabet, order, text
        self._symbols = len(alphabet) + 2  # + end of word + escape
        self._totals = {h: (sum(c.values()), len(c)) for h, c in counts.items()}
        self._cache: dict[str, float] = {}
        self._layouts: dict[str, LayoutModel] = {}

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
        return cls(dict(counts), alphabet, order, text if isinstance(text, str) else None)

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

    def layout(self, tokenizer: Any) -> LayoutModel:
        """The layout model of `tokenizer`'s gaps in the training text (fitted once per way of splitting)."""
        key = f"{tokenizer.kind} {sorted(tokenizer.options.items())}"
        if key not in self._layouts:
            if self.text is None:
                raise LmzooError("this spelling model was fitted on words, not text, so it cannot charge layout",
                                 "fit it on the training text: SpellingModel.fit(corpus.train)")
            self._layouts[key] = LayoutModel.fit(tokenizer.layout_gaps(self.text))
        return self._layouts[key]

    def to_dict(self) -> dict:
        """What the harness records about the spelling model (for results files)."""
        return {"kind": "interpolated Witten-Bell character n-gram over training word types",
                "order": self.order, "alphabet": len(self.alphabet),
                "layout": "Witten-Bell over training gap strings per context, backed by their spelling"}


class LayoutModel:
    """Interpolated Witten-Bell over gap strings: the full context, backed off to its kind, then spelling.

    p(g | c) = (n(c, g) + T(c) · p(g | c')) / (n(c) + T(c)), where c is (kind, left side, right
    side) (`VocabularyTokenizer.layout_gaps`: "line" or "word", and the characters the gap sits
    between), c' its kind alone, n counts training gaps, T their distinct strings, and the base
    p_spell a `SpellingModel` of the distinct training gaps, so an unseen gap still has a cost.

    Example:
        >>> between, comma = ("word", "w", "w"), ("word", "w", ",")
        >>> layout = LayoutModel.fit([(between, " ")] * 9 + [(comma, "")] * 3)
        >>> layout.cost(between, " ") < layout.cost(between, "") and layout.cost(comma, "") < layout.cost(comma, " ")
        True
    """

    def __init__(self, counts: dict[Any, Counter], spelling: SpellingModel):
        self.counts, self.spelling = counts, spelling
        self._totals = {c: (sum(seen.values()), len(seen)) for c, seen in counts.items()}
        self._cache: dict[tuple[Any, str], float] = {}

    @classmethod
    def fit(cls, gaps: Iterable[tuple[tuple[str, ...], str]]) -> LayoutModel:
        counts: dict[Any, Counter] = defaultdict(Counter)
        for context, gap in gaps:
            counts[context][gap] += 1
            counts[context[0]][gap] += 1
        return cls(dict(counts), SpellingModel.fit({gap for seen in counts.values() for gap in seen}))

    def cost(self, context: tuple[str, ...], gap: str) -> float:
        """−log p(gap | context), in nats."""
        if (context, gap) not in self._cache:
            nats = self.spelling.cost(gap)
            for level in (context[0], context):  # kind, then the full context
                if level in self.counts:
                    nats = self._mix(self.counts[level][gap], *self._totals[level], nats)
            self._cache[context, gap] = nats
        return self._cache[context, gap]

    @staticmethod
    def _mix(count: int, total: int, types: int, lower_nats: float) -> float:
        """−log((count + types · exp(−lower_nats)) / (total + types)), in logs (exp underflows for long gaps)."""
        mix, seen = math.log(types) - lower_nats, math.log(count) if count else -math.inf
        high = max(mix, seen)
        return math.log(total + types) - high - math.log1p(math.exp(min(mix, seen) - high))


__all__ = ["LayoutModel", "SpellingModel"]
