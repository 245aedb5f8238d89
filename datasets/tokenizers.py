"""Tokenizers with one interface: character, word and subword (keras-nlp WordPiece).

Every tokenizer reserves ids 0-3 for `<pad>`, `<unk>`, `<s>` and `</s>`, saves to plain JSON
(never pickle), and is rebuilt with `load_tokenizer`. Text is NFC-normalised before it is cut, so a
character typed as letter + combining accent is the same token as the precomposed one.

Example:
    >>> tok = CharTokenizer.fit("我明天要去看电影。")
    >>> tok.decode(tok.encode("电影")) == "电影"
    True
"""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from lmzoo.errors import LmzooError
from lmzoo.runs import write_text_atomic

SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
PAD, UNK, BOS, EOS = range(4)
_NOT_FROM_TEXT = frozenset(SPECIALS) - {"<unk>"}

SEGMENTERS = ("jieba",)


def _ranges(codes: Iterable[int]) -> str:
    """A regex character class body for a set of code points, as ranges."""
    codes, out = sorted(codes), []
    start = prev = None
    for c in codes:
        if start is None or c != prev + 1:
            if start is not None:
                out.append((start, prev))
            start = c
        prev = c
    if start is not None:
        out.append((start, prev))
    return "".join(f"\\U{a:08x}" + (f"-\\U{b:08x}" if b > a else "") for a, b in out)


# Han ideographs (CJK Unified, Extension A, compatibility, Extensions B+) form their own class, so a
# Han character never glues to Latin letters ("iPhone手机" is iPhone / 手 / 机). Combining marks (the
# BMP's category M: accents, Indic vowel signs) stay inside the word they modify.
_HAN = "\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\U00020000-\\U0002fa1f"
_MARKS = _ranges(c for c in range(0x10000) if unicodedata.category(chr(c)).startswith("M"))
_LETTER = rf"(?:(?![{_HAN}])[^\W\d_])"
_WORD = rf"{_LETTER}(?:{_LETTER}|[{_MARKS}])*"
# Words, numbers, single Han characters (no segmenter needed), and punctuation; <unk> kept whole.
# How WordPiece pre-splits a line: Han characters alone, runs of word characters, punctuation alone.
_WORDPIECE_SPLIT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W_\u3400-\u4dbf\u4e00-\u9fff]+|[^\w\s]|_")
_WORD_RE = re.compile(rf"<unk>|[{_HAN}]|{_WORD}(?:['’-]{_WORD})*|\d+(?:[.,]\d+)*|[^\w\s]")
# The same, with runs of Han characters kept together for a segmenter to cut.
_WORD_RUN_RE = re.compile(rf"<unk>|[{_HAN}]+|{_WORD}(?:['’-]{_WORD})*|\d+(?:[.,]\d+)*|[^\w\s]")
_HAN_RE = re.compile(rf"[{_HAN}]")


def nfc(text: str) -> str:
    """Unicode NFC: "é" typed as e + combining accent becomes the one code point é, as in the corpus."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _jieba():
    try:
        import jieba
    except ImportError:
        raise LmzooError("segmenter=jieba needs the jieba package",
                         "pip install 'keras-lmzoo[zh]' (or pip install jieba)") from None
    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    return jieba


class _UnknownIsUnk(dict):
    """A token index whose missing keys read as `<unk>`, so a lookup stays one C call."""

    def __missing__(self, key: str) -> int:
        return UNK


class VocabularyTokenizer:
    """Shared machinery: a list of tokens (specials first) and its inverse index."""

    kind = "base"

    def __init__(self, vocabulary: Sequence[str], **options: Any):
        if tuple(vocabulary[:4]) != SPECIALS:
            raise LmzooError(f"tokenizer vocabulary must start with {SPECIALS}", "rebuild the tokenizer")
        self.vocabulary = list(vocabulary)
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        self.options = options

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def token_to_id(self, token: str) -> int:
        return self.index.get(token, UNK)

    def id_to_token(self, index: int) -> str:
        return self.vocabulary[index]

    def get_config(self) -> dict:
        return {"kind": self.kind, "vocabulary": self.vocabulary, "options": self.options}

    def layout_gaps(self, text: str) -> Iterator[tuple[tuple[str, str, str], str]]:
        """The layout that `encode` drops, as (context, gap) pairs; none when it drops nothing (`_gaps`).

        A tokenizer that cuts text into words loses what lies between them (runs of spaces, tabs,
        `_`, blank lines); open-vocabulary scoring charges these gaps (`lmzoo.spelling.LayoutModel`).
        A tokenizer that keeps every character (char, byte-level BPE) has nothing to charge.
        """
        return iter(())

    def save(self, path: str | Path) -> None:
        write_text_atomic(path, json.dumps(self.get_config(), ensure_ascii=False))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocabulary_size={self.vocabulary_size()}, {self.options})"


class CharTokenizer(VocabularyTokenizer):
    """One id per character (Unicode code point), so it works for Chinese unchanged.

    Newlines are ordinary characters; `</s>` is never emitted by `encode`.
    """

    kind = "char"

    @classmethod
    def fit(cls, text: str, min_count: int = 1) -> CharTokenizer:
        counts = Counter(nfc(text))
        chars = sorted(ch for ch, n in counts.items() if n >= min_count)
        return cls([*SPECIALS, *chars], min_count=min_count)

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index.get(ch, UNK) for ch in nfc(text)]

    def decode(self, ids: Iterable[int]) -> str:
        vocab = self.vocabulary
        return "".join(vocab[i] if i > EOS else ("\ufffd" if i == UNK else "") for i in ids)

    def unknown_pieces(self, text: str) -> list[str]:
        """The text each `<unk>` of `encode(text)` stands for, in order (open-vocabulary scoring)."""
        return [ch for ch in nfc(text) if ch not in self.index]


class WordTokenizer(VocabularyTokenizer):
    """Words with `<unk>` below `min_count`, and `</s>` at the end of every line.

    With `split="whitespace"` a pre-tokenised corpus such as PTB is read exactly as Mikolov's
    setup counts it (its literal `<unk>` is our `<unk>`); `split="regex"` separates punctuation
    and treats each Han character as a word, unless `segmenter="jieba"` cuts runs of Han characters
    into words (jieba is the optional extra `zh`).

    Example:
        >>> WordTokenizer.fit("x").words("iPhone手机很好, café")
        ['iPhone', '手', '机', '很', '好', ',', 'café']
    """

    kind = "word"

    @classmethod
    def fit(
        cls,
        text: str,
        min_count: int = 1,
        max_size: int | None = None,
        split: Literal["whitespace", "regex"] = "regex",
        lowercase: bool = False,
        eos_per_line: bool = True,
        segmenter: str | None = None,
    ) -> WordTokenizer:
        if segmenter is not None and segmenter not in SEGMENTERS:
            raise LmzooError(f"unknown segmenter '{segmenter}'", f"use one of {', '.join(SEGMENTERS)}, or none")
        if segmenter is not None and split != "regex":
            raise LmzooError(f"segmenter={segmenter} needs split=regex, not {split}", "drop one of the two")
        options = {"segmenter": segmenter} if segmenter else {}  # absent when unused: old runs load unchanged
        tok = cls(list(SPECIALS), split=split, lowercase=lowercase, eos_per_line=eos_per_line,
                  min_count=min_count, max_size=max_size, **options)
        counts = Counter(w for line in text.splitlines() for w in tok.words(line))
        kept = [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count and w not in SPECIALS]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        if not kept:
            raise LmzooError(
                f"the vocabulary is empty: all {len(counts)} distinct words occur fewer than {min_count} times",
                "lower min_count or give more text",
            )
        return cls([*SPECIALS, *kept], **tok.options)

    def words(self, line: str) -> list[str]:
        return self._split(self._normalize(line))

    def _normalize(self, line: str) -> str:
        line = nfc(line)
        return line.lower() if self.options.get("lowercase") else line

    def _split(self, line: str) -> list[str]:
        if self.options.get("split") == "whitespace":
            return line.split()
        if not self.options.get("segmenter"):
            return _WORD_RE.findall(line)
        cut = _jieba().lcut
        words: list[str] = []
        for piece in _WORD_RUN_RE.findall(line):
            words.extend(cut(piece) if len(piece) > 1 and _HAN_RE.match(piece) else [piece])
        return words

    def encode(self, text: str) -> list[int]:
        # The hot path of every word model's scoring: the text normalised once, not line by line
        # (NFC and lowercasing never cross a line break), and one C-level dict lookup a word.
        eos = self.options.get("eos_per_line", True)
        lookup, split = self._text_ids.__getitem__, self._split
        ids: list[int] = []
        for words in map(split, self._normalize(text).splitlines()):
            if words:
                ids += map(lookup, words)
                if eos:
                    ids.append(EOS)
        return ids

    def layout_gaps(self, text: str) -> Iterator[tuple[tuple[str, str, str], str]]:
        """What lies between the words (`VocabularyTokenizer.layout_gaps`)."""
        return _gaps(text, lambda line: (n := self._normalize(line), self._split(n)), self.options.get("eos_per_line", True))

    def decode(self, ids: Iterable[int]) -> str:
        out, line = [], []
        for i in ids:
            if i == EOS:
                out.append(" ".join(line))
                line = []
            elif i not in (PAD, BOS):
                line.append(self.vocabulary[i])
        text = "\n".join(out + ([" ".join(line)] if line else []))
        return text + ("\n" if not line and out else "")

    def unknown_pieces(self, text: str) -> list[str]:
        """The word each `<unk>` of `encode(text)` stands for, in order (open-vocabulary scoring)."""
        return [w for line in text.splitlines() for w in self.words(line) if self._word_id(w) == UNK]

    def _word_id(self, word: str) -> int:
        """A word's id as `encode` gives it: a literal <s>, </s> or <pad> is an unknown word, never the
        special id (only <unk> is)."""
        return self._text_ids[word]

    @functools.cached_property
    def _text_ids(self) -> dict[str, int]:
        """`index` as text reaches it: any other word, and the literal <s>, </s> and <pad>, is <unk>."""
        return _UnknownIsUnk({**self.index, **dict.fromkeys(_NOT_FROM_TEXT, UNK)})


class SubwordTokenizer(VocabularyTokenizer):
    """WordPiece subwords trained on the corpus with keras-nlp's own tools; `</s>` ends each line."""

    kind = "subword"

    @classmethod
    def fit(cls, text: str, vocabulary_size: int = 2000, lowercase: bool = False) -> SubwordTokenizer:
        import keras_nlp  # lazy: keeps TensorFlow out of the import of this module
        import tensorflow as tf

        lines = [nfc(line) for line in text.splitlines() if line.strip()]
        if not lines:
            raise LmzooError("cannot fit a subword tokenizer on empty text", "give a corpus with text in it")
        vocab = keras_nlp.tokenizers.compute_word_piece_vocabulary(
            tf.data.Dataset.from_tensor_slices(lines).batch(1024),
            vocabulary_size=vocabulary_size,
            lowercase=lowercase,
            reserved_tokens=list(SPECIALS),
        )
        return cls(vocab, vocabulary_size=vocabulary_size, lowercase=lowercase)

    def _wordpiece(self):
        if not hasattr(self, "_layer"):
            import keras_nlp

            self._layer = keras_nlp.tokenizers.WordPieceTokenizer(
                vocabulary=self.vocabulary, lowercase=self.options.get("lowercase", False),
                oov_token="<unk>", dtype="int32",
            )
        return self._layer

    def encode(self, text: str) -> list[int]:
        lines = [nfc(line) for line in text.splitlines() if line.strip()]
        if not lines:
            return []
        rows = self._wordpiece()(lines)
        ids: list[int] = []
        for row in rows.to_list() if hasattr(rows, "to_list") else rows:
            ids.extend(row)
            ids.append(EOS)
        return ids

    def layout_gaps(self, text: str) -> Iterator[tuple[tuple[str, str, str], str]]:
        """What lies between the words as WordPiece splits them (`VocabularyTokenizer.layout_gaps`)."""
        return _gaps(text, lambda line: (n := nfc(line), _WORDPIECE_SPLIT_RE.findall(n)), eos_per_line=True)

    def decode(self, ids: Iterable[int]) -> str:
        lines, line = [], []
        for i in ids:
            if i == EOS:
                lines.append(line)
                line = []
            elif i > EOS or i == UNK:
                line.append(self.vocabulary[i])
        lines.append(line)
        text = "\n".join(" ".join(tokens).replace(" ##", "") for tokens in lines)
        return text

    def unknown_pieces(self, text: str) -> list[str]:
        """The word each `<unk>` of `encode(text)` stands for, in order (open-vocabulary scoring).

        WordPiece replaces a word it cannot spell from its pieces by one `<unk>`. Words are split
        here on whitespace, punctuation and Han characters as WordPiece splits them; a word that
        WordPiece splits further and that holds several `<unk>` is charged whole for each (rare).
        """
        words = [w for line in text.splitlines() for w in _WORDPIECE_SPLIT_RE.findall(line)]
        if not words:
            return []
        rows = self._wordpiece()(words)
        rows = rows.to_list() if hasattr(rows, "to_list") else rows
        return [word for word, row in zip(words, rows, strict=True) for i in row if i == UNK]


def _gaps(text: str, split: Any, eos_per_line: bool) -> Iterator[tuple[tuple[str, str, str], str]]:
    """(context, gap) before each word that `split(line) -> (normalised line, words)` finds, and at the end.

    The gap is the text since the previous word: spaces, tabs, dropped characters and, across a
    line end, the rest of the line, its line break and any blank lines. Its context is what a
    decoder of the ids knows: "line" at the start and after an emitted `</s>`, else "word"; and
    the kind of character on each side (`_side`: "^" and "$" at the ends).

    Example:
        >>> list(_gaps("a  b\\n\\n_c.", lambda line: (line, line.replace("_", " ").replace(".", " .").split()), True))[1:]
        [(('word', 'w', 'w'), '  '), (('line', 'w', 'w'), '\\n\\n_'), (('word', 'w', '.'), ''), (('line', '.', '$'), '')]
    """
    pending, kind, before = "", "line", "^"
    for line in text.splitlines(keepends=True):
        body = line.splitlines()[0]
        normalised, words = split(body)
        if not words:
            pending += line
            continue
        position = 0
        for word in words:
            found = normalised.find(word, position)
            if found < 0:
                raise LmzooError(f"the word {word!r} is not in its line {normalised!r}", "report this tokenizer bug")
            yield (kind, before, _side(word[0])), pending + normalised[position:found]
            pending, kind, before, position = "", "word", _side(word[-1]), found + len(word)
        pending, kind = normalised[position:] + line[len(body):], "line" if eos_per_line else "word"
    yield (kind, before, "$"), pending


def _side(char: str) -> str:
    """A word's edge character as a layout context: "h" Han, "w" other word characters, else itself."""
    return "h" if _HAN_RE.match(char) else "w" if char.isalnum() or char == "_" else char


TOKENIZERS: dict[str, type[VocabularyTokenizer]] = {
    cls.kind: cls for cls in (CharTokenizer, WordTokenizer, SubwordTokenizer)
}


def register_tokenizer(cls: type[VocabularyTokenizer]) -> type[VocabularyTokenizer]:
    """Let `load_tokenizer` rebuild `cls` by its `kind` (a family's own tokenizer, e.g. GPT-2's with zoo ids).

    The family module registers it when imported, which loading a run of that family does first.
    """
    TOKENIZERS[cls.kind] = cls
    return cls


def fit_tokenizer(kind: str, text: str, word_split: str = "regex", **options: Any) -> VocabularyTokenizer:
    """Fit a tokenizer of `kind` ("char", "word" or "subword") on `text`.

    `word_split` ("regex", "whitespace", or a segmenter name such as "jieba") applies to words only.

    Example:
        >>> fit_tokenizer("word", "a b a\\n").encode("a c")
        [4, 1, 3]
    """
    if kind not in TOKENIZERS:
        from lmzoo.errors import did_you_mean

        raise LmzooError(f"unknown tokenizer '{kind}'", did_you_mean(kind, TOKENIZERS))
    if not text.strip():
        raise LmzooError("cannot fit a tokenizer on empty text", "give a corpus with text in it")
    if kind == "word":
        if word_split in SEGMENTERS:  # a corpus whose Han runs are cut by a segmenter (Corpus.segmented)
            options.setdefault("segmenter", word_split)
            word_split = "regex"
        options.setdefault("split", word_split)
    return TOKENIZERS[kind].fit(text, **options)


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """The ids of a prompt to be continued: without the `</s>` that closes every line.

    The word and subword tokenizers end each line with `</s>`; a prompt ending with it would make
    a model start a new line instead of continuing. A prompt that itself ends with a newline keeps it.

    Example:
        >>> tok = fit_tokenizer("word", "the cat sat\\n")
        >>> tok.encode("the cat"), encode_prompt(tok, "the cat"), encode_prompt(tok, "the cat\\n")
        ([6, 4, 3], [6, 4], [6, 4, 3])
    """
    ids = tokenizer.encode(text)
    if ids and ids[-1] == EOS and not text.endswith("\n"):
        ids = ids[:-1]
    return ids


def load_tokenizer(path: str | Path) -> VocabularyTokenizer:
    """Rebuild a tokenizer saved with `save` (plain JSON)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cls = TOKENIZERS[data["kind"]]
        return cls(data["vocabulary"], **data.get("options", {}))
    except FileNotFoundError:
        raise LmzooError(f"'{path}' is missing", "is this a run directory?") from None
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise LmzooError(f"'{path}' is not a saved tokenizer ({type(err).__name__}: {err})", "retrain the run") from None
