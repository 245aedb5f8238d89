"""GPT-2's byte-level BPE behind the zoo's Tokenizer protocol, with raw ids or with zoo ids.

`BPETokenizer` gives GPT-2's own ids (id 0 is "!", `<|endoftext|>` is both start and end) for
scoring and generation with the pre-trained head. `ZooIdsBPETokenizer` moves every id up by four,
so that ids 0-3 are `<pad>`, `<unk>`, `<s>`, `</s>` as for every other zoo tokenizer: fine-tuning
pads with 0, and the task code needs no GPT-2 special case. `train_byte_level_bpe` learns a small
vocabulary for the tiny offline preset.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmzoo.datasets.tokenizers import SPECIALS, VocabularyTokenizer, register_tokenizer
from lmzoo.errors import LmzooError
from lmzoo.runs import write_text_atomic


def _byte_decoder() -> dict[str, int]:
    """GPT-2's map from its 256 printable stand-in characters back to byte values.

    The table of GPT-2's `encoder.py` (`bytes_to_unicode`), kept here rather than imported from
    a private keras-hub module: printable Latin-1 bytes stand for themselves, and the other 68
    bytes are moved to code points from 256 up, in byte order.

    Example:
        >>> decoder = _byte_decoder()
        >>> len(decoder), decoder["A"], decoder["Ġ"], decoder["Ċ"]  # Ġ is the space, Ċ the newline
        (256, 65, 32, 10)
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shift = {}, 0
    for byte in range(256):
        if byte in printable:
            table[chr(byte)] = byte
        else:
            table[chr(256 + shift)] = byte
            shift += 1
    return table


class BPETokenizer:
    """The zoo's Tokenizer protocol over a keras-nlp `GPT2Tokenizer` (byte-level BPE).

    Encoding is keras-nlp's; decoding maps ids to bytes first, so that text is only made
    from complete UTF-8 characters (a Han character is often split over two or three ids).

    Example:
        >>> import keras_nlp
        >>> vocabulary, merges = train_byte_level_bpe("the cat sat on the mat", 300)
        >>> tokenizer = BPETokenizer(keras_nlp.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges))
        >>> tokenizer.decode(tokenizer.encode("我明天要去看电影。"))
        '我明天要去看电影。'
    """

    kind = "gpt2-bpe"
    unk_id = None  # byte-level BPE has no unknown token: every text encodes

    def __init__(self, layer: Any):
        self.layer = layer
        self.vocabulary = list(layer.get_vocabulary())
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        self.end_token_id = int(layer.end_token_id)
        self.start_token_id = int(layer.start_token_id)
        decoder = _byte_decoder()
        # Special tokens such as <|endoftext|> are not made of stand-in characters: their
        # bytes are their own UTF-8 spelling.
        self._bytes = [
            bytes(decoder[c] for c in token) if all(c in decoder for c in token) else token.encode("utf-8")
            for token in self.vocabulary
        ]

    def encode(self, text: str) -> list[int]:
        """BPE ids of `text`, without start or end token."""
        if not text:
            return []
        return np.asarray(self.layer.tokenize(text)).astype(np.int64).tolist()

    def layout_gaps(self, text: str) -> Iterator[tuple[tuple[str, str, str], str]]:
        """Nothing: byte-level BPE keeps every character (`VocabularyTokenizer.layout_gaps`)."""
        return iter(())

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The raw bytes the ids stand for (may end inside a character)."""
        return b"".join(self._bytes[int(i)] for i in ids)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the ids; bytes that are not valid UTF-8 become U+FFFD (never for encoded text)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_stream(self, ids: Sequence[int]) -> Iterator[str]:
        """Text piece by piece as ids arrive, never emitting half a character.

        Example:
            ids = tokenizer.encode("电影")   # 6 byte-level ids
            list(tokenizer.decode_stream(ids))  # ['电', '影']: never a lone U+FFFD
        """
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for i in ids:
            piece = decoder.decode(self._bytes[int(i)])
            if piece:
                yield piece

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def token_to_id(self, token: str) -> int:
        if token not in self.index:
            raise LmzooError(f"'{token}' is not a GPT-2 BPE token", "byte-level BPE has no <unk>; encode text instead")
        return self.index[token]

    def id_to_token(self, index: int) -> str:
        return self.vocabulary[index]

    def save(self, path: str | Path) -> None:
        """Plain JSON: kind, vocabulary (token -> id) and merges; rebuilt with `BPETokenizer.load`."""
        data = {"kind": self.kind, "vocabulary": self.index, "merges": list(self.layer.merges)}
        write_text_atomic(path, json.dumps(data, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Rebuild a tokenizer written by `save`."""
        import keras_nlp

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(keras_nlp.models.GPT2Tokenizer(vocabulary=data["vocabulary"], merges=data["merges"]))
        except FileNotFoundError:
            raise LmzooError(f"'{path}' is missing", "save the tokenizer first") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise LmzooError(f"'{path}' is not a saved GPT-2 tokenizer ({type(err).__name__})") from None

    def __repr__(self) -> str:
        return f"BPETokenizer(vocabulary_size={self.vocabulary_size()})"


def train_byte_level_bpe(text: str, vocabulary_size: int = 512) -> tuple[dict[str, int], list[str]]:
    """GPT-2-style vocabulary and merges learned from `text`.

    The vocabulary holds all 256 byte stand-ins (so any text, Chinese included, encodes
    without loss), the most frequent merges up to `vocabulary_size`, and `<|endoftext|>` last
    (as in GPT-2, where it is id 50256).
    Learned with the `tokenizers` BPE trainer that keras-nlp itself depends on.

    Example:
        >>> vocabulary, merges = train_byte_level_bpe("the cat sat on the mat", 270)
        >>> len(vocabulary) <= 270 and merges[0].count(" ") == 1
        True
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    if vocabulary_size < 257:
        raise LmzooError(f"vocabulary_size={vocabulary_size} must be >= 257", "256 bytes plus <|endoftext|>")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocabulary_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(text.splitlines() or [text], trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    # The trainer puts <|endoftext|> first; GPT-2 has it last, and keras-nlp pads with id 0,
    # which must not read as an end token during generation.
    tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda item: item[1]) if t != "<|endoftext|>"]
    vocabulary = {token: i for i, token in enumerate([*tokens, "<|endoftext|>"])}
    return vocabulary, merges




@register_tokenizer
class ZooIdsBPETokenizer(VocabularyTokenizer):
    """GPT-2's byte-level BPE with every id moved up by four, past `<pad>`, `<unk>`, `<s>` and `</s>`.

    The tokenizer a fine-tuned GPT-2 reads (`GPT2Model.backbone_tokenizer()`): padding with 0 and
    the task code's `<s>`/`</s>` mean what they mean for every zoo tokenizer, and
    `ZooIdsGPT2Backbone` moves the ids back down before GPT-2 sees them. Saved as plain JSON
    (vocabulary and merges) and rebuilt by `load_tokenizer`.

    Example:
        >>> import keras_nlp
        >>> vocabulary, merges = train_byte_level_bpe("the cat sat on the mat", 300)
        >>> raw = BPETokenizer(keras_nlp.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges))
        >>> zoo = ZooIdsBPETokenizer.from_bpe(raw)
        >>> [i - 4 for i in zoo.encode("the cat")] == raw.encode("the cat"), zoo.decode(zoo.encode("我"))
        (True, '我')
    """

    kind = "gpt2-bpe-zoo-ids"
    SHIFT = len(SPECIALS)

    def __init__(self, vocabulary: Sequence[str], merges: Sequence[str] = (), **options: Any):
        super().__init__(vocabulary, merges=list(merges), **options)
        import keras_nlp

        gpt2_vocabulary = {token: i for i, token in enumerate(self.vocabulary[self.SHIFT :])}
        self.bpe = BPETokenizer(keras_nlp.models.GPT2Tokenizer(vocabulary=gpt2_vocabulary, merges=list(merges)))

    @classmethod
    def from_bpe(cls, bpe: BPETokenizer) -> ZooIdsBPETokenizer:
        return cls([*SPECIALS, *bpe.vocabulary], merges=list(bpe.layer.merges))

    def encode(self, text: str) -> list[int]:
        return [i + self.SHIFT for i in self.bpe.encode(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.bpe.decode([int(i) - self.SHIFT for i in ids if int(i) >= self.SHIFT])

    def unknown_pieces(self, text: str) -> list[str]:
        return []  # byte-level: nothing is unknown
