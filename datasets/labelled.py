"""Corpora for tasks: labelled examples `(text, label)` and sentence pairs `(source, target)`.

They join plain text as two more corpus kinds, read by one loader (`load_task_data`) and encoded
by the same tokenizers (char, word, subword; Chinese one character at a time):

- a **labelled** corpus (`LabelledData`): `rt-polarity` (Pang & Lee's sentence polarity data,
  "MR"), its embedded 200-sentence sample `rt-polarity-sample` (shipped in gensim's wheel), or a
  user's TSV file of `label<TAB>text` lines or fastText `__label__X text` lines;
- a **pairs** corpus (`PairData`): `tatoeba-cmn` (English–Chinese), or a user's TSV file of
  `source<TAB>target[<TAB>attribution]` lines.

Splits are fixed and seeded (`SPLIT_SEED` = 0): the examples are shuffled once with
`numpy.random.default_rng(0)`, then cut (see each catalog entry's `split_rule`). The unlabelled
view of a task corpus (`as_text_corpus`, also what `load_corpus("rt-polarity")` returns) keeps the
same splits, so pre-training on its train split never sees a test sentence.

Downloads: the canonical files are archives (the authors' `rt-polaritydata.tar.gz`, Tatoeba's
`cmn-eng.zip` from manythings.org). Only the members the catalog names are read, each written
under its catalog path inside the data directory (never a path from the archive), and only
after its sha256 matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmzoo.datasets.catalog import CATALOG, CatalogEntry, CorpusFile
from lmzoo.datasets.corpus import Corpus, gensim_test_data
from lmzoo.datasets.download import DATA_ENV, _fetch_bytes, data_dir, sha256_of
from lmzoo.errors import LmzooError, did_you_mean

SPLIT_SEED = 0
SPLITS = ("train", "valid", "test")
LABELLED, PAIRS = "labelled", "pairs"


class _Provenance:
    """Where task data came from, as a run's config.json records it (`reload_task_data` reads it back)."""

    def provenance(self) -> dict[str, str]:
        return {"corpus": self.name, "corpus_kind": self.kind, "corpus_path": self.path, "corpus_sha256": self.sha256}

    def fingerprint(self) -> dict[str, str]:
        """Provenance plus the sha256 of the training examples: what a resumed run must match."""
        train = json.dumps(self.train, ensure_ascii=False).encode("utf-8")
        return {**self.provenance(), "train_sha256": hashlib.sha256(train).hexdigest()}


@dataclass(frozen=True)
class LabelledData(_Provenance):
    """Labelled examples: `(text, label)` per split, with the label names in id order.

    Example:
        >>> data = load_task_data("rt-polarity-sample")
        >>> data.labels, len(data.train) + len(data.valid) + len(data.test)
        (('neg', 'pos'), 200)
    """

    name: str
    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]
    labels: tuple[str, ...]
    language: str = "en"
    source: str = ""
    kind: str = LABELLED
    path: str = ""  # a user's file, resolved ("" for a catalog corpus)
    sha256: str = ""  # of that file's bytes, so that a reload can check it still holds these examples

    def split(self, name: str) -> list[tuple[str, str]]:
        if name not in SPLITS:
            raise LmzooError(f"unknown split '{name}'", did_you_mean(name, SPLITS))
        return getattr(self, name)

    def label_ids(self, split: str) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index[label] for _, label in self.split(split)], dtype=np.int32)


@dataclass(frozen=True)
class PairData(_Provenance):
    """Sentence pairs `(source, target)` per split; `attribution` keeps each pair's credit line.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
        >>> _ = path.write_text("Hi.\\t嗨。\\nRun.\\t跑。\\nNo.\\t不。\\n", encoding="utf-8")
        >>> load_task_data(path).target_language
        'zh'
    """

    name: str
    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]
    source_language: str = "en"
    target_language: str = "zh"
    source: str = ""
    attribution: dict[str, list[str]] = field(default_factory=dict)
    kind: str = PAIRS
    path: str = ""  # as in LabelledData
    sha256: str = ""

    def split(self, name: str) -> list[tuple[str, str]]:
        if name not in SPLITS:
            raise LmzooError(f"unknown split '{name}'", did_you_mean(name, SPLITS))
        return getattr(self, name)

    def reversed(self) -> PairData:
        """The same pairs the other way round (Chinese→English from English→Chinese)."""
        flip = {s: [(t, src) for src, t in self.split(s)] for s in SPLITS}
        return PairData(f"{self.name}-reversed", **flip, source_language=self.target_language,
                        target_language=self.source_language, source=self.source, attribution=self.attribution,
                        path=self.path, sha256=self.sha256)


TaskData = LabelledData | PairData


# Reading files -----------------------------------------------------------------------------------


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The non-empty lines of a file, decoded with `encoding` (a UTF-8 byte-order mark is dropped).

    The catalog names each file's encoding: the MR files are Windows-1252 (0xE9 é, 0x85 …, 0x91 ‘,
    0x96 –, 0x97 —; Latin-1 would turn the last four into C1 control characters), Tatoeba's file is
    UTF-8 with a byte-order mark.
    """
    if not path.exists():
        raise LmzooError(f"'{path}' does not exist", "check the path, or run `lmzoo corpora` for catalog names")
    try:
        text = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        raise LmzooError(f"'{path}' is not {encoding} (bad byte at offset {err.start})",
                         "convert it to UTF-8") from None
    text = text.removeprefix("\ufeff")
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def parse_labelled(lines: Sequence[str], path: Path | str, labels: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """`__label__X text` (fastText) or `X<TAB>text` lines to `(text, X)`; checks the label set.

    Example:
        >>> parse_labelled(["__label__pos good fun", "neg\\tdull"], "x.tsv")
        [('good fun', 'pos'), ('dull', 'neg')]
    """
    examples = []
    for number, line in enumerate(lines, 1):
        if line.startswith("__label__"):
            label, _, text = line[len("__label__"):].partition(" ")
        elif "\t" in line:
            label, _, text = line.partition("\t")
        else:
            raise LmzooError(f"'{path}' line {number} has no label",
                             "write `label<TAB>text` or `__label__label text` on every line")
        if not text.strip() or not label.strip():
            raise LmzooError(f"'{path}' line {number} has an empty {'text' if label.strip() else 'label'}",
                             "every line needs a label and a text")
        examples.append((text.strip(), label.strip()))
    found = sorted({label for _, label in examples})
    allowed = list(labels) if labels is not None else found
    extra = [label for label in found if label not in allowed]
    if extra:
        raise LmzooError(f"'{path}' has the label(s) {', '.join(extra)} besides {', '.join(allowed)}",
                         "fix or drop those lines")
    if labels is None and len(found) != 2:
        raise LmzooError(f"'{path}' has {len(found)} distinct labels ({', '.join(found[:5])}); a binary task needs 2",
                         "keep two labels, e.g. neg and pos")
    return examples


def parse_pairs(lines: Sequence[str], path: Path | str) -> tuple[list[tuple[str, str]], list[str]]:
    """`source<TAB>target[<TAB>attribution]` lines to pairs and attributions; an empty side is an error."""
    pairs, credits = [], []
    for number, line in enumerate(lines, 1):
        parts = line.split("\t")
        if len(parts) < 2:
            raise LmzooError(f"'{path}' line {number} is not a pair (no tab)", "write `source<TAB>target` lines")
        source, target = parts[0].strip(), parts[1].strip()
        if not source or not target:
            raise LmzooError(f"'{path}' line {number} has an empty {'source' if not source else 'target'} side",
                             "every pair needs text on both sides of the tab")
        pairs.append((source, target))
        credits.append(parts[2].strip() if len(parts) > 2 else "")
    return pairs, credits


def seeded_split(n: int, test: int, valid: int, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Indices of a seeded shuffle cut into train, valid (`valid` items) and test (`test` items, last).

    Example:
        >>> {k: len(v) for k, v in seeded_split(10, test=2, valid=1).items()}
        {'train': 7, 'valid': 1, 'test': 2}
    """
    if test + valid >= n:
        raise LmzooError(f"{n} examples are too few for {test} test and {valid} valid examples", "give more data")
    order = np.random.default_rng(seed).permutation(n)
    return {"train": order[: n - test - valid], "valid": order[n - test - valid : n - test], "test": order[n - test :]}


def normalise(text: str) -> str:
    """The form in which two sentences count as the same: case-folded, runs of spaces made one.

    Example:
        >>> normalise("  A  Good\tFilm ") == normalise("a good film")
        True
    """
    return " ".join(text.casefold().split())


def disjoint_split(keys: Sequence[Sequence[str]], test: int, valid: int, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """`seeded_split`, but items that share a string (after `normalise`) always land in one split.

    `keys[i]` are item i's strings (a pair's source and target, an example's text). Items linked
    by shared strings form connected components; walking the seeded order from its end, whole
    components fill test (at least `test` items), then valid; the rest is train. Tatoeba repeats
    sentences across pairs (212 of a plain split's 1,000 test targets were training targets);
    split this way no test string occurs in train or valid. Where no string repeats, the split
    is exactly `seeded_split`'s.

    Example:
        >>> cut = disjoint_split([("a", "x"), ("b", "y"), ("A", "z"), ("c", "w")], test=1, valid=1)
        >>> sorted(len(v) for v in cut.values()), (0 in cut["test"]) == (2 in cut["test"])
        ([1, 1, 2], True)
    """
    n = len(keys)
    if test + valid >= n:
        raise LmzooError(f"{n} examples are too few for {test} test and {valid} valid examples", "give more data")
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, strings in enumerate(keys):
        for string in strings:
            j = first.setdefault(normalise(string), i)
            parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    order = np.random.default_rng(seed).permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    split = np.zeros(n, dtype=np.int8)  # 0 train, 1 valid, 2 test
    for code, wanted in ((2, test), (1, valid)):
        taken = 0
        for any_size in (False, True):  # first only components that fit, so a large one stays in train
            for item in order[::-1]:
                group = members[root(int(item))]
                if taken >= wanted:
                    break
                if not split[item] and (any_size or len(group) <= wanted - taken):
                    split[group] = code
                    taken += len(group)
    return {name: np.array(sorted(np.flatnonzero(split == code), key=lambda i: position[i]), dtype=np.int64)
            for name, code in (("train", 0), ("valid", 1), ("test", 2))}


def _fractions(n: int) -> tuple[int, int]:
    """Test and valid sizes of a user's or embedded file: 10% and 5% (at least one each)."""
    return max(1, round(0.1 * n)), max(1, round(0.05 * n))


def _split_examples(examples: Sequence[tuple[str, str]], test: int, valid: int) -> dict[str, np.ndarray]:
    """Labelled examples split so that a repeated text never sits in two splits."""
    return disjoint_split([(text,) for text, _ in examples], test, valid)


def _take(items: Sequence, indices: np.ndarray) -> list:
    return [items[i] for i in indices]


# Archives ----------------------------------------------------------------------------------------


def extract_member(archive: bytes, member: str, dest: Path, sha256: str) -> Path:
    """Write one named member of a tar.gz or zip archive to `dest`, after checking its sha256.

    Only `member` is read; its name in the archive never decides where it is written.

    Example:
        >>> import tarfile, io, tempfile, hashlib, pathlib
        >>> buffer = io.BytesIO()
        >>> with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        ...     info = tarfile.TarInfo("d/a.txt"); info.size = 2; tar.addfile(info, io.BytesIO(b"hi"))
        >>> out = extract_member(buffer.getvalue(), "d/a.txt", pathlib.Path(tempfile.mkdtemp()) / "a.txt",
        ...                      hashlib.sha256(b"hi").hexdigest())
        >>> out.read_bytes()
        b'hi'
    """
    data: bytes | None = None
    if archive[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            info = next((m for m in tar.getmembers() if m.name == member), None)
            if info is not None and info.isfile():
                handle = tar.extractfile(info)
                data = handle.read() if handle else None
    elif archive[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(archive)) as archive_file:
            if member in archive_file.namelist():
                data = archive_file.read(member)
    else:
        raise LmzooError(f"the download for '{dest.name}' is neither a tar.gz nor a zip archive", "fetch it by hand")
    if data is None:
        raise LmzooError(f"the archive has no file '{member}'", f"download it by hand and put it at {dest}")
    import hashlib

    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise LmzooError(f"checksum mismatch for '{member}': sha256 {got[:16]}..., expected {sha256[:16]}...",
                         f"the archive holds another version; nothing was written; put the expected file at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    return dest


def _archive_member(file: CorpusFile) -> str:
    kind, _, member = (file.convert or "").partition(":")
    if kind != "archive" or not member:
        raise LmzooError(f"catalog file '{file.path}' names no archive member", "fix the catalog entry")
    return member


def ensure_task_file(file: CorpusFile, directory: Path, allow_download: bool = True) -> Path:
    """A verified local copy of a catalog file that is shipped inside an archive."""
    path = (directory / file.path).resolve()
    if directory.resolve() not in path.parents:
        raise LmzooError(f"catalog path '{file.path}' leaves the data directory", "fix the catalog entry")
    if path.exists():
        got = sha256_of(path)
        if got != file.sha256:
            raise LmzooError(f"checksum mismatch for '{path}': sha256 {got[:16]}..., expected {file.sha256[:16]}...",
                             "the file is corrupt or a different version; delete it to download it again")
        return path
    if not allow_download:
        raise LmzooError(f"'{path}' is missing",
                         f"download {file.urls[0]} and put its member there, or point --data-dir / {DATA_ENV} at it")
    try:
        # The catalog knows the member's size, not the archive's (about 0.5 MB): cap the body generously.
        archive = _fetch_bytes(file.urls[0], f"downloading {Path(file.urls[0]).name}", 60.0, limit=64 * 2**20)
    except OSError as err:  # URLError and timeouts are OSErrors
        raise LmzooError(f"'{path}' is missing and could not be downloaded from {file.urls[0]} "
                         f"({getattr(err, 'reason', err)})", f"put the file at {path} by hand") from None
    return extract_member(archive, _archive_member(file), path, file.sha256)


# The loader --------------------------------------------------------------------------------------


def _load_catalog(entry: CatalogEntry, directory: Path, allow_download: bool) -> TaskData:
    kind, split = entry.extra["kind"], entry.extra["split"]
    if entry.embedded:
        path = gensim_test_data() / entry.extra["embedded_file"]
        examples = parse_labelled(read_lines(path, entry.extra["encoding"]), path, entry.extra["labels"])
        test, valid = _fractions(len(examples))
        parts = {s: _take(examples, idx) for s, idx in _split_examples(examples, test, valid).items()}
        return LabelledData(entry.name, **parts, labels=tuple(entry.extra["labels"]), source=entry.description)
    if entry.extra.get("reader") == "imdb":
        from lmzoo.datasets import imdb

        return imdb.load_labelled(entry, directory, allow_download)
    paths = [ensure_task_file(f, directory, allow_download) for f in entry.files]
    if kind == LABELLED:
        examples = []
        for path, label in zip(paths, entry.extra["labels"], strict=True):  # one file per label
            examples += [(line.strip(), label) for line in read_lines(path, entry.extra["encoding"])]
        parts = {s: _take(examples, idx) for s, idx in _split_examples(examples, **split).items()}
        return LabelledData(entry.name, **parts, labels=tuple(entry.extra["labels"]), source=entry.description)
    pairs, credits = parse_pairs(read_lines(paths[0], entry.extra["encoding"]), paths[0])
    cut = disjoint_split(pairs, **split)
    return PairData(entry.name, **{s: _take(pairs, idx) for s, idx in cut.items()},
                    source_language=entry.extra["source_language"], target_language=entry.extra["target_language"],
                    source=entry.description, attribution={s: _take(credits, idx) for s, idx in cut.items()})


def _han_share(texts: Sequence[str]) -> float:
    sample = "".join(texts[:200])
    return sum("\u4e00" <= ch <= "\u9fff" for ch in sample) / max(1, sum(not ch.isspace() for ch in sample))


def load_task_data(name_or_path: str | os.PathLike, data_dir_override: str | os.PathLike | None = None,
                   allow_download: bool = True, kind: str | None = None) -> TaskData:
    """A labelled or pairs corpus: a catalog name, or a `.tsv`/`.txt` file of labelled lines or pairs.

    A user's file is read as `kind` ("labelled" or "pairs"; the fine-tuning task knows which). Left
    out, a file is labelled when its first line starts with fastText's `__label__`, else pairs. It is
    split seeded 85/5/10 (train/valid/test).
    """
    name = str(name_or_path)
    if name in CATALOG:
        entry = CATALOG[name]
        if entry.extra.get("kind") not in (LABELLED, PAIRS):
            raise LmzooError(f"corpus '{name}' is plain text, not labelled examples or pairs",
                             f"use one of {', '.join(n for n, e in CATALOG.items() if 'kind' in e.extra)}, or a TSV file")
        return _load_catalog(entry, data_dir(data_dir_override), allow_download)
    path = Path(name).expanduser()
    if not path.exists():
        raise LmzooError(f"'{path}' does not exist", "give a catalog name (`lmzoo corpora`) or a TSV file")
    lines = read_lines(path)
    origin = {"path": str(path.resolve()), "sha256": sha256_of(path)}
    if len(lines) < 3:
        raise LmzooError(f"'{path}' has {len(lines)} lines; a task needs at least 3", "give more examples")
    if kind is None:
        kind = LABELLED if lines[0].startswith("__label__") else PAIRS
    test, valid = _fractions(len(lines))
    if kind == LABELLED:
        examples = parse_labelled(lines, path)
        parts = {s: _take(examples, idx) for s, idx in _split_examples(examples, test, valid).items()}
        labels = tuple(sorted({label for _, label in examples}))
        return LabelledData(path.stem, **parts, labels=labels, source=f"{path} (seeded split, seed {SPLIT_SEED})",
                            **origin)
    pairs, credits = parse_pairs(lines, path)
    cut = disjoint_split(pairs, test, valid)
    return PairData(path.stem, **{s: _take(pairs, idx) for s, idx in cut.items()},
                    source_language="zh" if _han_share([s for s, _ in pairs]) > 0.3 else "en",
                    target_language="zh" if _han_share([t for _, t in pairs]) > 0.3 else "en",
                    source=f"{path} (seeded split, seed {SPLIT_SEED})",
                    attribution={s: _take(credits, idx) for s, idx in cut.items()}, **origin)


def reload_task_data(recorded: dict, data_dir_override: str | os.PathLike | None = None) -> TaskData:
    """The task data a fine-tuned run was trained on, from the `provenance` in its config.json.

    A user's file is reloaded from its recorded resolved path, read as the recorded kind, and must
    still have the recorded sha256; a catalog corpus is reloaded by name.
    """
    name, path, sha256 = recorded.get("corpus"), recorded.get("corpus_path"), recorded.get("corpus_sha256")
    if not path:
        if name not in CATALOG:
            raise LmzooError(f"the run does not record where its task data '{name}' came from",
                             "pass the examples to score with --corpus")
        return load_task_data(name, data_dir_override)
    data = load_task_data(path, data_dir_override, kind=recorded.get("corpus_kind"))
    if sha256 and data.sha256 != sha256:
        raise LmzooError(f"'{path}' changed since the run was trained on it (sha256 {data.sha256[:16]}..., "
                         f"recorded {sha256[:16]}...)", "pass the examples to score with --corpus")
    return data


def as_text_corpus(data: TaskData, sides: Sequence[str] = ("source", "target")) -> Corpus:
    """The unlabelled text of a task corpus, one sentence a line, with the task's own splits.

    For pairs, `sides` picks the source and/or target sentences (each on its own line, never joined).
    Pre-training on `.train` of the result never sees a valid or test sentence.

    Example:
        >>> text = as_text_corpus(load_task_data("rt-polarity-sample"))
        >>> text.name, len(text.train.splitlines())
        ('rt-polarity-sample', 170)
    """
    def lines(split: str) -> str:
        items = data.split(split)
        if isinstance(data, LabelledData):
            return "".join(text + "\n" for text, _ in items)
        return "".join(side + "\n" for pair in items for side, name in zip(pair, ("source", "target"), strict=True)
                       if name in sides)

    language = "en"
    if isinstance(data, PairData):
        languages = {data.source_language if "source" in sides else None, data.target_language if "target" in sides else None}
        language = "zh" if languages == {"zh", None} or languages == {"zh"} else "en"
    return Corpus(data.name, **{s: lines(s) for s in SPLITS}, language=language,
                  source=f"{data.source} (unlabelled text of the task's splits)")
