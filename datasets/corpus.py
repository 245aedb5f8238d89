"""A corpus is three strings (train, valid, test) plus where they came from.

`load_corpus` takes a catalog name or a path to a user's text file or folder of `.txt` files
(split by lines: 80% train, 10% valid, 10% test; a text of fewer than 10 lines, such as one long
line, by characters; a text too short for three non-empty splits is refused, so no model is ever
scored on its own training text).
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import importlib.util
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from lmzoo.datasets.catalog import CATALOG, CatalogEntry, SplitSpec
from lmzoo.datasets.download import data_dir, ensure_file
from lmzoo.errors import LmzooError, did_you_mean

SPLITS = ("train", "valid", "test")
_FRACTIONS = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}
_MIN_LINES = 10  # below this, 10% of the lines may be no line at all: split by characters


@dataclass(frozen=True)
class Corpus:
    """Train/valid/test text of one corpus.

    Example:
        >>> corpus = load_corpus("lee")
        >>> corpus.name, len(corpus.train) > len(corpus.test) > 0
        ('lee', True)
    """

    name: str
    train: str
    valid: str
    test: str
    language: str = "en"
    word_split: str = "regex"
    source: str = ""
    path: str = ""  # a user's file or folder, resolved ("" for catalog corpora)
    sha256: str = ""  # of the whole text as loaded, to check that `path` still holds it

    def provenance(self) -> dict[str, str]:
        """Where the text came from, as recorded in a run's config.json (see `reload_corpus`)."""
        return {"corpus": self.name, "corpus_path": self.path, "corpus_sha256": self.sha256}

    def fingerprint(self) -> dict[str, str]:
        """Provenance plus the sha256 of the training text: what a resumed run must match."""
        return {**self.provenance(), "train_sha256": hashlib.sha256(self.train.encode("utf-8")).hexdigest()}

    def split(self, name: str) -> str:
        if name not in SPLITS:
            raise LmzooError(f"unknown split '{name}'", did_you_mean(name, SPLITS))
        return getattr(self, name)

    def segmented(self, segmenter: str) -> Corpus:
        """The same corpus, its words cut by `segmenter` ("jieba") inside runs of Han characters."""
        from lmzoo.datasets.tokenizers import SEGMENTERS

        if segmenter not in SEGMENTERS:
            raise LmzooError(f"unknown segmenter '{segmenter}'", f"use one of {', '.join(SEGMENTERS)}, or none")
        if self.word_split != "regex":
            raise LmzooError(f"corpus '{self.name}' is split on {self.word_split}; a segmenter needs regex", "drop --set segmenter")
        return dataclasses.replace(self, word_split=segmenter)

    def sentences(self, split: str) -> list[str]:
        """The split's sentences: for English, each line cut at sentence ends; for Chinese, at 。！？."""
        return split_sentences(self.split(split), self.language)


_SENTENCE_END = {
    "en": re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])"),
    "zh": re.compile(r"(?<=[。！？])"),
}


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split text into sentences: one or more per non-empty line.

    Example:
        >>> split_sentences("It rained. Then it stopped!\\nNew line")
        ['It rained.', 'Then it stopped!', 'New line']
    """
    pattern = _SENTENCE_END.get(language, _SENTENCE_END["en"])
    return [s.strip() for line in text.splitlines() for s in pattern.split(line) if s.strip()]


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 (a byte-order mark dropped) or UTF-16 by its byte-order mark; anything else is one line
    that names the likely encoding (Windows editors save Windows-1252)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")  # the BOM says which byte order, and is dropped
        except UnicodeDecodeError as err:
            raise LmzooError(f"'{path}' starts with a UTF-16 byte-order mark but is not UTF-16 "
                             f"(bad bytes at offset {err.start})", "save it as UTF-8") from None
    if b"\x00" in raw:  # anywhere: a zero-filled tail (a crash artefact) would become a vocabulary token
        raise LmzooError(f"'{path}' looks binary (it has NUL bytes)", "give a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        likely = "Windows-1252 (or Latin-1)"
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            likely = "Latin-1 or another 8-bit code page"
        raise LmzooError(f"'{path}' is not UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}); it looks like "
                         f"{likely}", "save it as UTF-8, e.g. `iconv -f cp1252 -t utf-8 FILE > FILE.utf8`") from None


def read_text(path: Path) -> str:
    """Read a text file (NFC-normalised, `\n` line ends), with one-line errors for missing, binary,
    undecodable or empty files. UTF-8 with or without a byte-order mark, and UTF-16 with one, are
    read; CRLF and CR line ends become `\n`, so a file saved by a Windows editor trains as its twin."""
    try:
        if not path.exists():
            raise LmzooError(f"'{path}' does not exist", "check the path, or run `lmzoo corpora` for catalog names")
        if path.is_dir():
            raise LmzooError(f"'{path}' is a folder", "give a text file, or a folder holding .txt files")
        raw = path.read_bytes()
    except OSError as err:
        raise LmzooError(f"cannot read '{path}' ({err.strerror or err})", "check its permissions") from None
    text = _decode(raw, path)
    if not text.strip():
        raise LmzooError(f"'{path}' is empty", "give a file with text in it")
    # NFC: the same character typed two ways (é, or e + combining accent) is one token everywhere.
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def split_user_text(text: str, where: str = "the text") -> tuple[dict[str, str], str]:
    """Train/valid/test of a user's text and the rule used: 80/10/10 by lines, else by characters.

    Each split must hold some text, so no model is scored on text it was trained on.

    Example:
        >>> splits, rule = split_user_text("one long line of words " * 20)
        >>> rule.split(":")[0], [len(splits[s]) for s in SPLITS]
        ('characters', [368, 46, 47])
    """
    text = text.strip("\n") + "\n"  # blank lines at the ends would make a split of nothing but newlines

    def split_by(unit: str) -> dict[str, str]:
        return {name: _slice(text, SplitSpec("", unit, *fractions)) for name, fractions in _FRACTIONS.items()}

    lines = [line for line in text.splitlines() if line.strip()]
    splits = split_by("lines") if len(lines) >= _MIN_LINES else {}
    rule = "lines: first 80% train, next 10% valid, last 10% test"
    if not splits or not all(part.strip() for part in splits.values()):
        splits = split_by("chars")
        rule = f"characters: first 80% train, next 10% valid, last 10% test (fewer than {_MIN_LINES} lines)"
    if not all(part.strip() for part in splits.values()):
        raise LmzooError(f"{where} is too short to split into train, valid and test ({len(text.strip())} characters)",
                         "give a longer text: a model must never be scored on the text it was trained on")
    return splits, rule


def _slice(text: str, spec: SplitSpec) -> str:
    if spec.unit == "chars":
        n = len(text)
        return text[int(n * spec.start) : int(n * spec.end)]
    lines = text.splitlines(keepends=True)
    n = len(lines)
    return "".join(lines[math.floor(n * spec.start + 1e-9) : math.floor(n * spec.end + 1e-9)])


def gensim_test_data() -> Path:
    """The folder of test data in gensim's installed wheel (Lee corpus, word-similarity sets)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise LmzooError("gensim is not installed", "pip install gensim (it ships the embedded corpus)")
    return Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"


def _entry_files(entry: CatalogEntry, directory: Path, allow_download: bool) -> dict[str, Path]:
    if entry.embedded:
        return {spec.path: gensim_test_data() / spec.path for spec in entry.splits.values()}
    return {f.path: ensure_file(f, directory, allow_download) for f in entry.files}


def load_corpus(
    name_or_path: str | os.PathLike, data_dir_override: str | os.PathLike | None = None, allow_download: bool = True
) -> Corpus:
    """Load a catalog corpus by name, or a user's text file or folder by path.

    Catalog files are looked up in the data directory (see `data_dir`), verified by sha256,
    and downloaded when missing.
    """
    name = str(name_or_path)
    if name in CATALOG:
        entry = CATALOG[name]
        if "kind" in entry.extra:  # labelled examples or pairs: their text, with the task's own splits
            from lmzoo.datasets.labelled import as_text_corpus, load_task_data

            return as_text_corpus(load_task_data(name, data_dir_override, allow_download))
        if entry.extra.get("reader") == "imdb":
            from lmzoo.datasets import imdb

            return imdb.load_text(entry, data_dir(data_dir_override), allow_download)
        paths = _entry_files(entry, data_dir(data_dir_override), allow_download)
        texts = {path: read_text(p) for path, p in paths.items()}
        splits = {split: _slice(texts[spec.path], spec) for split, spec in entry.splits.items()}
        return Corpus(name, **splits, language=entry.language, word_split=entry.word_split, source=entry.description)
    path = Path(name).expanduser()
    if not path.exists():
        if os.sep in name or "." in name:
            raise LmzooError(f"'{path}' does not exist", "check the path")
        raise LmzooError(f"unknown corpus '{name}'", did_you_mean(name, CATALOG) + ", or a path to a text file")
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise LmzooError(f"folder '{path}' has no .txt files", "put UTF-8 .txt files in it")
        text = "".join(read_text(f).rstrip("\n") + "\n" for f in files)
    else:
        text = read_text(path)
    splits, rule = split_user_text(text, f"'{path}'")
    language = "zh" if _mostly_han(text) else "en"
    return Corpus(path.stem, **splits, language=language, source=f"{path} ({rule})", path=str(path.resolve()),
                  sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


def reload_corpus(recorded: dict, data_dir_override: str | os.PathLike | None = None) -> Corpus:
    """The corpus a run was trained on, from the `provenance` in its config.json.

    A user's file is reloaded from its recorded resolved path and must still have the recorded
    sha256 (never looked up by its file stem, which could name a catalog corpus); a catalog
    corpus is reloaded by name.
    """
    name, path, sha256 = recorded.get("corpus"), recorded.get("corpus_path"), recorded.get("corpus_sha256")
    if path:
        corpus = load_corpus(path, data_dir_override)
        if sha256 and corpus.sha256 != sha256:
            raise LmzooError(f"'{path}' changed since the run was trained on it (sha256 {corpus.sha256[:16]}..., "
                             f"recorded {sha256[:16]}...)", "pass the text to score with --corpus")
        return corpus
    if name not in CATALOG:
        raise LmzooError(f"the run does not record where its corpus '{name}' came from",
                         "pass the text to score with --corpus")
    return load_corpus(name, data_dir_override)


def _mostly_han(text: str) -> bool:
    sample = text[:5000]
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in sample)
    return han > 0.3 * max(1, sum(not ch.isspace() for ch in sample))


def list_corpora(data_dir_override: str | os.PathLike | None = None) -> list[dict]:
    """Each catalog entry with whether its files are present (and verified) in the data directory."""
    directory = data_dir(data_dir_override)
    rows = []
    for entry in CATALOG.values():
        if entry.embedded:
            status = "embedded"
        else:
            missing = [f.path for f in entry.files if not (directory / f.path).exists()]
            status = "present" if not missing else f"missing {len(missing)} of {len(entry.files)} files"
        rows.append({"name": entry.name, "status": status, "description": entry.description,
                     "licence": entry.licence, "split_rule": entry.split_rule})
    return rows
