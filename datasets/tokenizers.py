"""Tokenizers with one interface: character, word and subword (keras-nlp WordPiece).

Every tokenizer reserves ids 0-3 for `<pad>`, `<unk>`, `<s>` and `</s>`, saves to plain JSON
(never pickle), and is rebuilt with `load_tokenizer`.

Example:
    >>> tok = CharTokenizer.fit("我明天要去看电影。")
    >>> tok.decode(tok.encode("电影")) == "电影"
    True
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from lmzoo.errors import LmzooError
from lmzoo.runs import write_text_atomic

SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
PAD, UNK, BOS, EOS = range(4)
_NOT_FROM_TEXT = frozenset(SPECIALS) - {"<unk>"}

# Words, numbers, single Han characters (no segmenter needed), and punctuation; <unk> kept whole.
_WORD_RE = re.compile(r"<unk>|[\u4e00-\u9fff]|[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,]\d+)*|[^\w\s]")


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
        counts = Counter(text)
        chars = sorted(ch for ch, n in counts.items() if n >= min_count)
        return cls([*SPECIALS, *chars], min_count=min_count)

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index.get(ch, UNK) for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        vocab = self.vocabulary
        return "".join(vocab[i] if i > EOS else ("\ufffd" if i == UNK else "") for i in ids)


class WordTokenizer(VocabularyTokenizer):
    """Words with `<unk>` below `min_count`, and `</s>` at the end of every line.

    With `split="whitespace"` a pre-tokenised corpus such as PTB is read exactly as Mikolov's
    setup counts it (its literal `<unk>` is our `<unk>`); `split="regex"` separates punctuation
    and treats each Han character as a word.
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
    ) -> WordTokenizer:
        tok = cls(list(SPECIALS), split=split, lowercase=lowercase, eos_per_line=eos_per_line,
                  min_count=min_count, max_size=max_size)
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
        if self.options.get("lowercase"):
            line = line.lower()
        return line.split() if self.options.get("split") == "whitespace" else _WORD_RE.findall(line)

    def encode(self, text: str) -> list[int]:
        index, eos = self.index, self.options.get("eos_per_line", True)
        ids: list[int] = []
        for line in text.splitlines():
            words = self.words(line)
            if not words:
                continue
            # A literal <s>, </s> or <pad> in the text is an unknown word, never the special id; only <unk> is.
            ids.extend(UNK if w in _NOT_FROM_TEXT else index.get(w, UNK) for w in words)
            if eos:
                ids.append(EOS)
        return ids

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


class SubwordTokenizer(VocabularyTokenizer):
    """WordPiece subwords trained on the corpus with keras-nlp's own tools; `</s>` ends each line."""

    kind = "subword"

    @classmethod
    def fit(cls, text: str, vocabulary_size: int = 2000, lowercase: bool = False) -> SubwordTokenizer:
        import keras_nlp  # lazy: keeps TensorFlow out of the import of this module
        import tensorflow as tf

        lines = [line for line in text.splitlines() if line.strip()]
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
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return []
        rows = self._wordpiece()(lines)
        ids: list[int] = []
        for row in rows.to_list() if hasattr(rows, "to_list") else rows:
            ids.extend(row)
            ids.append(EOS)
        return ids

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


TOKENIZERS: dict[str, type[VocabularyTokenizer]] = {
    cls.kind: cls for cls in (CharTokenizer, WordTokenizer, SubwordTokenizer)
}


def fit_tokenizer(kind: str, text: str, word_split: str = "regex", **options: Any) -> VocabularyTokenizer:
    """Fit a tokenizer of `kind` ("char", "word" or "subword") on `text`.

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
        options.setdefault("split", word_split)
    return TOKENIZERS[kind].fit(text, **options)


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
