"""IMDB (Maas et al. 2011): unlabelled reviews as a text corpus, labelled reviews as a sentiment task.

- `imdb-unsup`: the 50,000 unlabelled reviews (11.7 M words) for pre-training language models on
  in-domain text (Dai & Le 2015; Howard & Ruder 2018) and for the crossover atlas;
- `imdb`: the 25,000 + 25,000 labelled reviews (the official train/test split) as a labelled task.

The raw reviews need care (HTML line breaks and entities, Windows-1252 punctuation stored as C1
control characters): `clean_review` does all of it, and `read_reviews` splits on `\\n` only.
Splits are disjoint at the review level, compared after `normalise` (case and spacing): duplicates
are dropped, and no review of the labelled test set is in any other split or in `imdb-unsup`.
Offline, the five one-review-a-line files in the data directory are read (sha256-checked); online,
the canonical archive is downloaded once, checked, and turned into the same five files.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import tarfile
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from lmzoo.datasets.catalog import CatalogEntry, CorpusFile
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.download import DATA_ENV, _fetch_bytes, ensure_file
from lmzoo.datasets.labelled import LabelledData, normalise, seeded_split
from lmzoo.errors import LmzooError

ACLIMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ACLIMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
_ARCHIVE_LIMIT = 96 * 2**20  # the archive is about 84 MB

T = TypeVar("T")
_LINE_BREAKS = re.compile(r"\s*(?:<br\s*/?\s*>\s*)+", re.IGNORECASE)


def _c1_character(code_point: int) -> str:
    try:
        return bytes([code_point]).decode("cp1252")
    except UnicodeDecodeError:  # undefined in Windows-1252
        return ""


_C1_TABLE = {cp: _c1_character(cp) for cp in range(0x80, 0xA0)}


def clean_review(text: str) -> str:
    """One raw review as text: line breaks to one space, entities decoded, C1 punctuation mapped, NFC.

    In this order: every run of HTML line breaks (`<br />`, `<br/>`, `<br>`, with the spaces around
    them) becomes one space, so one review stays one line and one example; HTML entities (`&amp;`,
    `&#151;`) are decoded; Windows-1252 punctuation stored as C1 control characters (each byte
    decoded as Latin-1: U+0085 …, U+0091–U+0097 ‘ ’ “ ” • – —) is mapped to the character it stands
    for, and the five C1 code points Windows-1252 leaves undefined (U+0081, U+008D, U+008F, U+0090,
    U+009D) are dropped; then NFC normalisation, as for every corpus.

    Example:
        >>> clean_review("Great!<br /><br />I\\x92d see it again \\x96 twice\\x85")
        'Great! I’d see it again – twice…'
    """
    text = html.unescape(_LINE_BREAKS.sub(" ", text))
    return unicodedata.normalize("NFC", text.translate(_C1_TABLE)).strip()


def read_reviews(path: Path) -> list[str]:
    """The cleaned reviews of a one-review-a-line file, split on `\\n` only (never at U+0085).

    `str.splitlines()` would also break at U+0085, which occurs 1,520 times inside 677 unlabelled reviews.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise LmzooError(f"'{path}' is not UTF-8 (bad byte at offset {err.start})",
                         "delete it so that it is written again from the archive") from None
    reviews = [clean_review(line) for line in text.split("\n")]
    return [review for review in reviews if review]


def unique(items: Iterable[T], exclude: Iterable[str] = (), text: Callable[[T], str] = str) -> list[T]:
    """`items` without repeats and without those in `exclude`, compared by `normalise(text(item))`.

    Example:
        >>> unique(["Fine.", "fine. ", "Bad."], exclude={"bad."})
        ['Fine.']
    """
    seen, kept = set(exclude), []
    for item in items:
        key = normalise(text(item))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


# The archive -------------------------------------------------------------------------------------


def archive_lines(archive: bytes, folder: str) -> bytes:
    """One review a line for `aclImdb/<folder>/ID_RATING.txt` members, in id order; CR and LF bytes
    inside a review become spaces (the layout of the files in the data directory)."""
    reviews = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            parent, _, name = member.name.rpartition("/")
            if member.isfile() and parent == f"aclImdb/{folder}" and re.fullmatch(r"\d+_\d+\.txt", name):
                handle = tar.extractfile(member)
                body = handle.read() if handle else b""
                reviews.append((int(name.split("_")[0]), body.replace(b"\r", b" ").replace(b"\n", b" ")))
    if not reviews:
        raise LmzooError(f"the archive has no reviews under aclImdb/{folder}", f"download {ACLIMDB_URL} by hand")
    return b"".join(body + b"\n" for _, body in sorted(reviews))


def _folder(file: CorpusFile) -> str:
    kind, _, folder = (file.convert or "").partition(":")
    if kind != "aclimdb" or not folder:
        raise LmzooError(f"catalog file '{file.path}' names no aclImdb folder", "fix the catalog entry")
    return folder


def download_archive(files: Sequence[CorpusFile], directory: Path, url: str = ACLIMDB_URL,
                     sha256: str = ACLIMDB_SHA256) -> None:
    """Fetch the aclImdb archive once, check its sha256, and write each of `files` (checked too)."""
    try:
        archive = _fetch_bytes(url, f"downloading {Path(url).name}", 120.0, limit=_ARCHIVE_LIMIT)
    except OSError as err:  # URLError and timeouts are OSErrors
        raise LmzooError(f"the IMDB files are missing and {url} could not be downloaded "
                         f"({getattr(err, 'reason', err)})",
                         f"put the five imdb/*.txt files under {directory}, or point --data-dir / {DATA_ENV} there") from None
    got = hashlib.sha256(archive).hexdigest()
    if got != sha256:
        raise LmzooError(f"checksum mismatch for {url}: sha256 {got[:16]}..., expected {sha256[:16]}...",
                         "the server sent different bytes; nothing was written; try again or fetch it by hand")
    for file in files:
        data = archive_lines(archive, _folder(file))
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise LmzooError(f"'{file.path}' made from the archive has an unexpected sha256",
                             "the archive holds another version; nothing more was written")
        dest = directory / file.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)


def ensure_files(entry: CatalogEntry, directory: Path, allow_download: bool = True) -> dict[str, Path]:
    """The entry's files by catalog path, verified; missing ones are made from the archive."""
    missing = [f for f in entry.files if not (directory / f.path).exists()]
    if missing and allow_download:
        download_archive(missing, directory, entry.files[0].urls[0])
    return {f.path: ensure_file(f, directory, allow_download=False) for f in entry.files}


# The two corpora ---------------------------------------------------------------------------------

TEST_FILES = ("imdb/imdb_test_neg.txt", "imdb/imdb_test_pos.txt")


def labelled_test_reviews(paths: dict[str, Path]) -> set[str]:
    """The normalised labelled test reviews: kept out of every other split and of `imdb-unsup`."""
    return {normalise(review) for path in TEST_FILES for review in read_reviews(paths[path])}


def load_text(entry: CatalogEntry, directory: Path, allow_download: bool = True) -> Corpus:
    """`imdb-unsup`: the unlabelled reviews, one a line, in a seeded random order, split by review.

    Repeats and reviews of the labelled test set are dropped first; then a seeded shuffle puts
    `split["test"]` reviews in test, `split["valid"]` in valid and the rest in train, so any prefix
    of the training text is a random sample of reviews (the crossover atlas trains on prefixes).
    """
    paths = ensure_files(entry, directory, allow_download)
    reviews = unique(read_reviews(paths[entry.extra["text_file"]]), exclude=labelled_test_reviews(paths))
    cut = seeded_split(len(reviews), **entry.extra["split"])
    text = {split: "".join(reviews[i] + "\n" for i in indices) for split, indices in cut.items()}
    return Corpus(entry.name, **text, language=entry.language, word_split=entry.word_split, source=entry.description)


def load_labelled(entry: CatalogEntry, directory: Path, allow_download: bool = True) -> LabelledData:
    """`imdb`: the official 25,000 test reviews as test; `split["valid"]` training reviews (seeded) as valid.

    Training reviews that repeat one another or a test review are dropped, so the three splits are
    disjoint after `normalise`.
    """
    paths = ensure_files(entry, directory, allow_download)
    labels = entry.extra["labels"]
    test = [(review, label) for label in labels for review in read_reviews(paths[f"imdb/imdb_test_{label}.txt"])]
    train = [(review, label) for label in labels for review in read_reviews(paths[f"imdb/imdb_train_{label}.txt"])]
    pool = unique(train, exclude={normalise(review) for review, _ in test}, text=lambda example: example[0])
    cut = seeded_split(len(pool), test=0, valid=entry.extra["split"]["valid"])
    return LabelledData(entry.name, train=[pool[i] for i in cut["train"]], valid=[pool[i] for i in cut["valid"]],
                        test=test, labels=tuple(labels), source=entry.description)
