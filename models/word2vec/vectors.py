"""Word vectors: the Embedder protocol's queries, export and loading, shared by both families."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lmzoo.errors import LmzooError
from lmzoo.models.word2vec.config import EXPORT_FORMATS

if TYPE_CHECKING:
    from gensim.models import KeyedVectors


def _keyed_vectors(words: Sequence[str], vectors: np.ndarray) -> KeyedVectors:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(list(words), np.asarray(vectors, dtype=np.float32))
    return kv


def check_words(vectors: KeyedVectors, words: Sequence[str]) -> None:
    """Raise LmzooError naming every query word that is not in the vocabulary."""
    missing = [w for w in words if w not in vectors.key_to_index]
    if missing:
        raise LmzooError(f"not in the vocabulary: {', '.join(repr(w) for w in missing)}",
                         f"query words the model was trained on ({len(vectors.key_to_index)} words; lower min_count to keep rarer ones)")


def similarity(vectors: KeyedVectors, first: str, second: str) -> float:
    """Cosine similarity of two words, with a clear error for an unknown word.

    Example:
        >>> kv = _keyed_vectors(["a", "b"], np.array([[1.0, 0.0], [1.0, 1.0]]))
        >>> round(similarity(kv, "a", "b"), 3)
        0.707
    """
    check_words(vectors, [first, second])
    return float(vectors.similarity(first, second))


def analogy(vectors: KeyedVectors, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
    """3CosAdd: the words closest to b - a + c ("a is to b as c is to ?"), inputs excluded.

    Example:
        >>> kv = _keyed_vectors(["man", "king", "woman", "queen"],
        ...                     np.array([[1, 0, 0.1], [1, 1, 0], [0, 0, 1.1], [0, 1, 1]]))
        >>> analogy(kv, "man", "king", "woman")[0][0]
        'queen'
    """
    check_words(vectors, [a, b, c])
    return [(w, float(s)) for w, s in vectors.most_similar(positive=[b, c], negative=[a], topn=topn)]


def load_vectors(path: str | Path, dimension: int | None = None, binary: bool | None = None) -> KeyedVectors:
    """Read word2vec text or binary vectors, checking their dimension when `dimension` is given.

    `binary=None` guesses from the suffix (.bin is binary).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> _keyed_vectors(["a"], np.ones((1, 3))).save_word2vec_format(path)
        >>> load_vectors(path, dimension=3).vector_size
        3
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise LmzooError(f"vectors file '{path}' does not exist", "export one with `lmzoo export RUN --format word2vec`")
    binary = path.suffix == ".bin" if binary is None else binary
    try:
        with open(path, "rb") as f:
            header = f.readline().split()
        found = int(header[1])
        vectors = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except (ValueError, IndexError, UnicodeDecodeError, EOFError) as err:
        raise LmzooError(f"'{path}' is not a word2vec {'binary' if binary else 'text'} file ({err})",
                         "check the file and the binary flag") from None
    if dimension is not None and found != dimension:
        raise LmzooError(f"'{path}' holds {found}-dimensional vectors but {dimension} were expected",
                         f"train or load with --set dimension={found}")
    return vectors


def export_vectors(vectors: KeyedVectors, format: str, path: str | Path) -> None:
    """Write vectors as word2vec text, word2vec binary, or projector TSV (a folder).

    The projector folder holds `vectors.tsv` (one row of numbers per word) and
    `metadata.tsv` (the words, same order), which projector.tensorflow.org loads.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "proj"
        >>> export_vectors(_keyed_vectors(["a"], np.ones((1, 2))), "projector", out)
        >>> (out / "metadata.tsv").read_text()
        'a\\n'
    """
    if format not in EXPORT_FORMATS:
        raise LmzooError(f"unknown export format '{format}'", f"valid: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    if format == "projector":
        path.mkdir(parents=True, exist_ok=True)
        np.savetxt(path / "vectors.tsv", vectors.vectors, delimiter="\t", fmt="%.6g")
        # The projector reads one label per line; a tab or newline inside a word would shift rows.
        words = [w.replace("\t", " ").replace("\n", " ") for w in vectors.index_to_key]
        (path / "metadata.tsv").write_text("".join(w + "\n" for w in words), encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        vectors.save_word2vec_format(str(path), binary=format == "word2vec-binary")


class _VectorsMixin:
    """Queries and export shared by both families (they differ only in where vectors live)."""

    export_formats = EXPORT_FORMATS

    def word_vectors(self) -> KeyedVectors:
        raise NotImplementedError

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The `topn` nearest words by cosine similarity."""
        vectors = self.word_vectors()
        check_words(vectors, [word])
        return [(w, float(s)) for w, s in vectors.most_similar(word, topn=topn)]

    def similarity(self, first: str, second: str) -> float:
        """Cosine similarity of two vocabulary words."""
        return similarity(self.word_vectors(), first, second)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """"a is to b as c is to ?" by 3CosAdd."""
        return analogy(self.word_vectors(), a, b, c, topn)

    def export(self, format: str, path: str | Path) -> None:
        """Write the word vectors in one of `export_formats`."""
        export_vectors(self.word_vectors(), format, path)
